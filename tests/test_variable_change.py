"""L-BFGS's change of variables θ = T u for badly scaled and uncentred features."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastlogreg import LogisticRegression
from fastlogreg._problem import Problem
from fastlogreg._solvers import Objective, VariableChange, lbfgs, newton_cg, sample_rows


def _data(m=4000, n=8, seed=51, scales=None, shifts=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / np.sqrt(n) * 2
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ w - 0.3)))).astype(float)
    if scales is not None:
        X = X * scales
    if shifts is not None:
        X = X + shifts
    return X, y


BAD_SCALES = np.logspace(-2, 2, 8)  # columns from 0.01 to 100
BAD_SHIFTS = np.linspace(-20, 30, 8)


def _optimum(X, y, C=1.0, fit_intercept=True):
    est = LogisticRegression(C=C, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12).fit(X, y)
    return np.append(est.coef_.ravel(), est.intercept_) if fit_intercept else est.coef_.ravel()


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_change_of_variables_round_trips(fit_intercept):
    X, y = _data(scales=BAD_SCALES, shifts=BAD_SHIFTS)
    objective = Objective(Problem(X, y), 1.0, fit_intercept)
    change = objective.variable_change()
    assert change is not None
    rng = np.random.default_rng(52)
    theta = rng.standard_normal(objective.size)
    assert_allclose(change.to_theta(change.to_u(theta)), theta, rtol=1e-12, atol=1e-12)
    # the chain rule: ∇_u f(T u) = Tᵀ ∇f(θ), checked by central differences in u
    u = change.to_u(theta)
    _, grad = objective.value_and_gradient(theta)
    grad_u = change.gradient_to_u(grad)
    h = 1e-6
    for j in range(objective.size):
        e = np.zeros(objective.size)
        e[j] = h
        f_plus = objective.value_and_gradient(change.to_theta(u + e))[0]
        f_minus = objective.value_and_gradient(change.to_theta(u - e))[0]
        assert_allclose((f_plus - f_minus) / (2 * h), grad_u[j], rtol=1e-5, atol=1e-8)


def test_standardised_features_keep_theta():
    """Well-scaled, centred features: no change, L-BFGS runs on θ as before."""
    X, y = _data(m=20000)
    assert Objective(Problem(X, y), 1.0, True).variable_change() is None


@pytest.mark.parametrize("solver", [lbfgs, newton_cg])
@pytest.mark.parametrize("scales, shifts", [(BAD_SCALES, None), (None, BAD_SHIFTS), (BAD_SCALES, BAD_SHIFTS)])
def test_badly_scaled_features_converge_in_few_passes(solver, scales, shifts):
    X, y = _data(scales=scales, shifts=shifts)
    best = _optimum(X, y)
    passes = {}
    for change in (True, False):
        objective = Objective(Problem(X, y), 1.0, True)
        result = solver(objective, objective.initial_theta(), 1e-6, 3000, change_variables=change)
        passes[change] = objective.n_passes
        if change:
            assert result.converged
            assert_allclose(result.theta, best, rtol=1e-4, atol=1e-4)
            # the stopping test is on the gradient in θ, not in u
            assert np.max(np.abs(objective.value_and_gradient(result.theta)[1])) <= 1e-6
    assert passes[True] <= 60
    assert passes[False] >= 3 * passes[True]  # what the change is for


def test_estimator_fits_unscaled_data_like_scaled_data():
    """The same model up to the scaling, in few iterations, with the default solver."""
    X, y = _data(n=30, scales=np.logspace(-2, 2, 30), shifts=np.linspace(-5, 50, 30))
    est = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-8, max_iter=200).fit(X, y)
    assert est.n_iter_[0] < 100
    mean, std = X.mean(0), X.std(0)
    ref = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-8, max_iter=200).fit((X - mean) / std, y)
    assert_allclose(est.coef_.ravel() * std, ref.coef_.ravel(), rtol=1e-5, atol=1e-6)


def test_start_within_tol_makes_no_step():
    X, y = _data(scales=BAD_SCALES)
    objective = Objective(Problem(X, y), 1.0, True)
    result = lbfgs(objective, objective.initial_theta(), 1e3, 100)
    assert result.converged and result.n_iter == 0 and objective.n_passes == 1
    assert_array_equal(result.theta, objective.initial_theta())


def test_warm_start_from_the_optimum_stays_there():
    X, y = _data(scales=BAD_SCALES, shifts=BAD_SHIFTS)
    best = _optimum(X, y)
    objective = Objective(Problem(X, y), 1.0, True)
    result = lbfgs(objective, best, 1e-6, 100)
    assert result.n_iter == 0
    assert_allclose(result.theta, best, rtol=1e-12)


def test_moments_sample_runs_of_rows_spread_through_X_with_weights():
    rng = np.random.default_rng(53)
    X = rng.standard_normal((1000, 3)).astype(np.float32)
    s = rng.uniform(0, 2, 1000)
    moments = Problem(X, np.zeros(1000), s).sample_moments(100)
    # 16 runs of 6 rows, the first at row 0, the last ending at row 999
    starts = np.linspace(0, 994, 16).astype(int)
    rows = (starts[:, None] + np.arange(6)).ravel()
    Xs = X[rows].astype(np.float64)
    assert_allclose(moments, np.concatenate([[s[rows].sum()], s[rows] @ Xs, s[rows] @ Xs**2]), rtol=1e-12)
    everything = Problem(np.asfortranarray(X), np.zeros(1000)).sample_moments(5000)
    assert_allclose(everything[1:4], X.astype(np.float64).sum(0), rtol=1e-12)
    assert sample_rows(10) == 4096 and sample_rows(10**6) == 16


def test_unusable_moments_give_no_change():
    n = 3
    zero_weight = np.zeros(2 * n + 1)
    assert VariableChange.from_moments(zero_weight, 0.5, 0.0, True) is None
    nan = np.array([10.0, 1.0, np.nan, 1.0, 10.0, 10.0, 10.0])
    assert VariableChange.from_moments(nan, 0.5, 0.0, True) is None
    overflowed = np.array([10.0, 1.0, 1.0, 1.0, np.inf, 10.0, 10.0])
    assert VariableChange.from_moments(overflowed, 0.5, 0.0, True) is None


def test_constant_and_zero_columns():
    """A constant column has no spread of its own: it gets a typical scale, and the fit
    is the one of newton-cholesky (the penalty keeps it defined)."""
    X, y = _data(scales=BAD_SCALES)
    X[:, 2] = 7.0
    X[:, 5] = 0.0
    change = Objective(Problem(X, y), 1.0, True).variable_change()
    assert change is not None and np.isfinite(change.scale).all() and (change.scale > 0).all()
    est = LogisticRegression(solver="lbfgs", tol=1e-8, max_iter=500).fit(X, y)
    assert_allclose(np.append(est.coef_.ravel(), est.intercept_), _optimum(X, y), rtol=1e-5, atol=1e-6)


def test_nonfinite_X_is_still_reported():
    X, y = _data(scales=BAD_SCALES)
    X[123, 4] = np.nan
    with pytest.raises(ValueError, match="row 123, column 4"):
        LogisticRegression(solver="lbfgs").fit(X, y)
