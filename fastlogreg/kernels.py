"""Kernels to call from your own ``@numba.njit`` code.

Each function here is a numba-compiled function: call it from jitted code (or from
Python).  They run serially on the calling thread, because they are meant for the
case where *your* code is the outer loop: many small problems, cross-validation
folds, a ``prange`` over models.  (For one big problem, use the parallel public API
in ``fastlogreg``.)  They do not validate their input; see the contract below.

Contract
--------
* ``X``: 2-D float32 or float64 array of shape (m, n), one example per row.
  C- and F-contiguous arrays are read at full speed; other layouts work, slower.
* ``y``: float64 array (m,) of labels in [0, 1] (a label outside, or NaN, makes the
  cost NaN).
* ``w``: float64 array (n,);  ``b``: float.
* ``sample_weight``: float64 array (m,) of non-negative weights with a positive sum,
  or an empty array for equal weights.
* All sums are accumulated in float64; results are means (weighted means).

Example::

    import numba, numpy as np
    from fastlogreg import kernels

    @numba.njit
    def fit_many(Xs, ys, lr, n_steps):
        out = np.empty((len(Xs), Xs[0].shape[1] + 1))
        for p in range(len(Xs)):
            w = np.zeros(Xs[p].shape[1]); b = 0.0
            dw = np.empty_like(w)
            for _ in range(n_steps):
                J, db = kernels.cost_and_gradient_into(Xs[p], ys[p], w, b, kernels.NO_WEIGHTS, dw)
                w -= lr * dw
                b -= lr * db
            out[p, :-1] = w; out[p, -1] = b
        return out
"""

import numpy as np
from numba import njit

from . import _kernels
from ._config import JIT_OPTIONS
from ._math import log1pexp, log_sigmoid, loss_and_residual, sigmoid

__all__ = [
    "NO_WEIGHTS",
    "cost",
    "cost_and_gradient",
    "cost_and_gradient_into",
    "log1pexp",
    "log_sigmoid",
    "loss_and_residual",
    "predict_proba_into",
    "sigmoid",
]

#: Pass as ``sample_weight`` for equal weights (an empty float64 array).
NO_WEIGHTS = np.empty(0, dtype=np.float64)


@njit(**JIT_OPTIONS)
def _loss_grad(X, y, w, b, sample_weight, grad_out):
    """Sums into grad_out (n + 2: dw, db, loss) for either memory order of X."""
    m, n = X.shape
    if X.flags.f_contiguous and not X.flags.c_contiguous:
        data, colmajor = X.T, True
    else:
        data, colmajor = X, False
    tile, block_rows, n_blocks = _kernels.plan(m, n, X.itemsize, colmajor)
    z, partials = _kernels.allocate_workspace(n, n_blocks, tile)
    _kernels.pass_serial(
        data, colmajor, w, b, _kernels.LOSS_GRAD, y, sample_weight, np.empty(0),
        tile, block_rows, z, partials,
    )
    _kernels.merge_partials(partials, grad_out)
    total = sample_weight.sum() if sample_weight.shape[0] > 0 else float(m)
    for j in range(n + 2):
        grad_out[j] /= total


@njit(**JIT_OPTIONS)
def cost_and_gradient_into(X, y, w, b, sample_weight, dw_out):
    """Write dw into ``dw_out`` (float64, length n); return (J, db).  One pass over X."""
    n = w.shape[0]
    sums = np.empty(n + 2)
    _loss_grad(X, y, w, b, sample_weight, sums)
    dw_out[:] = sums[:n]
    return sums[n + 1], sums[n]


@njit(**JIT_OPTIONS)
def cost_and_gradient(X, y, w, b, sample_weight):
    """(J, dw, db), dw a new float64 array.  One pass over X."""
    dw = np.empty(w.shape[0])
    J, db = cost_and_gradient_into(X, y, w, b, sample_weight, dw)
    return J, dw, db


@njit(**JIT_OPTIONS)
def cost(X, y, w, b, sample_weight):
    """J(w, b).  (Computes the gradient too: the pass over X is the cost.)"""
    J, _, _ = cost_and_gradient(X, y, w, b, sample_weight)
    return J


@njit(**JIT_OPTIONS)
def predict_proba_into(X, w, b, out):
    """out[i] = σ(x_i·w + b) for every row of X (float64 out of length m)."""
    m, n = X.shape
    for i in range(m):
        z = b
        for j in range(n):
            z += X[i, j] * w[j]
        out[i] = sigmoid(z)
