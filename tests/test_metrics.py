"""The command line's metrics (plain NumPy) against scikit-learn's and scipy's."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from scipy.stats import rankdata

from fastlogreg import _metrics


def labelled_scores(seed, m=300, ties=False):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(m) * 3
    y = (rng.random(m) < expit(z)).astype(np.float64)
    if ties:
        z = np.round(z)  # many equal scores across both classes
    return y, z


@pytest.mark.parametrize("ties", [False, True])
def test_average_ranks_match_scipy(ties):
    _, z = labelled_scores(0, ties=ties)
    assert_array_equal(_metrics.average_ranks(z), rankdata(z, method="average"))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("ties", [False, True])
def test_against_scikit_learn(seed, ties):
    metrics = pytest.importorskip("sklearn.metrics")
    y, z = labelled_scores(seed, ties=ties)
    predicted = (z > 0).astype(np.float64)
    assert _metrics.accuracy(y, predicted) == metrics.accuracy_score(y, predicted)
    assert_allclose(_metrics.roc_auc(y, z), metrics.roc_auc_score(y, z), rtol=1e-12)
    assert_allclose(_metrics.log_loss(y, z), metrics.log_loss(y, expit(z)), rtol=1e-9)
    assert_array_equal(_metrics.confusion_matrix(y, predicted), metrics.confusion_matrix(y, predicted))


def test_roc_auc_by_hand():
    # positives score 0.8 and 0.4, negatives 0.4 and 0.1: of the 4 pairs, 3 are ordered
    # right and one is a tie (counts one half)
    assert _metrics.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == 3.5 / 4
    assert _metrics.roc_auc([1, 0], [0.0, 1.0]) == 0.0
    assert np.isnan(_metrics.roc_auc([1, 1, 1], [0.1, 0.2, 0.3]))


def test_log_loss_exact_for_confident_margins():
    # σ(±800) rounds to 0 or 1: a probability-based formula would need clipping
    assert _metrics.log_loss([1.0, 0.0], [800.0, -800.0]) == 0.0
    assert_allclose(_metrics.log_loss([0.0], [800.0]), 800.0)


def test_confusion_matrix_layout():
    # rows: true 0, 1; columns: predicted 0, 1
    assert_array_equal(_metrics.confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0]), [[1, 1], [1, 2]])


@pytest.mark.parametrize("bad", [[], [0.5, 1.0], [2, 0]])
def test_labels_must_be_zero_one(bad):
    with pytest.raises(ValueError, match="y_true"):
        _metrics.accuracy(bad, np.zeros(len(bad)))
