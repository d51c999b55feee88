"""The kernels' tiling: blocks of several tiles, for either memory order, give the
reference sums (the sweeps over a column-major tile or a tile of long row-major rows
also prefetch the next one: a prefetch must never change a result, nor the array)."""

import numpy as np
import pytest
import reference
from numba import njit
from numpy.testing import assert_allclose

from fastlogreg import _config, _kernels
from fastlogreg._llvm import prefetch_to_l2
from fastlogreg._problem import Problem


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
# 3, 13, 29: the 8-, 4- and 1-feature steps of X.T's loops (and row-major rows for the
# register kernels); 45: row-major rows for numba's loops, with the next tile prefetched;
# 1000: rows of 4000 or 8000 bytes, whose next tile goes in pieces on some CPUs
# (_kernels._spread_rows; tested on any CPU below)
@pytest.mark.parametrize("n", [3, 13, 29, 45, 1000])
# two blocks of 750 rows, each of tiles of 63 rows (odd: a row-major update's last
# row goes alone) and a last one of 57 (the planner gives X this small one tile per
# block), or of 2 or 3 rows (the planner's smallest, for very long rows on some CPUs:
# see _config)
@pytest.mark.parametrize("tile", [2, 3, 63])
def test_blocks_of_several_tiles_match_the_reference(n, dtype, order, tile):
    rng = np.random.default_rng(11)
    m = 1500
    X = np.asarray(rng.standard_normal((m, n)), dtype=dtype, order=order)
    y = (rng.random(m) < 0.5).astype(np.float64)
    w = rng.standard_normal(n)
    colmajor = order == "F"
    block_rows, n_blocks = 750, 2
    z, partials = _kernels.allocate_workspace(n, n_blocks, tile)
    data = X.T if colmajor else X
    before = X.copy()
    _kernels.pass_serial(data, colmajor, w, 0.3, _kernels.LOSS_GRAD, y, np.empty(0), np.empty(0),
                         tile, block_rows, z, partials)
    sums = np.empty(n + 2)
    _kernels.merge_partials(partials, sums)
    J, dw, db = reference.cost_and_gradient(X.astype(np.float64), y, w, 0.3, np.ones(m))
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(sums[n + 1] / m, J, rtol=rtol)
    assert_allclose(sums[:n] / m, dw, rtol=rtol * 10, atol=rtol * 1e-2)
    assert_allclose(sums[n] / m, db, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("count", [1, 2, 3, 4])  # pairs of rows, and a last row alone
@pytest.mark.parametrize("next_count", [0, 1, 4])  # no next tile, part of one, a whole one
def test_sweeps_with_spread_prefetches_give_the_plain_sums(dtype, count, next_count):
    # Called directly, so that they are tested on any CPU (the passes use them only
    # where _config.ROWMAJOR_SPREAD_PREFETCH is on: Intel).  1000 features: several pieces
    # of the row and a partial last one, for either dtype.
    rng = np.random.default_rng(5)
    n, t0 = 1000, 3
    X = rng.standard_normal((12, n)).astype(dtype)
    before = X.copy()
    u = rng.standard_normal(n)
    margins = np.zeros(8)
    _kernels._margins_rowmajor_spread(X, t0, count, u, 0.25, margins, 1, next_count)
    rows = X[t0:t0 + count].astype(np.float64)
    assert_allclose(margins[1:1 + count], rows @ u + 0.25, rtol=1e-12, atol=1e-12)
    assert not margins[0] and not margins[1 + count:].any()

    r = rng.standard_normal(count)
    sums = np.zeros((2, n + 2))
    sums[1, :n] = 1.0  # the update adds to what is there
    _kernels._accumulate_rowmajor_spread(X, t0, count, r, sums, 1, next_count)
    assert_allclose(sums[1, :n], 1.0 + r @ rows, rtol=1e-12, atol=1e-12)
    assert not sums[0].any() and not sums[1, n:].any()
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [3, 10, 29])
# within one piece of rows, exactly one, one and a row, several and a part
@pytest.mark.parametrize("count", [5, 32, 33, 70])
@pytest.mark.parametrize("next_count", [0, 9, 70])
def test_short_row_sweeps_in_pieces_give_the_plain_sums(dtype, n, count, next_count):
    # As above, for the register kernels' rows swept in pieces (_register_rows_prefetched).
    rng = np.random.default_rng(n + count)
    t0 = 4
    X = rng.standard_normal((t0 + count + 70, n)).astype(dtype)
    before = X.copy()
    u = rng.standard_normal(n)
    margins = np.zeros(count + 2)
    _kernels._margins_register_pieces(X, t0, count, u, -0.5, margins, 1, next_count)
    rows = X[t0:t0 + count].astype(np.float64)
    assert_allclose(margins[1:1 + count], rows @ u - 0.5, rtol=1e-12, atol=1e-12)
    assert not margins[0] and not margins[1 + count]

    r = rng.standard_normal(count)
    sums = np.zeros((2, n + 2))
    sums[1, :n] = 1.0
    _kernels._accumulate_register_pieces(X, t0, count, r, sums, 1, next_count)
    assert_allclose(sums[1, :n], 1.0 + r @ rows, rtol=1e-12, atol=1e-12)
    assert not sums[0].any() and not sums[1, n:].any()
    np.testing.assert_array_equal(X, before)


@njit
def _prefetch_every_segment(A, count):
    for row in range(A.shape[0]):
        for col in range(0, A.shape[1] - count + 1):
            prefetch_to_l2(A, row, col, count)
    prefetch_to_l2(A, 0, 0, 0)  # nothing to fetch


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_prefetch_leaves_the_array_as_it_was(dtype):
    A = np.arange(3 * 37, dtype=dtype).reshape(3, 37)
    before = A.copy()
    for count in (1, 5, 37):
        _prefetch_every_segment(A, count)
    np.testing.assert_array_equal(A, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tile_rows_follow_the_row_length(dtype):
    # the tile sizes depend on the CPU (see _config); the rules hold on every one
    itemsize = np.dtype(dtype).itemsize
    m = 10**6

    def tile(n, colmajor=False, max_blocks=128, gram=False):
        return _kernels.plan_blocks(m, n, itemsize, colmajor, max_blocks, gram)[0]

    short_n = _config.REGISTER_ROW_MAX_FEATURES  # the longest row of the register kernels
    assert tile(short_n) == _config.REGISTER_ROW_TILE_ROWS
    # rows for numba's loops, and the Gram pass's transposed tiles: as many rows as
    # the byte budget holds, within the row limits (the pass's by dtype, the Gram
    # pass's own)
    pass_cap = _config.ROWMAJOR_TILE_ROWS_FLOAT32 if itemsize == 4 else _config.ROWMAJOR_TILE_ROWS_FLOAT64

    def within_budget(n, cap):
        budget_rows = _config.ROWMAJOR_MAX_TILE_BYTES // (n * itemsize)
        return max(_config.MIN_TILE_ROWS_ROWMAJOR, min(budget_rows, cap))

    for gram, cap in [(False, pass_cap), (True, _config.GRAM_ROWMAJOR_TILE_ROWS)]:
        assert _kernels.rowmajor_tile_rows(itemsize, gram) == cap
        for n in (short_n + 1, 100, 5000):
            assert _config.MIN_TILE_ROWS_ROWMAJOR <= tile(n, gram=gram) == within_budget(n, cap) <= cap
    # short rows in the Gram pass: the register kernels' long tiles where gram_rows
    # keeps its sums in registers, else transposed tiles
    for n in range(1, short_n + 1):
        if _kernels.gram_register_rows(n, False):
            assert tile(n, gram=True) == _config.REGISTER_ROW_TILE_ROWS
        else:
            assert tile(n, gram=True) == within_budget(n, _config.GRAM_ROWMAJOR_TILE_ROWS)
    assert tile(100) >= tile(5000)
    # column-major X has its own tiles, whatever its row length: the byte budget's
    # rows, or the floor's, whichever is more
    floor_rows = (
        _config.COLMAJOR_FLOOR_ROWS_FLOAT32 if itemsize == 4 else _config.COLMAJOR_FLOOR_ROWS_FLOAT64
    )
    for n in (1, short_n, 100, 1000, 2000, 5000, 10**5):
        rows = tile(n, colmajor=True)
        assert _config.MIN_TILE_ROWS_COLMAJOR <= rows <= _config.MAX_TILE_ROWS_COLMAJOR
        floor = max(_config.MIN_TILE_ROWS_COLMAJOR,
                    min(floor_rows, _config.COLMAJOR_FLOOR_MAX_BYTES // (n * itemsize)))
        assert rows == max(floor, min(_config.COLMAJOR_TILE_BYTES // (n * itemsize),
                                      _config.MAX_TILE_ROWS_COLMAJOR))
        # the floor lifts a tile beyond the byte budget only up to its own cap
        assert rows * n * itemsize <= max(_config.COLMAJOR_TILE_BYTES, _config.COLMAJOR_FLOOR_MAX_BYTES) \
            or rows == _config.MIN_TILE_ROWS_COLMAJOR
    assert tile(1, colmajor=True) == _config.MAX_TILE_ROWS_COLMAJOR
    assert tile(10**5, colmajor=True) == _config.MIN_TILE_ROWS_COLMAJOR


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 8, 10, 17, 32, 33])
def test_passes_over_short_rows_match_the_dense_formulas(dtype, n):
    # the register kernels (n <= 32: every vector count, full and partial) and, at 33,
    # numba's loops; 3001 rows: a partial tile and a partial block of eight rows
    rng = np.random.default_rng(3)
    m = 3001
    X = rng.standard_normal((m, n)).astype(dtype)
    y = (rng.random(m) < 0.5).astype(np.float64)
    problem = Problem(X, y)
    X64 = X.astype(np.float64)
    w, b = rng.standard_normal(n) * 0.3, -0.2
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    z = X64 @ w + b
    loss, grad = problem.loss_grad_sums(w, b)
    residual = 1.0 / (1.0 + np.exp(-z)) - y
    assert_allclose(loss, np.sum(np.logaddexp(0.0, z) - y * z), rtol=rtol)
    assert_allclose(grad, np.append(X64.T @ residual, residual.sum()), rtol=rtol, atol=1e-9)
    d = rng.random(m)
    v, vb = rng.standard_normal(n), 0.4
    dz = d * (X64 @ v + vb)
    assert_allclose(problem.hessp_sums(d, v, vb), np.append(X64.T @ dz, dz.sum()), rtol=rtol, atol=1e-9)
    margins = np.empty(m)
    assert_allclose(problem.margins(w, b, margins), z, rtol=rtol, atol=1e-12)
