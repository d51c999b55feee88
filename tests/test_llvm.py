"""The LLVM-level kernels of fastlogreg._llvm, against NumPy: every vector count of a
row (full and partial last vector), odd and partial row counts, and no read past the
last row of X (the masked loads stop at its end)."""

import ctypes
import mmap
import sys

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose

from fastlogreg import _config
from fastlogreg._llvm import accumulate_rows, margins_rows

FEATURES = [1, 2, 7, 8, 9, 10, 16, 17, 31, 32, 33, 64, 100]


@njit
def _accumulate(X, t0, count, r, out, o):
    accumulate_rows(X, t0, count, r, out, o)


@njit
def _margins(X, t0, count, u, u0, out, out_start):
    margins_rows(X, t0, count, u, u0, out, out_start)


def _rtol(dtype):
    return 1e-13 if dtype == np.float64 else 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", FEATURES)
def test_accumulate_rows_adds_the_weighted_row_sum(dtype, n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    before = X.copy()
    for t0, count in ((0, 0), (3, 1), (3, 8), (5, 63), (0, 80)):
        r = rng.standard_normal(count + 2)
        out = rng.standard_normal((3, n + 2))
        expected = out.copy()
        expected[1, :n] += r[:count] @ X[t0:t0 + count].astype(np.float64)
        _accumulate(X, t0, count, r, out, 1)
        assert_allclose(out, expected, rtol=_rtol(dtype), atol=1e-12)
        # the rest of out (the other rows, the two entries after n) is untouched
        assert (out[[0, 2]] == expected[[0, 2]]).all() and (out[1, n:] == expected[1, n:]).all()
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [f for f in FEATURES if f <= _config.REGISTER_ROW_MAX_FEATURES])
def test_margins_rows_writes_the_margins_and_nothing_else(dtype, n):
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    u = rng.standard_normal(n)
    for t0, count in ((0, 0), (3, 1), (3, 7), (3, 8), (5, 9), (0, 80)):
        out = rng.standard_normal(count + 20)
        expected = out.copy()
        expected[6:6 + count] = X[t0:t0 + count].astype(np.float64) @ u - 0.5
        _margins(X, t0, count, u, -0.5, out, 6)
        assert_allclose(out, expected, rtol=_rtol(dtype), atol=1e-12)
        assert (out[:6] == expected[:6]).all() and (out[6 + count:] == expected[6 + count:]).all()


def _array_ending_at_a_guard_page(shape, dtype):
    """An array whose last byte is the last byte before a page that may not be read."""
    page = mmap.PAGESIZE
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    size = (nbytes // page + 2) * page
    buffer = mmap.mmap(-1, size)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(ctypes.c_void_p(base + size - page), page, 0) != 0:  # PROT_NONE
        pytest.skip("mprotect failed")
    offset = size - page - nbytes
    return np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape)), offset=offset).reshape(shape), buffer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="guard page through Linux mprotect")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [3, 10, 31])
def test_no_read_past_the_last_row(dtype, n):
    # a read past X's end would touch the guard page and crash the process
    X, buffer = _array_ending_at_a_guard_page((21, n), dtype)
    X[:] = np.arange(21 * n).reshape(21, n) % 7
    u = np.ones(n)
    out = np.empty(21)
    _margins(X, 0, 21, u, 0.0, out, 0)
    assert_allclose(out, X.sum(axis=1))
    grad = np.zeros((1, n + 2))
    _accumulate(X, 0, 21, np.ones(21), grad, 0)
    assert_allclose(grad[0, :n], X.sum(axis=0))
    del X
    buffer.close()
