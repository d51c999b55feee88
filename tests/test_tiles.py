"""The kernels' tiling: blocks of several tiles, for either memory order, give the
reference sums (the gradient update of each column-major tile also prefetches the next
one: a prefetch must never change a result, nor the array)."""

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
@pytest.mark.parametrize("n", [3, 13, 29])  # 8-, 4- and 1-feature steps of X.T's loops
def test_blocks_of_several_tiles_match_the_reference(n, dtype, order):
    rng = np.random.default_rng(11)
    m = 1500
    X = np.asarray(rng.standard_normal((m, n)), dtype=dtype, order=order)
    y = (rng.random(m) < 0.5).astype(np.float64)
    w = rng.standard_normal(n)
    colmajor = order == "F"
    # two blocks of 750 rows, each of 11 tiles of 64 rows and a last one of 46 (the
    # planner gives X this small one tile per block)
    tile, block_rows, n_blocks = 64, 750, 2
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
    itemsize = np.dtype(dtype).itemsize
    tiny_n = _config.TINY_ROW_BYTES // itemsize  # the longest "tiny" row
    tiny = _kernels.plan_blocks(10**6, tiny_n, itemsize, False, 128, True)[0]
    gram = _kernels.plan_blocks(10**6, tiny_n, itemsize, False, 32, False)[0]
    longer = _kernels.plan_blocks(10**6, tiny_n + 1, itemsize, False, 128, True)[0]
    assert tiny == _config.TINY_ROW_TILE_ROWS
    assert gram == longer == _config.ROWMAJOR_TILE_ROWS
    # a Hessian-vector pass over tiny rows: shorter tiles over the same blocks
    hessp = _kernels.hessp_tile(tiny, tiny_n, itemsize, False)
    assert hessp == _config.TINY_ROW_HESSP_TILE_ROWS and tiny % hessp == 0
    assert _kernels.hessp_tile(longer, tiny_n + 1, itemsize, False) == longer
    assert _kernels.hessp_tile(2048, tiny_n, itemsize, True) == 2048
    # column-major X has its own tiles, whatever its row length
    assert _kernels.plan_blocks(10**6, tiny_n, itemsize, True, 128, True)[0] == \
        _config.MAX_TILE_ROWS_COLMAJOR


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hessp_over_tiny_rows_matches_the_dense_formula(dtype):
    # 3 features: tiny rows, so H·v runs with shorter tiles than the gradient pass
    rng = np.random.default_rng(3)
    m, n = 3000, 3
    X = rng.standard_normal((m, n)).astype(dtype)
    y = (rng.random(m) < 0.5).astype(np.float64)
    problem = Problem(X, y)
    assert problem._hessp_tile < problem._tile
    d = rng.random(m)
    v, vb = rng.standard_normal(n), 0.4
    X64 = X.astype(np.float64)
    dz = d * (X64 @ v + vb)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(problem.hessp_sums(d, v, vb), np.append(X64.T @ dz, dz.sum()), rtol=rtol)
