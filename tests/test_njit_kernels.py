"""The fastlogreg.kernels entry points, called from a user's own @njit code."""

import numba
import numpy as np
import reference
from conftest import make_data
from numpy.testing import assert_allclose

import fastlogreg
from fastlogreg import kernels


@numba.njit
def many_costs(X, y, W, b):
    """A user loop: the cost and gradient of many candidate w on one data set."""
    out = np.empty(W.shape[0])
    grads = np.empty_like(W)
    for p in range(W.shape[0]):
        J, db = kernels.cost_and_gradient_into(X, y, W[p], b, kernels.NO_WEIGHTS, grads[p])
        out[p] = J
    return out, grads


@numba.njit
def fit_by_gradient_descent(X, y, s, learning_rate, n_steps):
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(n_steps):
        J, dw, db = kernels.cost_and_gradient(X, y, w, b, s)
        w -= learning_rate * dw
        b -= learning_rate * db
    return w, b


@numba.njit
def scalar_helpers(z, y):
    loss, residual = kernels.loss_and_residual(z, y)
    return kernels.sigmoid(z), kernels.log1pexp(z), kernels.log_sigmoid(z), loss, residual


def test_many_costs_from_user_njit():
    X, y = make_data(m=300, n=5, seed=11)
    W = np.random.default_rng(0).standard_normal((6, 5))
    costs, grads = many_costs(X, y, W, 0.25)
    for p in range(6):
        J_ref, dw_ref, _ = reference.cost_and_gradient(X, y, W[p], 0.25)
        assert_allclose(costs[p], J_ref, rtol=1e-12)
        assert_allclose(grads[p], dw_ref, rtol=1e-11)


def test_user_gradient_descent_matches_public_api():
    X, y = make_data(m=300, n=5, seed=12)
    s = np.linspace(0.1, 2.0, 300)
    for X_layout in (X, np.asfortranarray(X), X.astype(np.float32)):
        w, b = fit_by_gradient_descent(X_layout, y, s, 0.2, 25)
        result = fastlogreg.gradient_descent(X_layout, y, learning_rate=0.2, n_iter=25, sample_weight=s)
        assert_allclose(w, result.w, rtol=1e-6 if X_layout.dtype == np.float32 else 1e-13)
        assert_allclose(b, result.b, rtol=1e-13)


def test_cost_and_predictions():
    X, y = make_data(m=100, n=3, seed=13)
    w = np.array([0.5, -0.25, 1.0])
    J = kernels.cost(X, y, w, 0.1, kernels.NO_WEIGHTS)
    assert_allclose(J, reference.cost_and_gradient(X, y, w, 0.1)[0], rtol=1e-12)
    out = np.empty(100)
    kernels.predict_proba_into(X, w, 0.1, out)
    assert_allclose(out, 1 / (1 + np.exp(-(X @ w + 0.1))), rtol=1e-13)


def test_scalar_helpers_are_stable():
    for z in (-1e300, -50.0, 0.0, 3.0, 1e300):
        s, l1pe, lsig, loss, residual = scalar_helpers(z, 1.0)
        assert np.isfinite([s, l1pe, lsig, loss, residual]).all()
        assert_allclose(l1pe, np.logaddexp(0.0, z), rtol=1e-15)
        assert_allclose(lsig, -np.logaddexp(0.0, -z), rtol=1e-15)
        assert_allclose(loss, np.logaddexp(0.0, -z), rtol=1e-15)
        # a - 1 = -σ(-z), computed without the cancellation of s - 1.0
        assert_allclose(residual, -1.0 / (1.0 + np.exp(z)) if z < 700 else 0.0, rtol=1e-15)
