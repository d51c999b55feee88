"""Binary classification metrics in plain NumPy (scikit-learn is optional).

Labels are 0/1 (1 the positive class, ``classes_[1]``).  The tests check each one
against scikit-learn's function where scikit-learn is installed.
"""

import numpy as np


def _labels01(y, name="y_true"):
    y = np.asarray(y, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError(f"{name} must hold 0/1 labels")
    return y


def accuracy(y_true, y_pred):
    """Fraction of labels predicted right."""
    y_true = _labels01(y_true)
    y_pred = _labels01(y_pred, "y_pred")
    return float(np.mean(y_true == y_pred))


def log_loss(y_true, margin):
    """Mean cross-entropy -[y log σ(z) + (1-y) log(1-σ(z))], from the margins z.

    Written as log(1 + e^z) - y z, exact also where σ(z) rounds to 0 or 1 (a
    probability-based formula would need clipping there).
    """
    y_true = _labels01(y_true)
    z = np.asarray(margin, dtype=np.float64).ravel()
    return float(np.mean(np.logaddexp(0.0, z) - y_true * z))


def average_ranks(values):
    """Ranks 1..m of ``values``, tied values sharing the mean of their ranks."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    # start of each run of equal values, and the run each sorted position belongs to
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], values.size]
    run_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(values.size)
    ranks[order] = np.repeat(run_rank, ends - starts)
    return ranks


def roc_auc(y_true, score):
    """Area under the ROC curve: the probability that a random positive example scores
    higher than a random negative one (ties count one half), by the rank-sum
    (Mann-Whitney U) formula.  NaN when y_true holds only one class."""
    y_true = _labels01(y_true)
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int(np.count_nonzero(y_true))
    n_neg = y_true.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = float(average_ranks(score)[y_true == 1.0].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def confusion_matrix(y_true, y_pred):
    """2x2 counts [[TN, FP], [FN, TP]]: rows the true class, columns the predicted one
    (scikit-learn's layout)."""
    y_true = _labels01(y_true).astype(np.intp)
    y_pred = _labels01(y_pred, "y_pred").astype(np.intp)
    return np.bincount(2 * y_true + y_pred, minlength=4).reshape(2, 2)
