"""scikit-learn's own estimator checks."""

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastlogreg import LogisticRegression  # noqa: E402


@parametrize_with_checks([LogisticRegression(), LogisticRegression(solver="newton-cg")])
def test_sklearn_compatible(estimator, check):
    check(estimator)
