"""The LLVM-level kernels of fastlogreg._llvm, against NumPy: every vector count of a
row (full and partial last vector), odd and partial row counts, and no read past the
last row of X (the masked loads stop at its end).  Both vector widths (4 and 8 float64
lanes) on any CPU: LLVM lowers 8-lane vectors to narrower registers where the CPU
has no AVX-512."""

import ctypes
import mmap
import platform
import sys

import numpy as np
import pytest
from numba import njit, types
from numpy.testing import assert_allclose

from fastlogreg import _config, _llvm
from fastlogreg._llvm import accumulate_rows, gram_rows, hessp_rows, margins_rows, prefer_512_bit_vectors
from fastlogreg._math import log1pexp, sigmoid

FEATURES = [1, 2, 7, 8, 9, 10, 16, 17, 31, 32, 33, 64, 100]


def _kernel_wrappers():
    """Callers of the three kernels, compiled afresh (numba compiles an intrinsic's code
    into each caller, when the caller is first called)."""

    @njit
    def accumulate(X, t0, count, r, out, o, r_first=0):
        accumulate_rows(X, t0, count, r, r_first, out, o)

    @njit
    def margins(X, t0, count, u, u0, out, out_start):
        margins_rows(X, t0, count, u, u0, out, out_start)

    @njit
    def hessp(X, t0, count, u, u0, d, out, o):
        return hessp_rows(X, t0, count, u, u0, d, out, o)

    return accumulate, margins, hessp


_WRAPPERS = {}


_WIDTHS = {
    "4 lanes": (4, {}),
    "8 lanes": (8, {}),
    # as on AMD's AVX-512 CPUs (_config): short rows in 4 lanes, the others in 8
    "8 lanes, short rows in 4": (8, {"float32": 16, "float64": 10}),
}


@pytest.fixture(params=list(_WIDTHS))
def kernels(request, monkeypatch):
    """(accumulate, margins, hessp) built for vectors of 4 or 8 float64 lanes, whatever the
    CPU's own width (_llvm.vector_lanes), and with 4-lane code for short rows or not
    (_llvm.row_widths)."""
    lanes, short_rows = _WIDTHS[request.param]
    monkeypatch.setattr(_llvm, "vector_lanes", lambda context: lanes)
    monkeypatch.setattr(_config, "REGISTER_ROW_256_BIT_MAX_FEATURES", short_rows)
    if request.param not in _WRAPPERS:
        _WRAPPERS[request.param] = _kernel_wrappers()
    return _WRAPPERS[request.param]


def _rtol(dtype):
    return 1e-13 if dtype == np.float64 else 1e-6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", FEATURES)
def test_accumulate_rows_adds_the_weighted_row_sum(kernels, dtype, n):
    _accumulate, _, _ = kernels
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    before = X.copy()
    # r_first: the weights of the rows start there in r (0, or further in, as for a
    # piece of a tile)
    for t0, count, r_first in ((0, 0, 0), (3, 1, 0), (3, 8, 0), (5, 63, 0), (0, 80, 0), (3, 1, 2),
                               (5, 63, 7), (0, 80, 1)):
        r = rng.standard_normal(count + 9)
        out = rng.standard_normal((3, n + 2))
        expected = out.copy()
        expected[1, :n] += r[r_first:r_first + count] @ X[t0:t0 + count].astype(np.float64)
        _accumulate(X, t0, count, r, out, 1, r_first)
        assert_allclose(out, expected, rtol=_rtol(dtype), atol=1e-12)
        # the rest of out (the other rows, the two entries after n) is untouched
        assert (out[[0, 2]] == expected[[0, 2]]).all() and (out[1, n:] == expected[1, n:]).all()
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [f for f in FEATURES if f <= _config.REGISTER_ROW_MAX_FEATURES])
def test_margins_rows_writes_the_margins_and_nothing_else(kernels, dtype, n):
    _, _margins, _ = kernels
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    u = rng.standard_normal(n)
    for t0, count in ((0, 0), (3, 1), (3, 3), (3, 4), (3, 7), (3, 8), (5, 9), (0, 80)):
        out = rng.standard_normal(count + 20)
        expected = out.copy()
        expected[6:6 + count] = X[t0:t0 + count].astype(np.float64) @ u - 0.5
        _margins(X, t0, count, u, -0.5, out, 6)
        assert_allclose(out, expected, rtol=_rtol(dtype), atol=1e-12)
        assert (out[:6] == expected[:6]).all() and (out[6 + count:] == expected[6 + count:]).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [f for f in FEATURES if f <= _config.REGISTER_ROW_MAX_FEATURES])
def test_hessp_rows_adds_the_hessian_vector_product(kernels, dtype, n):
    *_, _hessp = kernels
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    before = X.copy()
    u = rng.standard_normal(n)
    d = rng.random(80)
    for t0, count in ((0, 0), (3, 1), (3, 7), (3, 8), (5, 9), (5, 63), (0, 80)):
        rows = X[t0:t0 + count].astype(np.float64)
        t = (rows @ u - 0.5) * d[t0:t0 + count]
        out = rng.standard_normal((3, n + 2))
        expected = out.copy()
        expected[1, :n] += t @ rows
        total = _hessp(X, t0, count, u, -0.5, d, out, 1)
        assert_allclose(out, expected, rtol=_rtol(dtype), atol=1e-12)
        assert_allclose(total, t.sum(), rtol=_rtol(dtype), atol=1e-12)
        # the rest of out (the other rows, the two entries after n) is untouched
        assert (out[[0, 2]] == expected[[0, 2]]).all() and (out[1, n:] == expected[1, n:]).all()
    np.testing.assert_array_equal(X, before)


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
def test_no_read_past_the_last_row(kernels, dtype, n):
    _accumulate, _margins, _hessp = kernels
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
    d, d_buffer = _array_ending_at_a_guard_page((21,), np.float64)  # hessp_rows' weights
    d[:] = 1.0
    hv = np.zeros((1, n + 2))
    total = _hessp(X, 0, 21, u, 0.0, d, hv, 0)
    assert_allclose(hv[0, :n], X.sum(axis=1) @ X)
    assert_allclose(total, X.sum())
    del X, d
    buffer.close()
    d_buffer.close()


_GRAM_WRAPPERS = {}


@pytest.fixture(params=[4, 8])
def gram_kernel(request, monkeypatch):
    """(lanes, a caller of gram_rows built for vectors of that many float64 lanes)."""
    lanes = request.param
    monkeypatch.setattr(_llvm, "vector_lanes", lambda context: lanes)
    if lanes not in _GRAM_WRAPPERS:

        @njit
        def gram(X, t0, count, d, G):
            return gram_rows(X, t0, count, d, G)

        _GRAM_WRAPPERS[lanes] = gram
    return lanes, _GRAM_WRAPPERS[lanes]


def test_gram_rows_features_fit_the_vector_registers():
    # 10 features in 8 lanes: 10 rows, 2 columns for the first block, 2 intercept blocks
    assert _llvm._gram_accumulators(10, 8) == 14
    assert _llvm._gram_accumulators(5, 4) == 8
    assert _llvm.gram_rows_features(8) == list(range(1, 16))  # 32 registers, 8 spare
    assert _llvm.gram_rows_features(4) == [1, 2, 3, 4, 5]  # 16 registers


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", list(range(1, 18)))
def test_gram_rows_adds_the_weighted_gram_matrix(gram_kernel, dtype, n):
    lanes, gram = gram_kernel
    rng = np.random.default_rng(n)
    X = rng.standard_normal((80, n)).astype(dtype)
    before = X.copy()
    d = rng.random(80)
    for t0, count in ((0, 0), (3, 1), (3, 8), (5, 63), (0, 80)):
        G = rng.standard_normal((n + 1, n + 1))
        start = G.copy()
        handled = gram(X, t0, count, d, G)
        assert handled == (n in _llvm.gram_rows_features(lanes))
        if not handled:  # left to numba's loops, G untouched
            np.testing.assert_array_equal(G, start)
            continue
        rows, weights = X[t0:t0 + count].astype(np.float64), d[t0:t0 + count]
        expected = start.copy()
        expected[:n, :n] += rows.T @ (weights[:, None] * rows)
        expected[:n, n] += weights @ rows
        upper = np.triu_indices(n + 1)
        assert_allclose(G[upper], expected[upper], rtol=1e-13, atol=1e-12)
        np.testing.assert_array_equal(G[n], start[n])  # the last row is the caller's
    np.testing.assert_array_equal(X, before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="guard page through Linux mprotect")
@pytest.mark.parametrize("n", [3, 10])
def test_gram_rows_reads_nothing_past_the_last_row(gram_kernel, n):
    _, gram = gram_kernel
    X, buffer = _array_ending_at_a_guard_page((21, n), np.float32)
    X[:] = np.arange(21 * n).reshape(21, n) % 7
    d, d_buffer = _array_ending_at_a_guard_page((21,), np.float64)
    d[:] = 1.0
    G = np.zeros((n + 1, n + 1))
    if gram(X, 0, 21, d, G):
        rows = X.astype(np.float64)
        assert_allclose(np.triu(G[:n, :n]), np.triu(rows.T @ rows))
    del X, d
    buffer.close()
    d_buffer.close()


@njit(error_model="numpy", inline="always")
def _per_example_loop(z, out):
    for i in range(z.shape[0]):
        out[i] = sigmoid(z[i]) + log1pexp(z[i])


@njit(error_model="numpy")
def _narrow_loop(z, out):
    _per_example_loop(z, out)


@njit(error_model="numpy")
def _wide_loop(z, out):
    prefer_512_bit_vectors()
    _per_example_loop(z, out)


def _has_avx512():
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_features().get("avx512f", False)


def test_short_rows_go_in_4_lanes_where_configured(monkeypatch):
    monkeypatch.setattr(_llvm, "vector_lanes", lambda context: 8)
    monkeypatch.setattr(_config, "REGISTER_ROW_256_BIT_MAX_FEATURES", {"float32": 16, "float64": 10})
    assert _llvm.row_widths(None, types.float32) == [(4, 1, 16), (8, 17, None)]
    assert _llvm.row_widths(None, types.float64) == [(4, 1, 10), (8, 11, None)]
    monkeypatch.setattr(_config, "REGISTER_ROW_256_BIT_MAX_FEATURES", {})
    assert _llvm.row_widths(None, types.float32) == [(8, 1, None)]
    # without AVX-512, 4 lanes for every row anyway
    monkeypatch.setattr(_llvm, "vector_lanes", lambda context: 4)
    monkeypatch.setattr(_config, "REGISTER_ROW_256_BIT_MAX_FEATURES", {"float32": 16})
    assert _llvm.row_widths(None, types.float32) == [(4, 1, None)]


def test_the_register_kernels_use_the_cpus_vector_width():
    """8 float64 lanes where numba compiles for AVX-512, else 4 (see _llvm)."""

    class Codegen:
        def __init__(self, features):
            self._tm_features = features

    class Context:
        def __init__(self, features):
            self._codegen = Codegen(features)

        def codegen(self):
            return self._codegen

    assert _llvm.vector_lanes(Context("+avx2,+fma,+avx512f,-avx512fp16")) == 8
    assert _llvm.vector_lanes(Context("+avx2,+fma,-avx512f,+avx512vl")) == 4
    assert _llvm.vector_lanes(Context("")) == 4  # NUMBA_CPU_NAME=generic

    # the kernels the package compiled on this CPU
    from numba.core.registry import cpu_target

    expected = 8 if _has_avx512() else 4
    assert _llvm.vector_lanes(cpu_target.target_context) == expected


def test_prefer_512_bit_vectors_keeps_the_bits_and_marks_only_its_caller():
    z = np.random.default_rng(3).standard_normal(1003) * 30
    narrow, wide = np.empty_like(z), np.empty_like(z)
    _narrow_loop(z, narrow)
    _wide_loop(z, wide)
    np.testing.assert_array_equal(wide, narrow)  # same arithmetic per example
    wide_ir = _wide_loop.inspect_llvm(_wide_loop.signatures[0])
    narrow_ir = _narrow_loop.inspect_llvm(_narrow_loop.signatures[0])
    assert '"prefer-vector-width"="512"' in wide_ir
    assert "prefer-vector-width" not in narrow_ir
    if _has_avx512():  # where the CPU has 512-bit vectors, the loop uses them
        assert "zmm" in _wide_loop.inspect_asm(_wide_loop.signatures[0])


@pytest.mark.skipif(not _has_avx512(), reason="the CPU has no AVX-512")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_per_example_kernel_uses_512_bit_vectors(dtype):
    assert "zmm" in _fresh_example_terms(dtype)


def _fresh_example_terms(dtype):
    """example_terms for X of ``dtype`` compiled afresh from its source (numba shows no
    code that it loaded from its cache), called once; its assembly."""
    from fastlogreg._kernels import example_terms

    kernel = njit(**dict(_config.TERMS_OPTIONS, cache=False))(example_terms.py_func)
    n = 64
    z, losses, y = np.zeros(n), np.empty(n), np.ones(n)
    kernel(z, losses, y, np.empty(0), np.empty(0), 0, n, np.dtype(dtype))
    return kernel.inspect_asm(kernel.signatures[0])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_per_example_kernel_converts_no_float_to_int(dtype):
    """exp's 2^k is built from k's float64 bits (see _math.exp_nonpositive): an int(k)
    was converted lane by lane on CPUs without AVX-512 (Zen 3: 6.2 -> 5.0 ns per
    example), and by scalar code in the loop's remainder everywhere."""
    asm = _fresh_example_terms(dtype)
    assert "cvttsd2si" not in asm and "cvttpd2qq" not in asm
