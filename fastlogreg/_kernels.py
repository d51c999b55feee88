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
Within a block, rows go in tiles, whose size depends on the CPU (see _config: L2-sized
on AMD, L1-sized on Intel).  For each tile the margins z = X_tile u + u0 are computed
(X read from memory), then the per-example terms (loss, residual, Hessian weight) for
the whole tile in one branch-free loop that LLVM vectorises (exp and log1p included),
then the gradient Σ r_i x_i is accumulated from the tile, which is still in cache.
Row-major tiles are read row by row; column-major tiles (X.T) eight features at a
time, so that each margin and gradient entry is loaded and stored once per eight
multiply-adds.  A column-major tile is one short segment per feature, which the
hardware prefetcher does not run ahead on, so those segments are prefetched in
software: the next eight features' while the margins sum eight, and the next tile's,
feature by feature, during the gradient update (see _prefetch_features).  Long
row-major rows (up to 3 KiB) have the next tile prefetched too, half of it during each
sweep (see _next_tile_rows); on Intel, longer rows have it prefetched in 1 KiB pieces
spread through both sweeps (see _spread_rows).  Row-major rows of up to 32 features
(_config.REGISTER_ROW_MAX_FEATURES) go through the vector kernels of _llvm instead of
numba's loops, in tiles of 1024 rows: margins_rows sums the dot products of eight rows
(four without AVX-512, and for the shortest rows on AMD's) across lanes together,
accumulate_rows keeps the gradient in registers across the tile; for float32 rows of
up to 32 features and float64 rows of up to 10, both sweeps go in 32-row pieces, a
part of the next tile prefetched before each (see _register_rows_prefetched).
Measured in one process against numba's loops (4 rows at a time, 64- or 1024-row
tiles): 4e6 x 10 float32 21.5 -> 13.6 ms, float64 24.9 -> 16.7 ms, 8e6 x 5 float64
31.8 -> 21.6 ms, 1.3e6 x 30 float32 16.0 -> 8.7 ms, 1.2e6 x 32 float64 16.9 -> 13.3
ms; H·v 4e6 x 10 float32 13.9 -> 9.6 ms, float64 27.4 -> 15.3 ms; gradient + Gram 4e6
x 10 float64 75.5 -> 65.5 ms.  On long rows accumulate_rows was no faster in a full
pass (1e6 x 100 and 1e5 x 1000, float32 and float64: 0.97 to 1.06 of the time of
numba's loops), nor was margins_rows' scheme extended to long rows (in cache, per
100-feature row: float64 10.9 -> 11.6 ns, float32 12.2 -> 10.5 ns; 1000 features: 114
-> 123 and 81 -> 79 ns): both sweeps of a long-row tile are bound by reading it from
L2, so those rows keep numba's loops.
The Hessian-vector product over the short rows (up to 32 features) is one sweep of
_llvm.hessp_rows, which reads each row once for its margin and its update (see
_hessp_register_rows).

Measured on this design's alternatives, all slower or no faster: for row-major X,
interleaving the dot products of several long rows read from memory (it defeats the
hardware prefetcher, 1.5 to 2.5x slower); accumulating tile t-1 while reading tile
t; software prefetching other than _next_tile_rows' (all of the next tile during
the gradient update: 1e6 x 100 0.73 -> 0.55 of read, and 1.07-1.19x the time again
with 128-row tiles; with 16-row tiles that stay in L1, the row 16 or 32 rows ahead
per row of the margins or of the update: 27.4 -> 30.7-34.6 ms); tiles of 1-4 rows;
4-row updates and 16- or 32-row tiles on 1e6 x 100 (all on the AMD EPYC; on the
Intel Xeon, L1-sized tiles are the faster choice: see _config).
For short rows (4e6 x 10), where the per-row work is the limit: _next_tile_rows'
prefetch, the register kernels called on 128-row pieces of the tile with the
matching share of the next tile prefetched after each (on the AMD EPYC, time with ÷
without: 0.89 to 0.95 for rows of 40-80 bytes, 4e6 x 10 and 8e6 x 5, but 1.1-1.24
for 1.2e6 x 32 float64 and 1.3e6 x 30 float32, and 1.18 and 0.91 for 2e6 x 16
float64 and float32; 32-row pieces with the prefetch before each, on the shorter
rows alone, are the design, see _config); on the Intel Xeon, the next
tile prefetched during the per-example
terms (computed in 128-example pieces, a piece of the next tile after each): 4e6 x 10
float64 1.03, float32 1.00 of the time without, one thread 1.09; on the Zen 4, with the
register kernels' 32-row pieces, the next tile prefetched a third during the margins,
a third during the terms (128-example pieces) and a third during the update instead of
halves during the two sweeps: 4e6 x 10 float64 0.88-0.89, but float32 1.03, 8e6 x 5
1.08 and 1.02, 1.2e6 x 32 float32 0.98, 2e6 x 16 0.99; each tile
transposed into a scratch and handled like X.T (5% faster in float64 but 1.6x
slower for 2e6 x 16 float32, and much slower for long rows; the transposition alone
costs 2.8 ns per row of 10); rows padded to 16 features with masked loads (margins
1.6 -> 1.9 ns per row, update 2.7 -> 2.9, float32 in cache); the margins of tile t
and the update of tile t-1 in one loop over the features (3.5 -> 3.2 ns per row
for float32, 3.0 -> 3.3 for float64); a gradient update that keeps 16 features of
the gradient in registers across a tile's rows, written in numba and compiled without
reassociation (so that LLVM could not vectorise it along the rows), came out as
scalar code, 2-3x slower (written in LLVM IR, _llvm.accumulate_rows, it is 2-3x
faster than numba's loops: 4e6 x 10 in cache, 3.0 -> 1.4 ns per row for float32,
4.4 -> 1.5 for float64).

The measured limit of this design on a 2-core AMD EPYC (Zen 4): the loads and stores
of a tile's two sweeps (about 80 cycles per 100-feature row in L1) are comparable to
the time to stream the row from memory, and they overlap with it only in part.  On
1e6 x 100 row-major X, with the next tile prefetched during both sweeps, that is
0.78-0.89 of read bandwidth for float64 and 0.62-0.82 for float32 (half the bytes,
the same work per element) when the VM reads at about 32 GB/s; without the prefetch
0.72-0.79 and 0.51-0.65.  The pass over data in cache costs about as much (1e6 x 100
float64: 28-38 ns per row and thread in cache), so on this VM, whose read speed moves
between 32 and 55 GB/s, the fraction of read bandwidth moves with it.
benchmarks/kernel_profile.py measures this: the pass beside the read and its own
work on rows in cache.

The Gram matrix Xᵀ D X of a Newton step (up to _config.GRAM_KERNEL_MAX_FEATURES
features) is built by the same blocks and tiles, fused with the gradient pass: per
tile, the upper triangle in blocks of 4 x 4 features, from X.T or from the tile
transposed into a scratch (see _gram_tile, _gram_features); row-major rows of up to
15 features (5 without AVX-512) go through _llvm.gram_rows instead, which keeps the
tile's sums in registers, in the register kernels' long tiles (see
gram_register_rows).

Every kernel returns *sums* over examples; the callers divide.

Fast-math
---------
Only the linear-algebra loops are compiled with the reassociation flags that let
LLVM vectorise reductions; the per-example math is compiled without them, with
fused multiply-adds only (``_config.TERMS_OPTIONS``).

Vector width
------------
LLVM vectorises for 256-bit registers on Intel's AVX-512 CPUs unless a function asks
for more.  The per-example loops (example_terms, _scale_tile, _sigmoid_tile: exp,
log1p and σ of whole tiles) ask for 512-bit vectors (_llvm.prefer_512_bit_vectors):
the same arithmetic per example, so the same bits, twice the examples per
instruction.  On the Intel Xeon (Emerald Rapids), one process, in cache, per
example: loss and residual 4.16 -> 2.98 ns, with the Hessian weight 5.34 -> 4.24 ns;
full passes, time with ÷ without (15 interleaved rounds): cost_and_gradient 4e6 x 10
float32 C 0.88, F 0.90, float64 C 0.96, F 0.97; 1e6 x 100 and 1e5 x 1000 0.98-1.04
(noise).  The linear-algebra loops keep LLVM's choice: 512-bit vectors there
measured 0.87 to 1.01 on 1e6 x 100 C from run to run, but 1.15x slower on
1e5 x 1000 float32 C, and they change the order of the sums.  On the AMD EPYC Zen 4,
whose 512-bit operations run as two 256-bit halves, the per-example loops with
256-bit vectors instead took 1.05-1.08x the time (4e6 x 10, C and F, one process, 21
rounds): fewer instructions for the same work still pay there.
"""

import math

import numpy as np
from numba import njit, prange, uint64

from . import _config
from ._config import JIT_OPTIONS, REDUCTION_OPTIONS, TERMS_OPTIONS
from ._llvm import (
    accumulate_rows,
    gram_rows,
    gram_rows_handles,
    hessp_rows,
    margins_rows,
    prefer_512_bit_vectors,
    prefetch_to_l2,
)
from ._math import exp_for, loss_residual_curvature_for, sigmoid

_PARALLEL_OPTIONS = dict(REDUCTION_OPTIONS, parallel=True)

# What the per-example step of a pass computes.
LOSS_GRAD = 0  # residual s_i (a_i - y_i), loss s_i L_i, optionally d_i = s_i σ'(z_i)
HESSP = 1  # d_i z_i, for a Hessian-vector product


@njit(**dict(JIT_OPTIONS, inline="always"))
def _register_rows(n):
    """Row-major rows short enough for the register kernels of _llvm (see _config)."""
    return n <= _config.REGISTER_ROW_MAX_FEATURES


@njit(**JIT_OPTIONS)
def plan(m, n, itemsize, colmajor):
    """(tile_rows, block_rows, n_blocks) for an (m, n) X: a function of the shape only."""
    return plan_blocks(m, n, itemsize, colmajor, _config.MAX_BLOCKS, False)


@njit(**JIT_OPTIONS)
def plan_blocks(m, n, itemsize, colmajor, max_blocks, gram):
    """plan, with at most max_blocks blocks, for a pass or (gram) for the Gram pass:
    long tiles for the row-major rows of the register kernels (see
    _config.REGISTER_ROW_TILE_ROWS; in the Gram pass where gram_register_rows), and
    their own row limit for the other row-major tiles (rowmajor_tile_rows)."""
    if colmajor:
        tile = _config.COLMAJOR_TILE_BYTES // max(n * itemsize, 1)
        tile = max(colmajor_floor_rows(n, itemsize), min(tile, _config.MAX_TILE_ROWS_COLMAJOR))
    elif gram_register_rows(n, colmajor) if gram else _register_rows(n):
        tile = _config.REGISTER_ROW_TILE_ROWS
    else:
        tile = _config.ROWMAJOR_MAX_TILE_BYTES // max(n * itemsize, 1)
        tile = max(_config.MIN_TILE_ROWS_ROWMAJOR, min(tile, rowmajor_tile_rows(itemsize, gram)))
    n_tiles = max((m + tile - 1) // tile, 1)
    tiles_per_block = (n_tiles + max_blocks - 1) // max_blocks
    block_rows = tile * tiles_per_block
    n_blocks = max((m + block_rows - 1) // block_rows, 1)
    return tile, block_rows, n_blocks


@njit(**JIT_OPTIONS)
def rowmajor_tile_rows(itemsize, gram):
    """The most rows of a row-major tile of numba's loops (by X's itemsize), or of one
    that the Gram pass transposes (gram); see _config.ROWMAJOR_TILE_ROWS_FLOAT64."""
    if gram:
        return _config.GRAM_ROWMAJOR_TILE_ROWS
    return _config.ROWMAJOR_TILE_ROWS_FLOAT32 if itemsize == 4 else _config.ROWMAJOR_TILE_ROWS_FLOAT64


@njit(**JIT_OPTIONS)
def colmajor_floor_rows(n, itemsize):
    """The fewest rows of a column-major tile of n features (see _config): the dtype's
    floor, lowered where that tile would exceed COLMAJOR_FLOOR_MAX_BYTES, but never
    below MIN_TILE_ROWS_COLMAJOR."""
    floor = _config.COLMAJOR_FLOOR_ROWS_FLOAT32 if itemsize == 4 else _config.COLMAJOR_FLOOR_ROWS_FLOAT64
    floor = min(floor, _config.COLMAJOR_FLOOR_MAX_BYTES // max(n * itemsize, 1))
    return max(_config.MIN_TILE_ROWS_COLMAJOR, floor)


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


# --- indexing ---------------------------------------------------------------------
# The hot loops index the whole arrays with an offset (row t0 + i) instead of taking
# a slice per tile or per row: each slice is a new array whose reference count is
# bumped atomically, and with two threads bumping the same count the cache line
# bounces between the cores (measured: 4e6 x 10 took 30.4 ms with slices, 21.4 ms
# with offsets).  The offset is an unsigned integer: numba then emits no
# negative-index wraparound check, which would keep LLVM from vectorising the loop.


@njit(**dict(JIT_OPTIONS, inline="always"))
def _at(t0, i):
    """Index t0 + i as an unsigned integer (both non-negative)."""
    return uint64(t0) + uint64(i)


# --- the three steps of a tile --------------------------------------------------------

@njit(**REDUCTION_OPTIONS)
def _margins_tile(X, colmajor, t0, count, u, u0, out, out_start, next_count):
    """out[out_start + i] = x_(t0+i) . u + u0 for i < count (float64 accumulation).
    next_count: the rows of the next tile, which a row-major pass starts to prefetch
    (see _next_tile_rows; 0: none)."""
    if colmajor:
        _margins_colmajor(X, t0, count, u, u0, out, out_start)
    else:
        _margins_rowmajor(X, t0, count, u, u0, out, out_start, next_count)


@njit(**dict(JIT_OPTIONS, inline="always"))
def _next_tile_rows(X, next_count):
    """How many rows of the next tile (rows t0+count ..) the two sweeps over a long-row
    tile prefetch into L2: the first half of their memory during the margins, the
    second during the gradient update, each sweep's share in equal pieces per row (see
    _prefetch_next_tile).  Without this, X streams in from memory only while the
    margins are summed and the memory idles during the per-example terms and the
    update; with all of the next tile prefetched during the update (1.07-1.19x the
    time; Intel Xeon 1.11-1.13x) or during the margins (0.92 to 1.07x; Intel 1.08 to
    1.17x) the pass was slower than with the halves.  Prefetching the tile after
    next instead, here and in the register kernels' pieces, made no difference on the
    Intel Xeon (2026-12-07, one process, 15 rounds: 1e6 x 100 C 0.996-1.03, 4e6 x 10
    C 0.99-1.00).  Rows longer than _config.ROWMAJOR_PREFETCH_MAX_ROW_BYTES are left
    to the hardware prefetcher."""
    if X.shape[1] * X.itemsize <= _config.ROWMAJOR_PREFETCH_MAX_ROW_BYTES:
        return next_count
    return 0


@njit(**dict(JIT_OPTIONS, inline="always"))
def _prefetch_next_tile(X, next_t0, first, count):
    """Prefetch into L2 the elements first .. first+count of the next tile, counted in
    memory order from its first element X[next_t0, 0] (row-major X: the tile is one
    run of memory).  The two sweeps walk through that run in order, a piece per row,
    rather than row i of the next tile with row i of this one (first half, then
    second half of each row): on the Intel Xeon one ascending stream was faster
    (time with ÷ without, one process: 1e6 x 100 float64 0.97-0.98, float32
    0.90; 2e6 x 50 0.95 and 0.84; 3e5 x 350 0.95 and 0.98; 5e5 x 200 0.97 and 0.98),
    on the AMD EPYC as fast (0.95-1.02)."""
    prefetch_to_l2(X, uint64(next_t0), first, count)


@njit(**REDUCTION_OPTIONS)
def _margins_rowmajor(X, t0, count, u, u0, out, out_start, next_count):
    n = u.shape[0]
    if _register_rows(n):
        if _register_rows_prefetched(X):
            _margins_register_pieces(X, t0, count, u, u0, out, out_start, next_count)
        else:
            margins_rows(X, t0, count, u, u0, out, out_start)
        return
    if _spread_rows(X):
        _margins_rowmajor_spread(X, t0, count, u, u0, out, out_start, next_count)
        return
    ahead = _next_tile_rows(X, next_count)
    half = n // 2  # the next tile's first ahead * half elements, half per row
    for i in range(count):
        row = _at(t0, i)
        if i < ahead:
            _prefetch_next_tile(X, t0 + count, i * half, half)
        acc = 0.0
        for j in range(n):
            acc += X[row, j] * u[j]
        out[_at(out_start, i)] = acc + u0


@njit(**dict(JIT_OPTIONS, inline="always"))
def _spread_rows(X):
    """Row-major rows whose next tile is prefetched in pieces spread through both
    sweeps (see _config.ROWMAJOR_SPREAD_PREFETCH): long rows, on the Intel Xeon.  A
    burst of prefetches per row (_next_tile_rows) stalled the sweep behind it, and no
    prefetch at all left the memory idle while a tile was worked on."""
    row_bytes = X.shape[1] * X.itemsize
    return _config.ROWMAJOR_SPREAD_PREFETCH and row_bytes > _config.ROWMAJOR_PREFETCH_MAX_ROW_BYTES


@njit(**dict(JIT_OPTIONS, inline="always"))
def _prefetch_piece(X, next_t0, first, offset, size, share):
    """Prefetch elements first + offset .. first + offset + size of the next tile
    (counted in memory order, see _prefetch_next_tile), but none at or past
    first + share: the sweep's share of the next tile."""
    count = min(size, share - offset)
    if count > 0:
        _prefetch_next_tile(X, next_t0, first + offset, count)


@njit(**dict(JIT_OPTIONS, inline="always"))
def _prefetch_for_rows(X, next_t0, first, p0, piece, share, rows):
    """The spread sweeps' prefetch before a piece of rows (1 or 2) from feature p0:
    half a piece of the next tile per row worked on (see _prefetch_piece)."""
    _prefetch_piece(X, next_t0, first, p0 * rows // 2, piece * rows // 2, share)


@njit(**dict(JIT_OPTIONS, inline="always"))
def _register_rows_prefetched(X):
    """Short rows (for the register kernels) whose next tile is prefetched in pieces
    spread through both sweeps (see _config.REGISTER_ROW_PREFETCH): float32 rows and
    float64 rows of up to 80 bytes."""
    if X.itemsize == 4:
        limit = _config.REGISTER_ROW_PREFETCH_MAX_BYTES_FLOAT32
    else:
        limit = _config.REGISTER_ROW_PREFETCH_MAX_BYTES_FLOAT64
    return _config.REGISTER_ROW_PREFETCH and X.shape[1] * X.itemsize <= limit


@njit(**dict(JIT_OPTIONS, inline="always"))
def _share_per_piece(share, count, piece):
    """Elements of a sweep's share of the next tile to prefetch per piece of rows."""
    n_pieces = max((count + piece - 1) // piece, 1)
    return (share + n_pieces - 1) // n_pieces


@njit(**REDUCTION_OPTIONS)
def _margins_register_pieces(X, t0, count, u, u0, out, out_start, next_count):
    """margins_rows over the tile in pieces of _config.REGISTER_ROW_PREFETCH_PIECE_ROWS
    rows (a multiple of margins_rows' eight or four rows: the same margins), each after
    prefetching its part of the first half of the next tile's next_count rows (in
    memory order)."""
    piece = _config.REGISTER_ROW_PREFETCH_PIECE_ROWS
    share = next_count * X.shape[1] // 2
    per_piece = _share_per_piece(share, count, piece)
    for a in range(0, count, piece):
        _prefetch_piece(X, t0 + count, 0, (a // piece) * per_piece, per_piece, share)
        margins_rows(X, t0 + a, min(piece, count - a), u, u0, out, out_start + a)


@njit(**REDUCTION_OPTIONS)
def _accumulate_register_pieces(X, t0, count, r, out, o, next_count):
    """accumulate_rows over the tile in pieces as _margins_register_pieces, each after
    prefetching its part of the second half of the next tile."""
    piece = _config.REGISTER_ROW_PREFETCH_PIECE_ROWS
    total = next_count * X.shape[1]
    first = total // 2  # what the margins prefetched
    per_piece = _share_per_piece(total - first, count, piece)
    for a in range(0, count, piece):
        _prefetch_piece(X, t0 + count, first, (a // piece) * per_piece, per_piece, total - first)
        accumulate_rows(X, t0 + a, min(piece, count - a), r, a, out, o)


@njit(**REDUCTION_OPTIONS)
def _hessp_register_rows(X, t0, count, u, u0, d, out, o, next_count):
    """The Hessian-vector product of a tile of short row-major rows in one sweep
    (_llvm.hessp_rows; see _config.HESSP_PREFETCH_MAX_ROW_BYTES): out[o, :n] +=
    Σ t_i x_i with t_i = d_i (x_i·u + u0); returns Σ t_i.  For rows of up to
    HESSP_PREFETCH_MAX_ROW_BYTES, in pieces as _margins_register_pieces, each after
    prefetching its part of the next tile's next_count rows."""
    prefetched = X.shape[1] * X.itemsize <= _config.HESSP_PREFETCH_MAX_ROW_BYTES
    if not (_config.REGISTER_ROW_PREFETCH and prefetched):
        return hessp_rows(X, t0, count, u, u0, d, out, o)
    piece = _config.REGISTER_ROW_PREFETCH_PIECE_ROWS
    share = next_count * X.shape[1]
    per_piece = _share_per_piece(share, count, piece)
    t_sum = 0.0
    for a in range(0, count, piece):
        _prefetch_piece(X, t0 + count, 0, (a // piece) * per_piece, per_piece, share)
        t_sum += hessp_rows(X, t0 + a, min(piece, count - a), u, u0, d, out, o)
    return t_sum


@njit(**REDUCTION_OPTIONS)
def _margins_rowmajor_spread(X, t0, count, u, u0, out, out_start, next_count):
    """_margins_rowmajor for _spread_rows: two rows per sweep along the features (u is
    loaded once for both), in pieces of _config.ROWMAJOR_SPREAD_PIECE_BYTES, with a
    piece of the next tile's first half prefetched before each (the first next_count
    rows' worth: half of each of them)."""
    n = u.shape[0]
    half = n // 2
    piece = _config.ROWMAJOR_SPREAD_PIECE_BYTES // X.itemsize
    i = 0
    while i < count:
        row = _at(t0, i)
        pair = i + 1 < count
        rows = 2 if pair else 1
        share = min(rows, max(next_count - i, 0)) * half
        acc0 = 0.0
        acc1 = 0.0
        for p0 in range(0, n, piece):
            size = min(piece, n - p0)
            _prefetch_for_rows(X, t0 + count, i * half, p0, piece, share, rows)
            if pair:
                for jj in range(size):
                    j = _at(p0, jj)
                    acc0 += X[row, j] * u[j]
                    acc1 += X[row + 1, j] * u[j]
            else:
                for jj in range(size):
                    j = _at(p0, jj)
                    acc0 += X[row, j] * u[j]
        out[_at(out_start, i)] = acc0 + u0
        if pair:
            out[_at(out_start, i + 1)] = acc1 + u0
        i += 2


@njit(**REDUCTION_OPTIONS)
def _margins_colmajor(X, t0, count, u, u0, out, out_start):
    # X is X.T here: row j of X holds feature j.  Eight (then four, then one) features
    # per pass over the tile's margins: one load and store of a margin per eight
    # multiply-adds (measured on 1e6 x 100 float64: 0.56 of read bandwidth one
    # feature at a time, 0.86 eight at a time).  While eight features are summed, the
    # tile's segments of the next eight are prefetched (see _prefetch_features).  The
    # last features two at a time here and in _accumulate_colmajor (4e6 x 10 F: one
    # pass for features 8-9 instead of two) measured 0.99-1.00 of the time: no change.
    n = u.shape[0]
    for i in range(count):
        out[_at(out_start, i)] = u0
    j = 0
    while j + 8 <= n:
        _prefetch_features(X, j + 8, min(j + 16, n), t0, count)
        c0, c1, c2, c3 = u[j], u[j + 1], u[j + 2], u[j + 3]
        c4, c5, c6, c7 = u[j + 4], u[j + 5], u[j + 6], u[j + 7]
        for i in range(count):
            k = _at(t0, i)
            out[_at(out_start, i)] += (
                (c0 * X[j, k] + c1 * X[j + 1, k]) + (c2 * X[j + 2, k] + c3 * X[j + 3, k])
            ) + ((c4 * X[j + 4, k] + c5 * X[j + 5, k]) + (c6 * X[j + 6, k] + c7 * X[j + 7, k]))
        j += 8
    if j + 4 <= n:
        c0, c1, c2, c3 = u[j], u[j + 1], u[j + 2], u[j + 3]
        for i in range(count):
            k = _at(t0, i)
            out[_at(out_start, i)] += (
                (c0 * X[j, k] + c1 * X[j + 1, k]) + (c2 * X[j + 2, k] + c3 * X[j + 3, k])
            )
        j += 4
    while j < n:
        c0 = u[j]
        for i in range(count):
            out[_at(out_start, i)] += c0 * X[j, _at(t0, i)]
        j += 1


@njit(**dict(JIT_OPTIONS, inline="always"))
def _prefetch_features(XT, j_start, j_stop, t0, count):
    """Prefetch (into L2) the segments t0 .. t0+count of features j_start .. j_stop of
    X.T, or the first _config.COLMAJOR_PREFETCH_MAX_BYTES of each (see there).  A
    column-major tile is one short segment per feature (for 1e5 x 1000 float64, 96
    rows: 768 bytes), too short for the hardware prefetcher to run ahead, so without
    this the pass and the memory stream take turns.  Measured in one process on
    1e5 x 1000 F, fraction of read bandwidth with the VM reading at 24-34 GB/s: float64
    0.63-0.71 -> 0.75-0.77, float32 0.55-0.59 -> 0.67-0.69; at 55 GB/s, float64
    0.54-0.56 -> 0.57-0.61 and float32 0.40 -> 0.48 (1e6 x 100 and 4e6 x 10 F, with
    long segments, and row-major X: no change).  Tiles of 384 to 1024 KiB gave no
    consistent gain over 768 KiB with these prefetches.  Nor did prefetching as for
    long row-major rows (_next_tile_rows): the first half of the next tile's features
    during the margins, the second during the update, 384-768 KiB tiles (time with ÷
    without: 1e6 x 100 F 0.88-0.97, but 1e5 x 1000 F float64 1.05-1.16, 5e5 x 200
    float32 up to 1.05, 4e6 x 10 F 1.01-1.05); re-measured on a Zen 4 (2026-12-05,
    one process, 11 rounds) for tiles of at least 512 rows only: 1e6 x 100 F 0.95-1.02,
    5e5 x 200 F float32 1.03-1.08, 4e6 x 10 F 1.00-1.06, also with the margins' own
    prefetch dropped (0.95-1.03).  Nor did prefetching a block's first tile during the
    previous block's last one (in numba's schedule, the same thread's next block):
    1e6 x 100 and 1e5 x 1000 F 1.00-1.05.  Nor did spreading the update's prefetches
    through it, a 256-row piece of the next tile's eight features before each 256 rows
    of the update instead of all of them before the eight (float64 0.98-0.99, float32
    1e6 x 100 F 1.03, 1e5 x 1000 F 1.13-1.18; 64-row float64 and 128-row float32
    pieces on 1e6 x 100 F: 1.00 and 1.09).  Without the update's next-tile prefetch
    at all, 1e6 x 100 F took 1.00 (float64) and 1.04 (float32) of the time, 1e5 x 1000
    F 0.99 and 1.15: it matters for short segments only.  Nor, on the Zen 4, did
    moving it into the per-example terms (computed in 128- or 256-row pieces, a share
    of the next tile's features before each, none during the update): 4e6 x 10 F
    0.95-0.97, 2e6 x 20 F 0.96-0.97, but 1e5 x 1000 F float64 1.07 (float32 0.93),
    1e6 x 100 F 1.00-1.02: a few percent on short rows, where the per-example work,
    not the memory stream, is the limit.  On the Intel Xeon (2026-12-07, 16 KiB tiles,
    one process, 11 rounds, time with ÷ without): the next tile's first half of
    features prefetched during the margins and the second during the update 1e5 x
    1000 F 1.10 and 1.06, 1e6 x 100 F 1.04, 4e6 x 10 F 1.01-1.08 (also without the
    margins' own look-ahead: 1.17 and 1.24 on 1e5 x 1000 F); all of it during the
    margins, none during the update, 1e5 x 1000 F 1.21 and 1.16, 1e6 x 100 F 1.06-1.08."""
    head = min(count, _config.COLMAJOR_PREFETCH_MAX_BYTES // XT.itemsize)
    for f in range(j_start, j_stop):
        prefetch_to_l2(XT, f, t0, head)


@njit(**dict(JIT_OPTIONS, inline="always"))
def _label(y, k):
    """Label k as a float64: y holds float64 labels or uint8 ones (see
    _validation.as_labels), the same values either way."""
    return np.float64(y[k])


@njit(**TERMS_OPTIONS)
def example_terms(z, losses, y, s, d, start, count, dtype):
    """The per-example step of the loss and gradient, for examples start .. start+count.

    z[i] (the margin of example start + i) becomes s·r, the weighted residual;
    losses[i] receives s·L; d[start + i] receives s·σ'(z) if d has entries.  s (the
    sample weights) may be empty.  dtype: X's; float32 X gets exp and log1p to float32
    accuracy (see _math._FLOAT32_ACCURACY), chosen at compile time.  Compiled without
    reassociation, with fused multiply-adds (_config.TERMS_OPTIONS).  One plain loop
    per case: a condition inside the loop keeps LLVM from vectorising it (measured:
    17 ns instead of 2.6 ns per example).  Vectorised with 512-bit vectors where the
    CPU has them (see the module docstring, "Vector width").

    The exponentials come first, in a loop of their own (into losses, which the second
    loop reads and overwrites): one loop with exp, log1p and both divisions is a long
    chain of dependent operations per example, and the out-of-order core then holds
    too few examples in flight to keep its units busy.  Two loops, the same operations
    and bits: AMD EPYC Zen 3, in cache, 4.3 -> 3.4 ns per example; cost_and_gradient
    4e6 x 10 0.88-0.93 of the time, 1e6 x 100 float32 0.95.  A third loop (log1p
    apart from the residual) or the exp's range reduction apart from its polynomial
    gained at most 0.2 ns more, for another tile of workspace."""
    prefer_512_bit_vectors()
    for i in range(count):
        losses[i] = exp_for(dtype, -abs(z[i]))
    weighted = s.shape[0] > 0
    want_d = d.shape[0] > 0
    if weighted and want_d:
        for i in range(count):
            k = _at(start, i)
            li, ri, ci = loss_residual_curvature_for(dtype, z[i], _label(y, k), losses[i])
            losses[i], z[i], d[k] = s[k] * li, s[k] * ri, s[k] * ci
    elif weighted:
        for i in range(count):
            k = _at(start, i)
            li, ri, _ = loss_residual_curvature_for(dtype, z[i], _label(y, k), losses[i])
            losses[i], z[i] = s[k] * li, s[k] * ri
    elif want_d:
        for i in range(count):
            k = _at(start, i)
            li, ri, ci = loss_residual_curvature_for(dtype, z[i], _label(y, k), losses[i])
            losses[i], z[i], d[k] = li, ri, ci
    else:
        for i in range(count):
            li, ri, _ = loss_residual_curvature_for(dtype, z[i], _label(y, _at(start, i)), losses[i])
            losses[i], z[i] = li, ri


@njit(**REDUCTION_OPTIONS)
def loss_sum_checking_labels(losses, y, start, count):
    """Σ losses[i] for i < count, or NaN if a label y[start + i] is NaN or outside
    [0, 1]: the labels are checked in the pass that reads them, not in a pass over y
    of their own (4e6 x 10: 1.7 ms beside the pass's 18-20 ms).  A NaN loss sends the
    caller to Problem.check_inputs, which names the bad label.  The comparisons keep
    NaN: REDUCTION_OPTIONS' fast-math flags do not assume finite values."""
    total = 0.0
    inside = 0
    for i in range(count):
        total += losses[i]
        label = y[_at(start, i)]
        inside += (label >= 0.0) & (label <= 1.0)
    return total if inside == count else np.nan


@njit(**JIT_OPTIONS)
def _scale_tile(z, d, start, count):
    """z[i] *= d[start + i]: the Hessian-vector product's per-example step."""
    prefer_512_bit_vectors()
    for i in range(count):
        z[i] *= d[_at(start, i)]


@njit(**JIT_OPTIONS)
def _sigmoid_tile(z, start, count):
    prefer_512_bit_vectors()
    for i in range(count):
        k = _at(start, i)
        z[k] = sigmoid(z[k])


@njit(**REDUCTION_OPTIONS)
def _accumulate_tile(X, colmajor, t0, count, r, out, o, next_count):
    """out[o, j] += Σ_i r[i] x_(t0+i),j for i < count and every feature j (the tile is
    in cache by now): the gradient update.  It also prefetches (part of) the next tile,
    the next_count rows after this one: for X.T feature by feature as it goes, for
    long row-major rows row by row (see _next_tile_rows)."""
    if colmajor:
        _accumulate_colmajor(X, t0, count, r, out, o, t0 + count, next_count)
    else:
        _accumulate_rowmajor(X, t0, count, r, out, o, next_count)


@njit(**REDUCTION_OPTIONS)
def _accumulate_rowmajor(X, t0, count, r, out, o, next_count):
    # Short rows: the sums stay in registers across the tile (see _llvm.accumulate_rows).
    # Long rows: two rows per load and store of out[o], which bounds the update
    # (measured in one process, fraction of read bandwidth, one row -> two rows at a
    # time: 1e6 x 100 float32 0.61 -> 0.69, 1e5 x 1000 0.88 -> 0.92).
    n = X.shape[1]
    if _register_rows(n):
        if _register_rows_prefetched(X):
            _accumulate_register_pieces(X, t0, count, r, out, o, next_count)
        else:
            accumulate_rows(X, t0, count, r, 0, out, o)
        return
    o = uint64(o)  # unsigned: see _at
    if _spread_rows(X):
        _accumulate_rowmajor_spread(X, t0, count, r, out, o, next_count)
        return
    ahead = _next_tile_rows(X, next_count)
    # the rest of the next tile's first ahead rows, after the ahead * (n // 2)
    # elements the margins prefetched: n - n // 2 elements per row of this tile
    rest = n - n // 2
    done = ahead * (n // 2)
    i = 0
    while i + 2 <= count:
        row = _at(t0, i)
        if i < ahead:
            _prefetch_next_tile(X, t0 + count, done + i * rest, min(2, ahead - i) * rest)
        r0, r1 = r[i], r[i + 1]
        for j in range(n):
            out[o, j] += r0 * X[row, j] + r1 * X[row + 1, j]
        i += 2
    if i < count:
        row = _at(t0, i)
        if i < ahead:
            _prefetch_next_tile(X, t0 + count, done + i * rest, rest)
        ri = r[i]
        for j in range(n):
            out[o, j] += ri * X[row, j]


@njit(**REDUCTION_OPTIONS)
def _accumulate_rowmajor_spread(X, t0, count, r, out, o, next_count):
    """_accumulate_rowmajor for _spread_rows: two rows per load and store of out[o],
    in pieces as _margins_rowmajor_spread, with a piece of the next tile's second
    half (the rest of each of its first next_count rows) prefetched before each."""
    n = X.shape[1]
    rest = n - n // 2
    done = min(count, next_count) * (n // 2)  # the elements the margins prefetched
    piece = _config.ROWMAJOR_SPREAD_PIECE_BYTES // X.itemsize
    i = 0
    while i < count:
        row = _at(t0, i)
        pair = i + 1 < count
        rows = 2 if pair else 1
        share = min(rows, max(next_count - i, 0)) * rest
        r0 = r[i]
        r1 = r[i + 1] if pair else 0.0
        for p0 in range(0, n, piece):
            size = min(piece, n - p0)
            _prefetch_for_rows(X, t0 + count, done + i * rest, p0, piece, share, rows)
            if pair:
                for jj in range(size):
                    j = _at(p0, jj)
                    out[o, j] += r0 * X[row, j] + r1 * X[row + 1, j]
            else:
                for jj in range(size):
                    j = _at(p0, jj)
                    out[o, j] += r0 * X[row, j]
        i += 2


@njit(**REDUCTION_OPTIONS)
def _accumulate_colmajor(X, t0, count, r, out, o, next_t0, next_count):
    # out[o, j] += Σ_i r_i X[j, t0 + i]: the gradient update.  Eight (then four, then
    # one) features per pass over the tile's residuals; with each, the same features'
    # segments of the next tile (rows next_t0 .. next_t0+next_count, none if 0) are
    # prefetched, so that reading it from memory overlaps this update and the next
    # tile's per-example terms.
    n = X.shape[0]
    j = 0
    while j + 8 <= n:
        _prefetch_features(X, j, j + 8, next_t0, next_count)
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        for i in range(count):
            k = _at(t0, i)
            ri = r[i]
            a0 += ri * X[j, k]
            a1 += ri * X[j + 1, k]
            a2 += ri * X[j + 2, k]
            a3 += ri * X[j + 3, k]
            a4 += ri * X[j + 4, k]
            a5 += ri * X[j + 5, k]
            a6 += ri * X[j + 6, k]
            a7 += ri * X[j + 7, k]
        out[o, j] += a0
        out[o, j + 1] += a1
        out[o, j + 2] += a2
        out[o, j + 3] += a3
        out[o, j + 4] += a4
        out[o, j + 5] += a5
        out[o, j + 6] += a6
        out[o, j + 7] += a7
        j += 8
    if j + 4 <= n:
        _prefetch_features(X, j, j + 4, next_t0, next_count)
        a0 = a1 = a2 = a3 = 0.0
        for i in range(count):
            k = _at(t0, i)
            ri = r[i]
            a0 += ri * X[j, k]
            a1 += ri * X[j + 1, k]
            a2 += ri * X[j + 2, k]
            a3 += ri * X[j + 3, k]
        out[o, j] += a0
        out[o, j + 1] += a1
        out[o, j + 2] += a2
        out[o, j + 3] += a3
        j += 4
    while j < n:
        _prefetch_features(X, j, j + 1, next_t0, next_count)
        acc = 0.0
        for i in range(count):
            acc += r[i] * X[j, _at(t0, i)]
        out[o, j] += acc
        j += 1


# --- one pass over a block -----------------------------------------------------------

@njit(**dict(REDUCTION_OPTIONS, inline="always"))
def _evaluate_tile(X, colmajor, t0, count, u, u0, mode, y, s, d, zt, losses, partials, k,
                   next_count):
    """One tile's share of a pass (see _pass_block): margins, per-example step, gradient
    update into partials[k, :n]; returns the tile's (Σ r_i, Σ loss_i).  next_count:
    the rows of the next tile to prefetch meanwhile (0: none; see _accumulate_tile).
    The Hessian-vector product of short row-major rows goes in one sweep instead
    (_hessp_register_rows).  Inlined into its callers (as a call it cost 4% on
    4e6 x 10)."""
    if mode == HESSP and not colmajor and _register_rows(u.shape[0]):
        return _hessp_register_rows(X, t0, count, u, u0, d, partials, k, next_count), 0.0
    _margins_tile(X, colmajor, t0, count, u, u0, zt, 0, next_count)
    loss_sum = 0.0
    if mode == HESSP:
        _scale_tile(zt, d, t0, count)
    else:
        example_terms(zt, losses, y, s, d, t0, count, X.dtype)
        loss_sum = loss_sum_checking_labels(losses, y, t0, count)
    r_sum = 0.0
    for i in range(count):
        r_sum += zt[i]
    _accumulate_tile(X, colmajor, t0, count, zt, partials, k, next_count)
    return r_sum, loss_sum


@njit(**REDUCTION_OPTIONS)
def _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """Block k: partials[k] = [Σ r_i x_i (n values), Σ r_i, Σ loss_i] (LOSS_GRAD), or
    [Σ d_i z_i x_i, Σ d_i z_i, 0] (HESSP, z_i = x_i·u + u0).  See example_terms."""
    m = _n_rows(X, colmajor)
    n = u.shape[0]
    partials[k, :] = 0.0
    zt = z[k, :tile]  # margins, then residuals
    losses = z[k, tile:]
    r_total = 0.0
    loss_total = 0.0
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        count = min(tile, stop - t0)
        r_sum, loss_sum = _evaluate_tile(
            X, colmajor, t0, count, u, u0, mode, y, s, d, zt, losses, partials, k,
            min(tile, stop - t0 - count),
        )
        r_total += r_sum
        loss_total += loss_sum
    partials[k, n] = r_total
    partials[k, n + 1] = loss_total


@njit(**_PARALLEL_OPTIONS)
def pass_parallel(X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """One parallel pass over X; see _pass_block for ``mode``.  Results in partials."""
    for k in prange(partials.shape[0]):
        _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials)


@njit(**REDUCTION_OPTIONS)
def pass_serial(X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials):
    """The serial twin of pass_parallel (same blocks, same bits)."""
    for k in range(partials.shape[0]):
        _pass_block(k, X, colmajor, u, u0, mode, y, s, d, tile, block_rows, z, partials)


# --- the Gram matrix, for few features ----------------------------------------------
# For a few features BLAS multiplies small matrices slowly (4e6 x 10: XᵀX through
# NumPy runs at 15 GFLOP/s on one core), so the Newton step's Gram matrix is built
# here, in the same parallel blocks and tiles as a pass: each block accumulates its
# own (n + 1)² matrix, so Problem uses this for small n only (_config).


@njit(**dict(JIT_OPTIONS, inline="always"))
def gram_register_rows(n, colmajor):
    """Row-major rows of n features whose Gram update _llvm.gram_rows keeps in
    registers: the Gram pass takes the register kernels' long tiles for them
    (_config.REGISTER_ROW_TILE_ROWS, see gram_plan) and, fused, lets their sweeps
    prefetch the next tile.  Other tiles
    are transposed into a scratch, which should stay small, and are not prefetched:
    the transposition reads the tile from cache.  Measured in one process, 11 rounds,
    AMD EPYC Zen 5 (the loss + gradient + Gram pass with gram_rows, these tiles and
    prefetch ÷ 128-row tiles without): 4e6 x 10 float64 0.875, float32 0.95; 2e6 x 15
    1.00 and 0.77; 1e6 x 5 1.01 and 0.93."""
    return not colmajor and gram_rows_handles(n)


@njit(**dict(JIT_OPTIONS, inline="always"))
def gram_transposes_tiles(n, colmajor):
    """Whether _gram_tile transposes X's tiles into its scratch: row-major rows that
    _llvm.gram_rows does not take (Problem allocates the scratch for those only)."""
    return not colmajor and not gram_register_rows(n, colmajor)


@njit(**JIT_OPTIONS)
def gram_plan(m, n, itemsize, colmajor):
    """plan for the Gram pass: at most _config.GRAM_MAX_BLOCKS blocks (each keeps an
    (n + 1)² matrix), long tiles where gram_register_rows."""
    return plan_blocks(m, n, itemsize, colmajor, _config.GRAM_MAX_BLOCKS, True)


@njit(**REDUCTION_OPTIONS)
def _gram_tile(X, colmajor, t0, count, d, xt, G):
    """G[j, k] += Σ_i d_i x_ij x_ik over the tile, for k >= j (the upper triangle), and
    the intercept's row G[j, n] += Σ_i d_i x_ij, G[n, n] += Σ_i d_i.  Short row-major
    rows go through _llvm.gram_rows (G's sums in registers; measured in one process,
    11 rounds, AMD EPYC Zen 5, with gram_register_rows' tiles, the loss + gradient +
    Gram pass took 0.47-0.51 of the time of the transposed tiles on 4e6 x 10 and
    2e6 x 15, 0.62-0.66 on 1e6 x 5, with _gram_features' updates as they were before
    its 4 x 4 blocks).  Other row-major tiles are first transposed into xt: for a few
    features, a row of G per feature of a transposed tile was 4x faster than updating
    G row by row in numba's loops (measured on 4e6 x 10)."""
    if colmajor:
        _gram_features(X, t0, count, d, t0, G)
    elif gram_rows(X, t0, count, d, G):  # short rows: G's sums in registers
        G[X.shape[1], X.shape[1]] += _weight_sum(d, t0, count)
    else:
        # feature by feature: contiguous stores into xt, the tile's rows read with a
        # stride from cache.  Row by row instead, LLVM vectorises the stores into xt as
        # scatters: in cache, 128 x 100 tiles, 3.6 (float64) and 5.6 (float32) ns per
        # element against 0.28 and 0.29 (AMD EPYC Zen 5).  The same bits; in one process,
        # 7 rounds, time with ÷ without: the loss + gradient + Gram pass on 1e6 x 100 C
        # 0.48 (float64) and 0.42 (float32), 1e6 x 40 0.83-0.855, 1e6 x 20 0.93; the Gram
        # pass alone on 1e6 x 100 387 -> 207 ms; LogisticRegression.fit with
        # Newton-Cholesky, 1e6 x 100 C float64, 3 iterations: 1737 -> 688 ms.  Tiles of
        # 512 rows instead of 128 gained nothing (0.98-1.02).
        n = X.shape[1]
        for j in range(n):
            for i in range(count):
                xt[j, i] = X[_at(t0, i), j]
        _gram_features(xt, 0, count, d, t0, G)


@njit(**REDUCTION_OPTIONS)
def _gram_features(A, a0, count, d, d0, G):
    """_gram_tile's update, from A: one feature per row (X.T, or a transposed tile),
    examples a0 .. a0+count; their Hessian weights are d[d0 .. d0+count].  The upper
    triangle goes in blocks of 4 x 4 features (_gram_block_4x4), each one sweep over
    the tile that reads its 8 features' segments once for 16 multiply-adds per
    example.  Against the rows of G one at a time (per feature j, d_i x_ij into a
    scratch, then an update like the gradient's over features j .. n: two loads per
    multiply-add, and single-feature sweeps for the last few), measured in one
    process, 9 rounds, AMD EPYC Zen 5, the loss + gradient + Gram pass, time with ÷
    without: column-major 4e6 x 10 float64 0.80, float32 0.82-0.87, 2e6 x 15 0.68-0.75
    and 0.75-0.82, 1e6 x 40 0.58-0.59 and 0.68-0.73 (compiled for AVX2 instead, numba's
    target znver2: 0.58 to 0.88); row-major 1e6 x 40 and 1e6 x 20 (transposed tiles)
    0.79 to 1.10, mostly 0.85-0.93.  LogisticRegression.fit with Newton-Cholesky on
    column-major X, 3 iterations: 4e6 x 10 float64 82.1 -> 58.8 ms (row-major: 55 ms),
    float32 69.7 -> 56.6 ms; 2e6 x 15 71.8 -> 46.9 ms."""
    n = G.shape[0] - 1
    for j0 in range(0, n, 4):
        for k0 in range(j0, n, 4):
            _gram_block_4x4(A, a0, count, d, d0, j0, k0, G)
    G[n, n] += _weight_sum(d, d0, count)


@njit(**dict(JIT_OPTIONS, inline="always"))
def _feature_in_block(j, n):
    """Feature j of a block of 4, or the last feature n - 1 past the end: a block at the
    end of the features reads that one again (from cache) instead of a loop of its own
    for fewer than 4, and its sums there are dropped."""
    return min(j, n - 1)


@njit(**REDUCTION_OPTIONS)
def _gram_block_4x4(A, a0, count, d, d0, j0, k0, G):
    """G[j, k] += Σ_i d_i A[j, a0 + i] A[k, a0 + i] for features j0 <= j < j0 + 4 and
    k0 <= k < k0 + 4 (k0 >= j0) on or above the diagonal and below n, plus the
    intercept's column G[j, n] += Σ_i d_i A[j, a0 + i] for a diagonal block (k0 = j0).
    The 16 sums and 4 cross sums stay in vector registers across the sweep."""
    n = G.shape[0] - 1
    j_0, j_1, j_2, j_3 = j0, _feature_in_block(j0 + 1, n), _feature_in_block(j0 + 2, n), \
        _feature_in_block(j0 + 3, n)
    k_0, k_1, k_2, k_3 = k0, _feature_in_block(k0 + 1, n), _feature_in_block(k0 + 2, n), \
        _feature_in_block(k0 + 3, n)
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(count):
        a = _at(a0, i)
        di = d[_at(d0, i)]
        x0, x1, x2, x3 = di * A[j_0, a], di * A[j_1, a], di * A[j_2, a], di * A[j_3, a]
        y0, y1, y2, y3 = A[k_0, a], A[k_1, a], A[k_2, a], A[k_3, a]
        c0 += x0
        c1 += x1
        c2 += x2
        c3 += x3
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    sums = ((s00, s01, s02, s03), (s10, s11, s12, s13), (s20, s21, s22, s23), (s30, s31, s32, s33))
    cross = (c0, c1, c2, c3)
    for t in range(min(4, n - j0)):
        j = j0 + t
        if k0 == j0:
            G[j, n] += cross[t]
        for v in range(max(0, j - k0), min(4, n - k0)):
            G[j, k0 + v] += sums[t][v]


@njit(**dict(REDUCTION_OPTIONS, inline="always"))
def _weight_sum(d, d0, count):
    """Σ d[d0 + i] for i < count: the intercept's entry of a tile's Gram matrix."""
    total = 0.0
    for i in range(count):
        total += d[_at(d0, i)]
    return total


@njit(**REDUCTION_OPTIONS)
def _gram_block(k, X, colmajor, u, u0, fused, y, s, d, tile, block_rows, z, partials, grams, xt):
    """Block k: grams[k] = the upper triangle of Σ d_i [x_i, 1]ᵀ[x_i, 1] over the block
    (xt[k]: a scratch of (n, tile) float64 for the row-major tiles that _llvm.gram_rows
    does not take, empty otherwise; see _gram_tile).
    With ``fused``, first the LOSS_GRAD pass's work on each tile (partials[k], and d
    written), so that X is read from memory once for the gradient and the Gram matrix."""
    m = _n_rows(X, colmajor)
    n = u.shape[0]
    partials[k, :] = 0.0
    G = grams[k]
    G[:, :] = 0.0
    xt_k = xt[k]  # scratch for a transposed row-major tile (empty if none is transposed)
    zt = z[k, :tile]
    losses = z[k, tile:]
    r_total = 0.0
    loss_total = 0.0
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        count = min(tile, stop - t0)
        if fused:
            r_sum, loss_sum = _evaluate_tile(
                X, colmajor, t0, count, u, u0, LOSS_GRAD, y, s, d, zt, losses, partials, k,
                min(tile, stop - t0 - count) if gram_register_rows(n, colmajor) else 0,
            )
            r_total += r_sum
            loss_total += loss_sum
        _gram_tile(X, colmajor, t0, count, d, xt_k, G)
    partials[k, n] = r_total
    partials[k, n + 1] = loss_total


@njit(**_PARALLEL_OPTIONS)
def gram_parallel(X, colmajor, u, u0, fused, y, s, d, tile, block_rows, z, partials, grams, xt):
    """Per-block Gram matrices (and, fused, the LOSS_GRAD partials) in one parallel pass."""
    for k in prange(partials.shape[0]):
        _gram_block(k, X, colmajor, u, u0, fused, y, s, d, tile, block_rows, z, partials, grams, xt)


@njit(**REDUCTION_OPTIONS)
def gram_serial(X, colmajor, u, u0, fused, y, s, d, tile, block_rows, z, partials, grams, xt):
    """The serial twin of gram_parallel (same blocks, same bits)."""
    for k in range(partials.shape[0]):
        _gram_block(k, X, colmajor, u, u0, fused, y, s, d, tile, block_rows, z, partials, grams, xt)


@njit(**JIT_OPTIONS)
def merge_grams(grams, out):
    """out = the sum of the blocks' upper triangles, added in block order, mirrored."""
    size = out.shape[0]
    out[:, :] = 0.0
    for k in range(grams.shape[0]):
        for j in range(size):
            for i in range(j, size):
                out[j, i] += grams[k, j, i]
    for j in range(size):
        for i in range(j + 1, size):
            out[i, j] = out[j, i]


# --- predictions --------------------------------------------------------------------

@njit(**REDUCTION_OPTIONS)
def _margins_block(k, X, colmajor, w, b, tile, block_rows, out, apply_sigmoid):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    stop = min(start + block_rows, m)
    for t0 in range(start, stop, tile):
        count = min(tile, stop - t0)
        _margins_tile(X, colmajor, t0, count, w, b, out, t0, 0)
        if apply_sigmoid:
            _sigmoid_tile(out, t0, count)


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
def _read_chunk(flat, start, count):
    acc = 0.0
    for i in range(count):
        acc += flat[_at(start, i)]
    return acc


@njit(**_PARALLEL_OPTIONS)
def read_pass_parallel(X, partials):
    """Read every element of the C-contiguous X once, as one run of memory cut into
    len(partials) chunks read in parallel (the fastest read); return their sum."""
    flat = X.reshape(-1)
    n_chunks = partials.shape[0]
    chunk = (flat.shape[0] + n_chunks - 1) // n_chunks
    for k in prange(n_chunks):
        start = min(k * chunk, flat.shape[0])
        partials[k, 0] = _read_chunk(flat, start, min(chunk, flat.shape[0] - start))
    return partials[:, 0].sum()


@njit(**JIT_OPTIONS)
def _count_nonfinite_block(k, X, colmajor, block_rows, counts):
    m = _n_rows(X, colmajor)
    start = k * block_rows
    count = min(start + block_rows, m) - start
    bad = 0
    if colmajor:
        for j in range(X.shape[0]):
            for i in range(count):
                bad += not math.isfinite(X[j, _at(start, i)])
    else:
        for i in range(count):
            row = _at(start, i)
            for j in range(X.shape[1]):
                bad += not math.isfinite(X[row, j])
    counts[k] = bad


@njit(**JIT_OPTIONS)
def count_outside(v, low, high):
    """How many entries of the vector v are NaN, infinite, or outside [low, high]:
    one vectorised pass, no temporaries (the validation of y and of sample weights)."""
    bad = 0
    for i in range(v.shape[0]):
        x = v[i]
        bad += (not math.isfinite(x)) | (x < low) | (x > high)
    return bad


@njit(**JIT_OPTIONS)
def two_class_codes(y, out):
    """If the vector y (length >= 1) holds exactly two distinct values: out[i] = 1
    where y[i] is the larger, 0 where it is the smaller, and (True, smaller, larger)
    is returned; otherwise (False, y[0], y[0]) and out is left undefined.  A NaN is
    distinct from every value.  One pass after the first value that differs from
    y[0], branch-free (vectorised), no temporaries: the encoding of binary labels."""
    first = y[0]
    k = 1
    while k < y.shape[0] and y[k] == first:
        k += 1
    if k == y.shape[0]:
        return False, first, first
    low, high = (first, y[k]) if first < y[k] else (y[k], first)
    others = 0
    for i in range(y.shape[0]):
        v = y[i]
        is_high = v == high
        others += (not is_high) & (v != low)
        out[i] = 1 if is_high else 0
    return others == 0, low, high


@njit(**JIT_OPTIONS)
def label_codes(y, out):
    """out[i] = y[i] (integer labels narrowed to uint8); returns how many y[i] are not
    0 or 1 (out then holds wrapped values and is not to be used).  One pass, no
    temporaries: a check and then astype were two."""
    bad = 0
    for i in range(y.shape[0]):
        v = y[i]
        bad += (v < 0) | (v > 1)
        out[i] = v
    return bad


@njit(**dict(JIT_OPTIONS, parallel=True))
def label_codes_parallel(y, out):
    """label_codes in 64 chunks, in parallel (a count: the same for any thread count)."""
    chunk = (y.shape[0] + 63) // 64
    bad = 0
    for c in prange(64):
        bad += label_codes(y[c * chunk:(c + 1) * chunk], out[c * chunk:(c + 1) * chunk])
    return bad


@njit(**dict(JIT_OPTIONS, parallel=True))
def count_outside_parallel(v, low, high):
    """count_outside in 64 chunks, in parallel (a count: the same for any thread count)."""
    chunk = (v.shape[0] + 63) // 64
    bad = 0
    for c in prange(64):
        bad += count_outside(v[c * chunk:(c + 1) * chunk], low, high)
    return bad


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
