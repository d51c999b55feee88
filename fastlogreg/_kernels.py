"""Fused array kernels.  Private: no validation here, see functional.py.

Memory layout
-------------
A kernel takes ``X`` either as the (m, n) C-contiguous array itself
(``colmajor=False``) or, for an F-contiguous (m, n) array, as its transpose ``X.T``:
a C-contiguous (n, m) array that is the same memory (``colmajor=True``).  Both are
read at full speed and never copied.

Work split
----------
Rows are cut into ``n_blocks`` blocks of ``block_rows`` rows (see ``plan``); each
block is one parallel task and writes its own row of float64 partial sums; the
partials are then merged in block order.  The split depends only on the shape of X,
so the result has the same bits for any thread count.

One pass over X
---------------
Within a block, rows go in tiles.  For each tile the margins z = X_tile u + u0 are
computed (X read from memory), then the per-example terms (loss, residual, Hessian
weight) for the whole tile in one branch-free loop that LLVM vectorises (exp and
log1p included), then the gradient Σ r_i x_i is accumulated from the tile, which is
still in cache.  (Measured on this design's alternatives: interleaving the dot
products of several rows read from memory defeats the hardware prefetcher, 2.5x
slower; so does accumulating tile t-1 while reading tile t.)

Every kernel returns *sums* over examples; the callers divide.

Fast-math
---------
Only the linear-algebra loops are compiled with the reassociation flags that let
LLVM vectorise reductions; the per-example math is compiled exactly
(``_config.JIT_OPTIONS``).
"""

import math

import numpy as np
from numba import njit, prange

from . import _config
from ._config import JIT_OPTIONS, REDUCTION_OPTIONS
from ._math import loss_residual_curvature, sigmoid

_PARALLEL_OPTIONS = dict(REDUCTION_OPTIONS, parallel=True)
# The vector loops are inlined at numba level into their (fast-math) callers: a call
# per row would cost more than the loop.
_INLINE_REDUCTION_OPTIONS = dict(REDUCTION_OPTIONS, inline="always")

# What the per-example step of a pass computes.
LOSS_GRAD = 0  # residual s_i (a_i - y_i), loss s_i L_i, optionally d_i = s_i σ'(z_i)
HESSP = 1  # d_i z_i, for a Hessian-vector product


@njit(**JIT_OPTIONS)
def plan(m, n, itemsize, colmajor):
    """(tile_rows, block_rows, n_blocks) for an (m, n) X: a function of the shape only."""
    if colmajor:
        tile = _config.COLMAJOR_TILE_BYTES // max(n * itemsize, 1)
        tile = max(_config.MIN_TILE_ROWS_COLMAJOR, min(tile, _config.MAX_TILE_ROWS_COLMAJOR))
    else:
        tile = _config.ROWMAJOR_MAX_TILE_BYTES // max(n * itemsize, 1)
        tile = max(_config.MIN_TILE_ROWS_ROWMAJOR, min(tile, _config.ROWMAJOR_TILE_ROWS))
    n_tiles = max((m + tile - 1) // tile, 1)
    tiles_per_block = (n_tiles + _config.MAX_BLOCKS - 1) // _config.MAX_BLOCKS
    block_rows = tile * tiles_per_block
    n_blocks = max((m + block_rows - 1) // block_rows, 1)
    return tile, block_rows, n_blocks


@njit(**JIT_OPTIONS)
def allocate_workspace(n, n_blocks, tile):
    """Scratch for one kernel call: per block, 2 tiles of float64 values (margins /
    residuals, then losses) and a row of float64 partial sums (n + 2)."""
    z = np.empty((n_blocks, 2 * tile), dtype=np.float64)
    partials = np.empty((n_blocks, n + 2), dtype=np.float64)
    return z, partials


@njit(**JIT_OPTIONS)
def _n_rows(X, colmajor):
    return X.shape[1] if colmajor else X.shape[0]


# --- small vector loops (fast-math: reductions vectorise) ----------------------------
# Inner loops index slices from 0: with an offset index numba cannot prove the index
# non-negative, keeps its wraparound check, and the loop does not vectorise.

@njit(**_INLINE_REDUCTION_OPTIONS)
def _dot(a, b):
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(**_INLINE_REDUCTION_OPTIONS)
def _axpy(alpha, x, y):
    """y += alpha * x"""
    for i in range(y.shape[0]):
        y[i] += alpha * x[i]


@njit(**_INLINE_REDUCTION_OPTIONS)
def _sum(v):
    acc = 0.0
    for i in range(v.shape[0]):
        acc += v[i]
    return acc


@njit(**_INLINE_REDUCTION_OPTIONS)
def _scale_in_place(v, d):
    for i in range(v.shape[0]):
        v[i] *= d[i]


@njit(**REDUCTION_OPTIONS)
def _margins_tile(X, colmajor, t0, t1, u, u0, z):
    """z[i] = x_(t0+i) . u + u0 for the rows t0 <= row < t1 (float64 accumulation)."""
    if colmajor:
        z[:] = u0
        for j in range(X.shape[0]):
            _axpy(u[j], X[j, t0:t1], z)
    else:
        for i in range(t1 - t0):
            z[i] = _dot(X[t0 + i], u) + u0


# --- per-example math on a tile (exact; no reductions, so it vectorises) -------------

@njit(**JIT_OPTIONS)
def _loss_terms_tile(z, y, s, weighted, losses, d_out, want_d):
    """z (margins) becomes s·r in place; losses receives s·L; d_out s·σ'(z) if wanted.

    All arguments are the tile's slices (s and d_out may be empty).  One plain loop
    per case: a condition inside the loop keeps LLVM from vectorising it (measured:
    17 ns instead of 2.6 ns per example).
    """
    if weighted and want_d:
        for i in range(z.shape[0]):
            li, ri, ci = loss_residual_curvature(z[i], y[i])
            losses[i], z[i], d_out[i] = s[i] * li, s[i] * ri, s[i] * ci
    elif weighted:
        for i in range(z.shape[0]):
            li, ri, _ = loss_residual_curvature(z[i], y[i])
            losses[i], z[i] = s[i] * li, s[i] * ri
    elif want_d:
        for i in range(z.shape[0]):
            li, ri, ci = loss_residual_curvature(z[i], y[i])
            losses[i], z[i], d_out[i] = li, ri, ci
    else:
        for i in range(z.shape[0]):
            li, ri, _ = loss_residual_curvature(z[i], y[i])
            losses[i], z[i] = li, ri


@njit(**JIT_OPTIONS)
def _sigmoid_tile(z):
    for i in range(z.shape[0]):
        z[i] = sigmoid(z[i])


@njit(**REDUCTION_OPTIONS)
def _tile_terms(mode, z, losses, t0, y, s, d):
    """The per-example step for rows t0 .. t0 + len(z); returns (Σ residual, Σ loss).

    LOSS_GRAD: z becomes s·r, losses s·L; d (if it has entries) receives s·σ'(z).
    HESSP: z becomes d·z.
    """
    t1 = t0 + z.shape[0]
    if mode == HESSP:
        _scale_in_place(z, d[t0:t1])
        return _sum(z), 0.0
    weighted = s.shape[0] > 0
    want_d = d.shape[0] > 0
    _loss_terms_tile(
        z, y[t0:t1], s[t0:t1] if weighted else s, weighted, losses,
        d[t0:t1] if want_d else d, want_d,
    )
    return _sum(z), _sum(losses)


# --- one pass over a block -----------------------------------------------------------

@njit(**REDUCTION_OPTIONS)
def _accumulate_tile(X, colmajor, t0, t1, r, g):
    """g[j] += Σ_i r[i] x_(t0+i),j for the rows t0 <= row < t1 (in cache by now)."""
    if colmajor:
        for j in range(X.shape[0]):
            g[j] += _dot(r, X[j, t0:t1])
    else:
        for i in range(t1 - t0):
            _axpy(r[i], X[t0 + i], g)


@njit(**REDUCTION_OPTIONS)
def _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """Block k: partials[k] = [Σ r_i x_i (n values), Σ r_i, Σ loss_i]."""
    m = _n_rows(X, colmajor)
    n = u.shape[0]
    g = partials[k]
    g[:] = 0.0
    r_total = 0.0
    loss_total = 0.0
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        t1 = min(t0 + tile, stop)
        zt = z[k, : t1 - t0]
        _margins_tile(X, colmajor, t0, t1, u, u0, zt)
        r_sum, loss_sum = _tile_terms(mode, zt, z[k, tile: tile + t1 - t0], t0, y, s, d)
        r_total += r_sum
        loss_total += loss_sum
        _accumulate_tile(X, colmajor, t0, t1, zt, g)
    g[n] = r_total
    g[n + 1] = loss_total


@njit(**_PARALLEL_OPTIONS)
def pass_parallel(X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """One parallel pass over X; see _tile_terms for ``mode``.  Results in partials."""
    for k in prange(partials.shape[0]):
        _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials)


@njit(**REDUCTION_OPTIONS)
def pass_serial(X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """The serial twin of pass_parallel (same blocks, same bits)."""
    for k in range(partials.shape[0]):
        _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials)


# --- predictions --------------------------------------------------------------------

@njit(**REDUCTION_OPTIONS)
def _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        t1 = min(t0 + tile, stop)
        zt = out[t0:t1]
        _margins_tile(X, colmajor, t0, t1, w, b, zt)
        if apply_sigmoid:
            _sigmoid_tile(zt)


@njit(**_PARALLEL_OPTIONS)
def _margins_parallel(X, colmajor, w, b, tile, block_rows, n_blocks, out, apply_sigmoid):
    for k in prange(n_blocks):
        _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid)


@njit(**REDUCTION_OPTIONS)
def _margins_serial(X, colmajor, w, b, tile, block_rows, n_blocks, out, apply_sigmoid):
    for k in range(n_blocks):
        _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid)


# --- merge --------------------------------------------------------------------------

@njit(**JIT_OPTIONS)
def merge_partials(partials, out):
    """out[:] = sum of partials' rows, added in block order (deterministic)."""
    out[:] = 0.0
    for k in range(partials.shape[0]):
        row = partials[k]
        for j in range(out.shape[0]):
            out[j] += row[j]


# --- read-only pass (the memory-bandwidth yardstick) and the input check -------------

@njit(**REDUCTION_OPTIONS)
def _read_pass_block(k, X, colmajor, block_rows, partials):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    acc = 0.0
    if colmajor:
        for j in range(X.shape[0]):
            acc += _sum(X[j, start:stop])
    else:
        for i in range(start, stop):
            acc += _sum(X[i])
    partials[k, 0] = acc


@njit(**_PARALLEL_OPTIONS)
def read_pass_parallel(X, colmajor, block_rows, partials):
    """Read every element of X once, in the kernels' block split; return their sum."""
    for k in prange(partials.shape[0]):
        _read_pass_block(k, X, colmajor, block_rows, partials)
    return partials[:, 0].sum()


@njit(**JIT_OPTIONS)
def _count_nonfinite(v):
    count = 0
    for i in range(v.shape[0]):
        count += not math.isfinite(v[i])
    return count


@njit(**JIT_OPTIONS)
def _count_nonfinite_block(k, X, colmajor, block_rows, counts):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    count = 0
    if colmajor:
        for j in range(X.shape[0]):
            count += _count_nonfinite(X[j, start:stop])
    else:
        for i in range(start, stop):
            count += _count_nonfinite(X[i])
    counts[k] = count


@njit(**dict(JIT_OPTIONS, parallel=True))
def count_nonfinite_parallel(X, colmajor, block_rows, counts):
    for k in prange(counts.shape[0]):
        _count_nonfinite_block(k, X, colmajor, block_rows, counts)
    return counts.sum()


@njit(**JIT_OPTIONS)
def count_nonfinite_serial(X, colmajor, block_rows, counts):
    for k in range(counts.shape[0]):
        _count_nonfinite_block(k, X, colmajor, block_rows, counts)
    return counts.sum()
