"""Hessian-vector products and the Gram matrix against first-order quantities."""

import numpy as np
import pytest
from conftest import make_data
from numpy.testing import assert_allclose

from fastlogreg._problem import Problem
from fastlogreg._solvers import Objective


def _objective(dtype, order, weighted, C=0.7, fit_intercept=True, m=3000, n=6):
    X, y = make_data(m=m, n=n, seed=31)
    X = np.asarray(X, dtype=dtype, order=order)
    s = np.random.default_rng(32).uniform(0.1, 2.0, m) if weighted else None
    return Objective(Problem(X, y, s), C, fit_intercept), X, y, s


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_vector_product_matches_gradient_differences(dtype, order, weighted):
    objective, *_ = _objective(dtype, order, weighted)
    rng = np.random.default_rng(33)
    theta = rng.standard_normal(objective.size) * 0.3
    v = rng.standard_normal(objective.size)
    objective.value_and_gradient(theta, want_hessian=True)
    hv = objective.hessian_vector_product(v)
    h = 1e-5
    g_plus = objective.value_and_gradient(theta + h * v)[1]
    g_minus = objective.value_and_gradient(theta - h * v)[1]
    assert_allclose(hv, (g_plus - g_minus) / (2 * h), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_hessian_equals_hessian_vector_products(fit_intercept):
    objective, *_ = _objective(np.float64, "C", True, fit_intercept=fit_intercept)
    theta = np.linspace(-0.5, 0.5, objective.size)
    objective.value_and_gradient(theta, want_hessian=True)
    H = objective.hessian()
    columns = np.column_stack([objective.hessian_vector_product(e) for e in np.eye(objective.size)])
    assert_allclose(H, columns, rtol=1e-12, atol=1e-15)
    assert_allclose(H, H.T, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_fused_value_gradient_hessian_matches_separate_passes(dtype, order):
    objective, X, y, s = _objective(dtype, order, True, m=5000)
    theta = np.linspace(-0.3, 0.4, objective.size)
    value, grad, H = objective.value_gradient_hessian(theta)
    value_ref, grad_ref = objective.value_and_gradient(theta, want_hessian=True)
    H_ref = objective.hessian()
    assert_allclose(value, value_ref, rtol=1e-13)
    assert_allclose(grad, grad_ref, rtol=1e-11, atol=1e-14)
    assert_allclose(H, H_ref, rtol=1e-12, atol=1e-15)
    # and against plain NumPy in float64
    Xt = np.column_stack([X.astype(np.float64), np.ones(len(y))])
    z = Xt @ theta
    d = s / (np.exp(z / 2) + np.exp(-z / 2)) ** 2
    H_np = Xt.T @ (d[:, None] * Xt) / s.sum()
    H_np[np.arange(X.shape[1]), np.arange(X.shape[1])] += objective.alpha
    # float32 X: exp and log1p to 3e-10 relative (_math._FLOAT32_ACCURACY), not 1e-16
    tolerance = dict(rtol=1e-9, atol=1e-12) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-15)
    assert_allclose(H, H_np, **tolerance)


def test_finite_X_with_overflowing_sums_is_scanned_once(monkeypatch):
    """X is scanned for NaN/inf only after the first pass, and only once per fit:
    sums that overflow on finite X must not cost a scan of X at every evaluation."""
    X = np.full((40, 2), 1e300)
    y = np.r_[np.zeros(20), np.ones(20)]
    problem = Problem(X, y)
    scans = []
    monkeypatch.setattr(problem, "check_finite_X", lambda *a, **k: scans.append(1))
    objective = Objective(problem, 1.0, True)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(3):
            value, _ = objective.value_and_gradient(np.array([1e10, 1e10, 0.0]))
    assert not np.isfinite(value)
    assert len(scans) == 1


@pytest.fixture(params=["kernel", "blas"])
def gram_path(request, monkeypatch):
    """Run a test with the Gram matrix built by our kernels, then by BLAS (_config)."""
    from fastlogreg import _config

    limit = 10**6 if request.param == "kernel" else -1
    monkeypatch.setattr(_config, "GRAM_KERNEL_MAX_FEATURES", limit)
    monkeypatch.setattr(_config, "GRAM_KERNEL_MIN_BYTES", 0)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "m, n",
    [(1, 1), (5, 3), (130, 9), (70, 1), (2049, 8), (300, 11), (300, 12), (4100, 13), (700, 40), (70_000, 10)],
)
def test_gram_matches_numpy_on_every_path(gram_path, dtype, order, weighted, m, n):
    """Both paths, every tile remainder (row-major tiles of 128 rows, column-major up
    to 2048), features in blocks of 8, 4 and 1: the fused gradient + Gram pass and the
    Gram matrix of given weights against plain NumPy in float64."""
    rng = np.random.default_rng(m * 100 + n)
    X = np.asarray(rng.standard_normal((m, n)), dtype=dtype, order=order)
    y = (rng.random(m) < 0.5).astype(np.float64)
    s = rng.uniform(0.0, 2.0, m) if weighted else None
    w, b = rng.standard_normal(n) * 0.3, 0.2
    problem = Problem(X, y, s)
    d = np.empty(m)
    loss, grad, G = problem.loss_grad_gram(w, b, d, np.empty((n + 1, n + 1)))

    Xt = np.column_stack([X.astype(np.float64), np.ones(m)])
    z = Xt @ np.r_[w, b]
    weights = np.ones(m) if s is None else s
    d_ref = weights / (np.exp(z / 2) + np.exp(-z / 2)) ** 2
    G_ref = Xt.T @ (d_ref[:, None] * Xt)
    # float32 X: exp and log1p to 3e-10 relative (_math._FLOAT32_ACCURACY), not 1e-16
    terms_rtol, sums_rtol = (1e-9, 1e-9) if dtype == np.float32 else (1e-12, 1e-11)
    assert_allclose(d, d_ref, rtol=terms_rtol, atol=1e-300)
    assert_allclose(G, G_ref, rtol=sums_rtol, atol=terms_rtol * np.abs(G_ref).max())
    assert np.array_equal(G, G.T)
    assert_allclose(loss, np.sum(weights * (np.logaddexp(0, z) - y * z)), rtol=terms_rtol)
    assert_allclose(grad, Xt.T @ (weights * (1 / (1 + np.exp(-z)) - y)), rtol=sums_rtol, atol=sums_rtol * m)
    d_given = rng.uniform(0.0, 1.0, m)
    G_given = problem.gram(d_given, np.empty((n + 1, n + 1)))
    assert_allclose(G_given, Xt.T @ (d_given[:, None] * Xt), rtol=1e-11, atol=1e-12 * m)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("n", [3, 10, 40])
def test_gram_workspace_transposes_only_the_tiles_gram_rows_does_not_take(gram_path, order, n):
    """The scratch for transposed tiles is (n, tile) per block for row-major rows that
    _llvm.gram_rows leaves to the transposing path, and empty otherwise (column-major X
    and the rows gram_rows sums in registers), so that it costs no memory for them."""
    from fastlogreg import _kernels

    X, y = make_data(m=3000, n=n, seed=n)
    X = np.asarray(X, order=order)
    problem = Problem(X, y)
    problem.loss_grad_gram(np.zeros(n), 0.0, np.empty(len(y)), np.empty((n + 1, n + 1)))
    if gram_path == "blas":
        assert problem._gram_workspace is None
        return
    tile, _, _, _, grams, transposed_tiles = problem._gram_workspace
    transposed = order == "C" and not _kernels.gram_register_rows(n, False)
    expected = (len(grams), n, tile) if transposed else (len(grams), 0, 0)
    assert transposed_tiles.shape == expected
    if n == 40 and order == "C":
        assert transposed  # more features than gram_rows takes on any CPU


def test_gram_kernel_gives_the_same_bits_for_any_thread_count():
    import numba

    X, y = make_data(m=200_000, n=7, seed=5)  # large enough for the parallel kernel
    problem = Problem(X, y)
    d = np.random.default_rng(6).uniform(0.0, 1.0, len(y))
    with_all = problem.gram(d, np.empty((8, 8)))
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with_one = problem.gram(d, np.empty((8, 8)))
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(with_all, with_one)


@pytest.mark.parametrize("weighted", [False, True])
def test_solvers_start_at_the_best_intercept_for_w_zero(weighted):
    """initial_theta: w = 0 and b = log-odds of the (weighted) mean label, where the
    intercept's gradient vanishes (b is not penalised)."""
    X, y = make_data(m=3000, n=6, seed=34)
    y = (np.random.default_rng(35).random(3000) < 0.15).astype(float)  # 15% positives
    s = np.random.default_rng(36).uniform(0.1, 2.0, 3000) if weighted else None
    objective = Objective(Problem(X, y, s), 0.7, True)
    theta = objective.initial_theta()
    p = np.average(y, weights=s)
    assert_allclose(theta, np.r_[np.zeros(6), np.log(p / (1 - p))], rtol=1e-14)
    grad = objective.value_and_gradient(theta)[1]
    assert abs(grad[-1]) < 1e-14  # the best intercept for w = 0
    assert abs(grad[:-1]).max() > 1e-3  # w = 0 is not the optimum: work is left
    assert_allclose(Objective(Problem(X, y, s), 0.7, False).initial_theta(), np.zeros(6))


def test_one_class_only_in_the_weights_starts_at_zero():
    X, y = make_data(m=100, n=3, seed=37)
    s = np.where(y == 1, 1.0, 0.0)  # the negatives weigh nothing: log-odds infinite
    assert_allclose(Objective(Problem(X, y, s), 1.0, True).initial_theta(), np.zeros(4))
