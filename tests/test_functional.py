import concurrent.futures
import itertools

import numba
import numpy as np
import pytest
import reference
from conftest import make_data, two_threads
from numpy.testing import assert_allclose, assert_array_equal

import fastlogreg
from fastlogreg import cost, cost_and_gradient, gradient_descent, sigmoid


def _layout(X, dtype, order, readonly, tmp_path):
    X = np.asarray(X, dtype=dtype, order=order)
    if readonly:
        path = tmp_path / f"X_{np.dtype(dtype).name}_{order}.dat"
        mm = np.memmap(path, dtype=dtype, mode="w+", shape=X.shape, order=order)
        mm[:] = X
        mm.flush()
        X = np.memmap(path, dtype=dtype, mode="r", shape=X.shape, order=order)
        assert not X.flags.writeable
    return X


@pytest.mark.parametrize(
    "dtype, order, readonly, weighted, n_threads",
    [
        (dtype, order, readonly, weighted, n_threads)
        for dtype, order, readonly, weighted, n_threads in itertools.product(
            [np.float64, np.float32], ["C", "F"], [False, True], [False, True], [1, 2]
        )
        # readonly x thread count adds no new code path: keep the matrix small
        if not (readonly and n_threads == 1)
    ],
)
def test_matches_reference(dtype, order, readonly, weighted, n_threads, tmp_path):
    if n_threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("needs 2 numba threads")
    X64, y = make_data(m=1500, n=9, seed=1)
    rng = np.random.default_rng(2)
    w = rng.standard_normal(9)
    b = 0.3
    s = rng.random(1500) * 2 if weighted else None
    X = _layout(X64, dtype, order, readonly, tmp_path)
    # the float32 result is compared with the reference on the same (upcast) data
    J_ref, dw_ref, db_ref = reference.cost_and_gradient(X.astype(np.float64), y, w, b, s)
    J, dw, db = cost_and_gradient(X, y, w, b, sample_weight=s, n_threads=n_threads)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert dw.dtype == dtype and dw.shape == (9,)
    assert_allclose(J, J_ref, rtol=rtol)
    assert_allclose(dw, dw_ref, rtol=rtol if dtype == np.float64 else 1e-5, atol=rtol * 1e-2)
    assert_allclose(db, db_ref, rtol=rtol, atol=rtol * 1e-2)
    assert_allclose(cost(X, y, w, b, sample_weight=s), J_ref, rtol=rtol)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_reference_across_shapes(dtype, order):
    """Every code path of the row loops: short rows (four at a time), long rows (two at
    a time in the gradient), and the 1-3 rows left over at the end of a tile."""
    rng = np.random.default_rng(5)
    for m, n in itertools.product([1, 2, 3, 5, 66, 131, 1027], [1, 3, 15, 16, 17, 40]):
        X64 = rng.standard_normal((m, n))
        y = (rng.random(m) < 0.5).astype(np.float64)
        w = rng.standard_normal(n)
        s = rng.random(m) + 0.1
        X = np.asarray(X64, dtype=dtype, order=order)
        J_ref, dw_ref, db_ref = reference.cost_and_gradient(X.astype(np.float64), y, w, -0.2, s)
        J, dw, db = cost_and_gradient(X, y, w, -0.2, sample_weight=s)
        rtol = 1e-12 if dtype == np.float64 else 1e-6
        assert_allclose(J, J_ref, rtol=rtol, err_msg=f"m={m}, n={n}")
        assert_allclose(dw, dw_ref, rtol=rtol * 10, atol=rtol * 1e-2, err_msg=f"m={m}, n={n}")
        assert_allclose(db, db_ref, rtol=rtol, atol=rtol * 1e-2, err_msg=f"m={m}, n={n}")


def test_textbook_shapes(data):
    """The textbook's X of shape (n_x, m), Y of shape (1, m), w of shape (n_x, 1)."""
    X, y = data
    X_textbook = np.ascontiguousarray(X.T)  # (n_x, m), one example per column
    Y = y.reshape(1, -1)
    w = np.linspace(-1, 1, X.shape[1]).reshape(-1, 1)
    J, dw, db = cost_and_gradient(X_textbook.T, Y, w, 0.1)
    J_ref, dw_ref, db_ref = reference.cost_and_gradient(X, y, w.ravel(), 0.1)
    assert_allclose([J, db], [J_ref, db_ref], rtol=1e-12)
    assert_allclose(dw, dw_ref, rtol=1e-12)


def test_unweighted_equals_unit_weights(data):
    X, y = data
    w = np.full(X.shape[1], 0.2)
    a = cost_and_gradient(X, y, w, -0.1)
    b = cost_and_gradient(X, y, w, -0.1, sample_weight=np.ones(len(y)))
    assert_allclose(a[0], b[0], rtol=1e-14)
    assert_allclose(a[1], b[1], rtol=1e-13)


def test_integer_weights_equal_repeated_rows(data):
    X, y = data
    counts = np.arange(len(y)) % 3
    w = np.full(X.shape[1], 0.3)
    J, dw, db = cost_and_gradient(X, y, w, 0.2, sample_weight=counts)
    Xr, yr = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    Jr, dwr, dbr = cost_and_gradient(Xr, yr, w, 0.2)
    assert_allclose([J, db], [Jr, dbr], rtol=1e-12)
    assert_allclose(dw, dwr, rtol=1e-11)


def _five_point(f, x, h):
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(weighted, data):
    X, y = data
    rng = np.random.default_rng(3)
    s = rng.random(len(y)) if weighted else None
    w = rng.standard_normal(X.shape[1]) * 0.5
    b = -0.2
    _, dw, db = cost_and_gradient(X, y, w, b, sample_weight=s)
    h = 1e-4
    for j in range(X.shape[1]):
        e = np.zeros_like(w)
        e[j] = 1.0
        fd = _five_point(lambda t, e=e: cost(X, y, w + t * e, b, sample_weight=s), 0.0, h)
        assert_allclose(dw[j], fd, rtol=1e-7, atol=1e-10)
    fd_b = _five_point(lambda t: cost(X, y, w, b + t, sample_weight=s), 0.0, h)
    assert_allclose(db, fd_b, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e3, 1e300])
def test_extreme_margins_are_finite_and_exact(dtype, scale):
    """|z| up to 1e300: the loss is |z| for a wrong label and exactly 0 for a right one."""
    X = np.array([[1.0], [-1.0], [1.0], [-1.0]], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    w = np.array([scale])
    J, dw, db = cost_and_gradient(X, y, w, 0.0)
    # examples 0, 1 are right with margin `scale` (loss 0), examples 2, 3 wrong (loss `scale`)
    assert np.isfinite(J) and np.isfinite(dw).all() and np.isfinite(db)
    assert_allclose(J, 2 * scale / 4, rtol=1e-15)
    # residuals: +1 for example 2 (a = 1, y = 0), -1 for example 3 (a = 0, y = 1)
    assert_allclose(dw, [(1.0 * 1 + (-1.0) * (-1)) / 4], rtol=1e-15)
    assert db == 0.0
    J_right, dw_right, db_right = cost_and_gradient(X[:2], y[:2], w, 0.0)
    assert J_right == 0.0 and dw_right[0] == 0.0 and db_right == 0.0


def test_small_losses_keep_precision():
    """log(1 + e^-40) ≈ 4.25e-18: a naive log(1 - a) would round it to 0."""
    X = np.array([[1.0]])
    J = cost(X, [1.0], [40.0])
    assert_allclose(J, np.log1p(np.exp(-40.0)), rtol=1e-14)
    assert J > 0


@two_threads
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bitwise_identical_across_thread_counts(order, dtype):
    X, y = make_data(m=20_000, n=13, seed=4)
    X = np.asarray(X, dtype=dtype, order=order)
    w = np.linspace(-0.5, 0.5, 13)
    s = np.random.default_rng(5).random(len(y))
    one = cost_and_gradient(X, y, w, 0.1, sample_weight=s, n_threads=1)
    two = cost_and_gradient(X, y, w, 0.1, sample_weight=s, n_threads=2)
    assert one[0] == two[0] and one[2] == two[2]
    assert_array_equal(one[1], two[1])


def test_n_threads_restored_after_call_and_error(data):
    X, y = data
    before = numba.get_num_threads()
    cost(X, y, np.zeros(X.shape[1]), n_threads=1)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="w"):
        cost(X, y, np.zeros(X.shape[1] + 1), n_threads=1)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        cost(X, y, np.zeros(X.shape[1]), n_threads=0)


def test_concurrent_calls_from_threads():
    X, y = make_data(m=30_000, n=11, seed=6)
    ws = [np.full(11, 0.05 * k) for k in range(16)]
    expected = [cost_and_gradient(X, y, w) for w in ws]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda w: cost_and_gradient(X, y, w), ws))
    for (J, dw, db), (Je, dwe, dbe) in zip(results, expected, strict=True):
        assert J == Je and db == dbe
        assert_array_equal(dw, dwe)


def test_inputs_are_not_modified(data):
    X, y = data
    w = np.full(X.shape[1], 0.1)
    s = np.linspace(0.5, 1.5, len(y))
    copies = [a.copy() for a in (X, y, w, s)]
    cost_and_gradient(X, y, w, 0.0, sample_weight=s)
    gradient_descent(X, y, n_iter=3, w0=w, sample_weight=s)
    for original, copy in zip((X, y, w, s), copies, strict=True):
        assert_array_equal(original, copy)


def test_read_only_labels_and_weights(data):
    X, y = data
    w = np.full(X.shape[1], 0.1)
    s = np.linspace(0.5, 1.5, len(y))
    expected = cost_and_gradient(X, y, w, 0.0, sample_weight=s)
    y_ro, s_ro = y.copy(), s.copy()
    y_ro.flags.writeable = False
    s_ro.flags.writeable = False
    J, dw, db = cost_and_gradient(X, y_ro, w, 0.0, sample_weight=s_ro)
    assert J == expected[0] and db == expected[2]
    assert_array_equal(dw, expected[1])


def _label_forms(y):
    """y (float64 0/1 labels) as the integer and boolean arrays users pass."""
    column = y.astype(np.int32).reshape(-1, 1)
    read_only = y.astype(np.uint8)
    read_only.flags.writeable = False
    return {
        "bool": y == 1.0, "uint8": y.astype(np.uint8), "int8": y.astype(np.int8),
        "int64": y.astype(np.int64), "uint64": y.astype(np.uint64),
        "big-endian int64": y.astype(">i8"), "strided int64": np.repeat(y.astype(np.int64), 2)[::2],
        "(m, 1) int32": column, "read-only uint8": read_only, "list": y.astype(int).tolist(),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_integer_and_boolean_labels_give_the_same_bits(dtype, order):
    # They are kept as one byte per label (see _validation.as_labels): the same values
    # as float64 labels, so the same bits, in a parallel pass of several blocks.
    X, y = make_data(m=40_000, n=10)
    X = np.asarray(X, dtype=dtype, order=order)
    w = np.linspace(-0.5, 0.5, 10)
    s = np.linspace(0.5, 1.5, len(y))
    expected = cost_and_gradient(X, y, w, 0.25)
    expected_weighted = cost_and_gradient(X, y, w, 0.25, sample_weight=s)
    expected_descent = gradient_descent(X, y, learning_rate=0.5, n_iter=3)
    for name, labels in _label_forms(y).items():
        before = np.array(labels, copy=True)
        for got, want in [
            (cost_and_gradient(X, labels, w, 0.25), expected),
            (cost_and_gradient(X, labels, w, 0.25, sample_weight=s), expected_weighted),
        ]:
            assert got[0] == want[0] and got[2] == want[2], name
            assert_array_equal(got[1], want[1], err_msg=name)
        descent = gradient_descent(X, labels, learning_rate=0.5, n_iter=3)
        assert_array_equal(descent.w, expected_descent.w, err_msg=name)
        assert_array_equal(np.asarray(labels), before, err_msg=name)


def test_labels_are_kept_in_one_byte_without_a_copy_where_possible():
    from fastlogreg._problem import Problem

    X, y = make_data()
    for name, labels in _label_forms(y).items():
        assert Problem(X, labels).y.dtype == np.uint8, name
    codes = y.astype(np.uint8)
    assert Problem(X, codes).y is codes
    flags = y == 1.0
    assert np.shares_memory(Problem(X, flags).y, flags)
    assert Problem(X, y).y is y  # float64 labels as they are
    assert Problem(X, y.astype(np.float32)).y.dtype == np.float64  # soft labels stay floats


@pytest.mark.parametrize(
    "dtype, bad, match",
    [
        (np.int64, 2, r"found 2 at index 20011"), (np.int64, -1, r"found -1 at index 20011"),
        (np.uint16, 257, r"found 257 at index 20011"),  # 1 if narrowed without a check
        (np.int8, -128, r"found -128 at index 20011"),
        (np.uint8, 2, r"found 2 at index 20011"),  # checked by the pass that reads it
    ],
)
def test_integer_labels_other_than_0_and_1_are_rejected(dtype, bad, match):
    X, y = make_data(m=40_000, n=10)
    labels = y.astype(dtype)
    labels[20_011] = bad
    before = labels.copy()
    for call in (
        lambda: cost(X, labels, np.zeros(10)),
        lambda: cost_and_gradient(X, labels, np.ones(10), 0.5),
        lambda: gradient_descent(X, labels, n_iter=2),
    ):
        with pytest.raises(ValueError, match="y must hold labels 0 or 1 .*" + match):
            call()
    assert_array_equal(labels, before)


def test_integer_and_boolean_X_are_converted(data):
    X, y = data
    Xi = np.round(X * 3).astype(np.int32)
    w = np.full(X.shape[1], 0.1)
    assert_allclose(cost(Xi, y, w), cost(Xi.astype(np.float64), y, w), rtol=1e-15)
    Xb = X > 0
    J, dw, _ = cost_and_gradient(Xb, y, w)
    assert dw.dtype == np.float64
    assert_allclose(J, cost(Xb.astype(np.float64), y, w), rtol=1e-15)


def test_strided_X_gives_the_same_answer(data):
    X, y = data
    wide = np.repeat(X, 2, axis=1)[:, ::2]  # neither C- nor F-contiguous
    assert not wide.flags.c_contiguous and not wide.flags.f_contiguous
    w = np.full(X.shape[1], 0.1)
    assert_allclose(cost(wide, y, w), cost(X, y, w), rtol=1e-15)


def test_soft_labels(data):
    X, _ = data
    p = np.linspace(0, 1, X.shape[0])
    w = np.full(X.shape[1], 0.1)
    J_ref, dw_ref, db_ref = reference.cost_and_gradient(X, p, w, 0.0)
    J, dw, db = cost_and_gradient(X, p, w)
    assert_allclose([J, db], [J_ref, db_ref], rtol=1e-12)
    assert_allclose(dw, dw_ref, rtol=1e-11)


def test_sigmoid():
    z = np.array([-1e300, -800.0, -1.0, 0.0, 1.0, 800.0, 1e300])
    s = sigmoid(z)
    assert_allclose(s, [0.0, 0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1)), 1.0, 1.0], rtol=1e-15)
    assert sigmoid(np.float32(0.0)).dtype == np.float32
    assert sigmoid(0) == 0.5
    assert not np.isnan(s).any()
    with pytest.raises(ValueError, match="Complex data not supported"):
        sigmoid(np.array([1j]))


# --- gradient descent ---------------------------------------------------------------

def test_gradient_descent_matches_numpy_step_by_step(data):
    X, y = data
    result = gradient_descent(X, y, learning_rate=0.3, n_iter=50)
    w_ref, b_ref, costs_ref = reference.numpy_gradient_descent(X, y, 0.3, 50)
    assert result.costs.dtype == np.float64 and result.costs.shape == (50,)
    assert result.n_iter == 50 and not result.converged
    assert_allclose(result.costs, costs_ref, rtol=1e-12)
    assert_allclose(result.w, w_ref, rtol=1e-10)
    assert_allclose(result.b, b_ref, rtol=1e-10)
    assert np.all(np.diff(result.costs) < 0)


def test_gradient_descent_tol_stops_early(data):
    X, y = data
    full = gradient_descent(X, y, learning_rate=0.5, n_iter=3000)
    early = gradient_descent(X, y, learning_rate=0.5, n_iter=3000, tol=1e-3)
    assert early.converged and early.n_iter < 3000
    assert len(early.costs) == early.n_iter + 1
    _, dw, db = cost_and_gradient(X, y, early.w, early.b)
    assert max(np.abs(dw).max(), abs(db)) <= 1e-3
    assert_allclose(early.costs[: early.n_iter], full.costs[: early.n_iter], rtol=1e-13)


def test_gradient_descent_float32_keeps_dtype(data):
    X, y = data
    r32 = gradient_descent(X.astype(np.float32), y, n_iter=20)
    r64 = gradient_descent(X.astype(np.float32).astype(np.float64), y, n_iter=20)
    assert r32.w.dtype == np.float32
    assert_allclose(r32.costs, r64.costs, rtol=1e-6)


def test_package_exports():
    for name in fastlogreg.__all__:
        assert hasattr(fastlogreg, name)


def test_concurrent_calls_under_the_workqueue_layer():
    """numba's workqueue layer aborts the process on concurrent parallel regions; the
    kernels must fall back to their serial twins there (fresh process, forced layer)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import concurrent.futures, numba, numpy as np, fastlogreg
        rng = np.random.default_rng(0)
        X = rng.standard_normal((40_000, 12)); y = (rng.random(40_000) < 0.5) * 1.0
        ws = [np.full(12, 0.01 * k) for k in range(24)]
        expected = [fastlogreg.cost_and_gradient(X, y, w) for w in ws]
        assert numba.threading_layer() == "workqueue", numba.threading_layer()
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda w: fastlogreg.cost_and_gradient(X, y, w), ws))
        for (J, dw, db), (Je, dwe, dbe) in zip(got, expected):
            assert J == Je and db == dbe and (dw == dwe).all()
        print("ok")
        """
    )
    env = {**__import__("os").environ, "NUMBA_THREADING_LAYER": "workqueue"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
