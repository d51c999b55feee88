"""The functional API: the textbook's formulas, each evaluation one fused pass over X.

Notation (one sigmoid neuron, one example per row of X)::

    z_i = w·x_i + b,   a_i = σ(z_i),   L_i = -(y_i log a_i + (1 - y_i) log(1 - a_i))
    J  = (1/m) Σ L_i          (with sample weights s: Σ s_i L_i / Σ s_i)
    dw = (1/m) Σ (a_i - y_i) x_i,   db = (1/m) Σ (a_i - y_i)

Shapes: X is (m, n), one example per row, C- or F-ordered (the textbook's (n_x, m)
array is passed as ``X.T``: no copy is made).  y is (m,) or the textbook's (1, m);
w is (n,) or (n, 1).  Labels are 0/1; soft labels (probabilities in [0, 1]) are
accepted too and give the usual cross-entropy.
"""

from dataclasses import dataclass

import numpy as np

from ._problem import Problem
from ._threads import thread_limit
from ._validation import as_finite_scalar, as_positive_float, as_positive_int, as_vector

__all__ = ["sigmoid", "cost", "cost_and_gradient", "gradient_descent", "GradientDescentResult"]


def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z), elementwise, without overflow (scipy.special.expit).

    float32 input gives float32 output; integers give float64.
    """
    z = np.asarray(z)
    if z.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: z has dtype {z.dtype}")
    if z.dtype.kind not in "fiub":
        raise TypeError(f"z must be numeric, got dtype {z.dtype}")
    from scipy.special import expit  # imported on first use: keeps ``import fastlogreg`` cheap

    result = expit(z)
    return result[()] if result.ndim == 0 else result


def _evaluate(problem, w, b):
    """(J, g) at (w, b) where g = [dw, db] (float64, a fresh array)."""
    loss_sum, grad_sums = problem.loss_grad_sums(w, b)
    J = loss_sum / problem.weight_sum
    grad = grad_sums / problem.weight_sum
    if not (np.isfinite(J) and np.isfinite(grad).all()):
        # X and the labels' values are not scanned up front (that would be passes of
        # their own); a NaN or inf in X, or a label outside [0, 1], always makes the
        # result non-finite, so it is caught here (see Problem).
        problem.check_inputs()
    return J, grad


def _prepare(X, y, w, b, sample_weight):
    problem = Problem(X, y, sample_weight)
    w = as_vector(w, problem.n_features, "w")
    b = as_finite_scalar(b, "b")
    return problem, w, b


def cost(X, y, w, b=0.0, sample_weight=None, *, n_threads=None):
    """The cost J(w, b): mean (or weighted mean) cross-entropy, as a Python float."""
    problem, w, b = _prepare(X, y, w, b, sample_weight)
    with thread_limit(n_threads):
        J, _ = _evaluate(problem, w, b)
    return float(J)


def cost_and_gradient(X, y, w, b=0.0, sample_weight=None, *, n_threads=None):
    """(J, dw, db) in one pass over X.

    J and db are Python floats; dw has shape (n,) and X's dtype (float32 or
    float64), accumulated in float64 either way.
    """
    problem, w, b = _prepare(X, y, w, b, sample_weight)
    with thread_limit(n_threads):
        J, grad = _evaluate(problem, w, b)
    n = problem.n_features
    return float(J), grad[:n].astype(problem.dtype), float(grad[n])


@dataclass
class GradientDescentResult:
    """What ``gradient_descent`` returns.

    w, b       the parameters after the last step (w in X's dtype)
    costs      J at every iteration, before that iteration's step (float64); n_iter
               values, plus one for the final (w, b) when the run converged
    n_iter     the number of steps taken
    converged  True if ``tol`` was given and reached
    """

    w: np.ndarray
    b: float
    costs: np.ndarray
    n_iter: int
    converged: bool


def gradient_descent(
    X, y, learning_rate=0.1, n_iter=1000, w0=None, b0=0.0, sample_weight=None, tol=None,
    *, n_threads=None,
):
    """The textbook's batch gradient descent; each iteration is one fused pass.

    Iteration k evaluates J, dw, db at (w_k, b_k), records J in ``costs[k]``, then
    steps ``w ← w − learning_rate·dw``, ``b ← b − learning_rate·db``.  With ``tol``,
    it stops before the step once max(|dw|, |db|) <= tol (then ``converged`` is True
    and ``costs`` ends with the cost at the returned parameters).
    """
    problem = Problem(X, y, sample_weight)
    n = problem.n_features
    learning_rate = as_positive_float(learning_rate, "learning_rate")
    n_iter = as_positive_int(n_iter, "n_iter")
    w = np.zeros(n) if w0 is None else as_vector(w0, n, "w0")
    b = as_finite_scalar(b0, "b0")
    tol = None if tol is None else as_positive_float(tol, "tol", allow_zero=True)

    costs = np.empty(n_iter, dtype=np.float64)
    converged = False
    steps = 0
    with thread_limit(n_threads):
        for k in range(n_iter):
            J, grad = _evaluate(problem, w, b)
            costs[k] = J
            if tol is not None and np.max(np.abs(grad)) <= tol:
                converged = True
                break
            w -= learning_rate * grad[:n]
            b -= learning_rate * grad[n]
            steps += 1
    return GradientDescentResult(
        w=w.astype(problem.dtype), b=float(b), costs=costs[: steps + converged].copy(), n_iter=steps,
        converged=converged,
    )
