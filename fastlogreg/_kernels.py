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
block is one parallel task, walks its rows tile by tile and writes its own row of
float64 partial sums; the partials are then merged in block order.  The split
depends only on the shape of X, so the result has the same bits for any thread
count.  Within a tile, the margins are computed, turned into per-example values
(loss, residual, Hessian weight) and the gradient is accumulated from the same
tile while it is still in cache: X is read from memory once per call.

Every kernel returns *sums* over examples; the callers divide.
"""

import math

import numpy as np
from numba import njit, prange

from . import _config
from ._config import JIT_OPTIONS
from ._math import loss_and_residual, sigmoid, sigmoid_derivative

_PARALLEL_OPTIONS = dict(JIT_OPTIONS, parallel=True)


@njit(**JIT_OPTIONS)
def plan(m, n, itemsize, colmajor):
    """(tile_rows, block_rows, n_blocks) for an (m, n) X: a function of the shape only."""
    tile = _config.TILE_BYTES // max(n * itemsize, 1)
    min_tile = _config.MIN_TILE_ROWS_COLMAJOR if colmajor else _config.MIN_TILE_ROWS_ROWMAJOR
    tile = max(min_tile, min(tile, _config.MAX_TILE_ROWS))
    n_tiles = max((m + tile - 1) // tile, 1)
    tiles_per_block = (n_tiles + _config.MAX_BLOCKS - 1) // _config.MAX_BLOCKS
    block_rows = tile * tiles_per_block
    n_blocks = max((m + block_rows - 1) // block_rows, 1)
    return tile, block_rows, n_blocks


@njit(**JIT_OPTIONS)
def _margins_tile(X, colmajor, t0, t1, u, u0, z):
    """z[i - t0] = x_i . u + u0 for rows t0 <= i < t1 (float64 accumulation)."""
    if colmajor:
        for i in range(t1 - t0):
            z[i] = u0
        for j in range(X.shape[0]):
            uj = u[j]
            row = X[j]
            for i in range(t1 - t0):
                z[i] += uj * row[t0 + i]
    else:
        n = X.shape[1]
        for i in range(t0, t1):
            row = X[i]
            acc = 0.0
            for j in range(n):
                acc += row[j] * u[j]
            z[i - t0] = acc + u0


@njit(**JIT_OPTIONS)
def _accumulate_tile(X, colmajor, t0, t1, r, g):
    """g += sum over rows t0 <= i < t1 of r[i - t0] * x_i."""
    if colmajor:
        for j in range(X.shape[0]):
            row = X[j]
            acc = 0.0
            for i in range(t1 - t0):
                acc += r[i] * row[t0 + i]
            g[j] += acc
    else:
        n = X.shape[1]
        for i in range(t0, t1):
            row = X[i]
            ri = r[i - t0]
            for j in range(n):
                g[j] += ri * row[j]


@njit(**JIT_OPTIONS)
def _n_rows(X, colmajor):
    return X.shape[1] if colmajor else X.shape[0]


# --- cost and gradient -------------------------------------------------------------

@njit(**JIT_OPTIONS)
def _example_terms(zi, yi, si, want_d):
    """(s L, s r, s σ'(z)) for one example; the last is 0 unless want_d."""
    li, ri = loss_and_residual(zi, yi)
    di = si * sigmoid_derivative(zi) if want_d else 0.0
    return si * li, si * ri, di


@njit(**JIT_OPTIONS)
def _loss_grad_block(k, X, colmajor, y, s, w, b, d_out, tile, block_rows, z, partials):
    """Block k: partials[k] = [sum s_i r_i x_i (n values), sum s_i r_i, sum s_i L_i].

    If d_out has m entries, it also receives d_i = s_i σ'(z_i), the Hessian weights.
    Row-major X is done one row at a time (the row stays in L1 between its dot
    product and its gradient update); column-major X one tile of rows at a time.
    """
    m = _n_rows(X, colmajor)
    n = w.shape[0]
    weighted = s.shape[0] > 0
    want_d = d_out.shape[0] > 0
    g = partials[k]
    g[:] = 0.0
    loss = 0.0
    db = 0.0
    start = k * block_rows
    stop = min(start + block_rows, m)
    if colmajor:
        zk = z[k]
        for t0 in range(start, stop, tile):
            t1 = min(t0 + tile, stop)
            _margins_tile(X, colmajor, t0, t1, w, b, zk)
            for i in range(t1 - t0):
                si = s[t0 + i] if weighted else 1.0
                li, ri, di = _example_terms(zk[i], y[t0 + i], si, want_d)
                if want_d:
                    d_out[t0 + i] = di
                loss += li
                db += ri
                zk[i] = ri
            _accumulate_tile(X, colmajor, t0, t1, zk, g)
    else:
        for i in range(start, stop):
            row = X[i]
            zi = b
            for j in range(n):
                zi += row[j] * w[j]
            si = s[i] if weighted else 1.0
            li, ri, di = _example_terms(zi, y[i], si, want_d)
            if want_d:
                d_out[i] = di
            loss += li
            db += ri
            for j in range(n):
                g[j] += ri * row[j]
    g[n] = db
    g[n + 1] = loss


@njit(**_PARALLEL_OPTIONS)
def _loss_grad_parallel(X, colmajor, y, s, w, b, d_out, tile, block_rows, z, partials):
    for k in prange(partials.shape[0]):
        _loss_grad_block(k, X, colmajor, y, s, w, b, d_out, tile, block_rows, z, partials)


@njit(**JIT_OPTIONS)
def _loss_grad_serial(X, colmajor, y, s, w, b, d_out, tile, block_rows, z, partials):
    for k in range(partials.shape[0]):
        _loss_grad_block(k, X, colmajor, y, s, w, b, d_out, tile, block_rows, z, partials)


# --- Hessian-vector product ----------------------------------------------------------

@njit(**JIT_OPTIONS)
def _hessp_block(k, X, colmajor, d, v, vb, tile, block_rows, z, partials):
    """Block k: partials[k] = [sum d_i (x_i.v + vb) x_i (n values), sum d_i (x_i.v + vb)]."""
    m = _n_rows(X, colmajor)
    n = v.shape[0]
    g = partials[k]
    g[:] = 0.0
    hb = 0.0
    start = k * block_rows
    stop = min(start + block_rows, m)
    if colmajor:
        zk = z[k]
        for t0 in range(start, stop, tile):
            t1 = min(t0 + tile, stop)
            _margins_tile(X, colmajor, t0, t1, v, vb, zk)
            for i in range(t1 - t0):
                hi = d[t0 + i] * zk[i]
                hb += hi
                zk[i] = hi
            _accumulate_tile(X, colmajor, t0, t1, zk, g)
    else:
        for i in range(start, stop):
            row = X[i]
            zi = vb
            for j in range(n):
                zi += row[j] * v[j]
            hi = d[i] * zi
            hb += hi
            for j in range(n):
                g[j] += hi * row[j]
    g[n] = hb


@njit(**_PARALLEL_OPTIONS)
def _hessp_parallel(X, colmajor, d, v, vb, tile, block_rows, z, partials):
    for k in prange(partials.shape[0]):
        _hessp_block(k, X, colmajor, d, v, vb, tile, block_rows, z, partials)


@njit(**JIT_OPTIONS)
def _hessp_serial(X, colmajor, d, v, vb, tile, block_rows, z, partials):
    for k in range(partials.shape[0]):
        _hessp_block(k, X, colmajor, d, v, vb, tile, block_rows, z, partials)


# --- predictions --------------------------------------------------------------------

@njit(**JIT_OPTIONS)
def _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        t1 = min(t0 + tile, stop)
        zk = out[t0:t1]
        _margins_tile(X, colmajor, t0, t1, w, b, zk)
        if apply_sigmoid:
            for i in range(t1 - t0):
                zk[i] = sigmoid(zk[i])


@njit(**_PARALLEL_OPTIONS)
def _margins_parallel(X, colmajor, w, b, tile, block_rows, n_blocks, out, apply_sigmoid):
    for k in prange(n_blocks):
        _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid)


@njit(**JIT_OPTIONS)
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


@njit(**JIT_OPTIONS)
def read_pass_block(k, X, colmajor, block_rows, partials):
    """A read-only pass over block k of X (the memory-bandwidth yardstick)."""
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    acc = 0.0
    if colmajor:
        for j in range(X.shape[0]):
            row = X[j]
            for i in range(start, stop):
                acc += row[i]
    else:
        for i in range(start, stop):
            row = X[i]
            for j in range(X.shape[1]):
                acc += row[j]
    partials[k, 0] = acc


@njit(**_PARALLEL_OPTIONS)
def read_pass_parallel(X, colmajor, block_rows, partials):
    for k in prange(partials.shape[0]):
        read_pass_block(k, X, colmajor, block_rows, partials)
    return partials[:, 0].sum()


@njit(**JIT_OPTIONS)
def allocate_workspace(n, n_blocks, tile):
    """Scratch for one kernel call: margins per block and float64 partials per block."""
    z = np.empty((n_blocks, tile), dtype=np.float64)
    partials = np.empty((n_blocks, n + 2), dtype=np.float64)
    return z, partials


# --- input check --------------------------------------------------------------------

@njit(**JIT_OPTIONS)
def _count_nonfinite_block(k, X, colmajor, block_rows, counts):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    count = 0
    if colmajor:
        for j in range(X.shape[0]):
            row = X[j]
            for i in range(start, stop):
                count += not math.isfinite(row[i])
    else:
        for i in range(start, stop):
            row = X[i]
            for j in range(X.shape[1]):
                count += not math.isfinite(row[j])
    counts[k] = count


@njit(**_PARALLEL_OPTIONS)
def count_nonfinite_parallel(X, colmajor, block_rows, counts):
    for k in prange(counts.shape[0]):
        _count_nonfinite_block(k, X, colmajor, block_rows, counts)
    return counts.sum()


@njit(**JIT_OPTIONS)
def count_nonfinite_serial(X, colmajor, block_rows, counts):
    for k in range(counts.shape[0]):
        _count_nonfinite_block(k, X, colmajor, block_rows, counts)
    return counts.sum()
