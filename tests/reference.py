"""Slow, plain references written from the formulas, in float64 (math module only).

Independent of fastlogreg's code: a per-example Python loop.
"""

import math

import numpy as np


def _log1pexp(z):
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), the textbook-stable form
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def cost_and_gradient(X, y, w, b, sample_weight=None):
    """(J, dw, db) by a loop over examples: L_i = log(1 + e^z_i) - y_i z_i."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    m, n = X.shape
    s = np.ones(m) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    J = 0.0
    dw = [0.0] * n
    db = 0.0
    for i in range(m):
        z = b + math.fsum(float(X[i, j]) * float(w[j]) for j in range(n))
        # -(y log a + (1 - y) log(1 - a)) with log a = -log1pexp(-z), log(1 - a) = -log1pexp(z)
        loss = y[i] * _log1pexp(-z) + (1.0 - y[i]) * _log1pexp(z)
        residual = _sigmoid(z) - y[i]
        J += s[i] * loss
        for j in range(n):
            dw[j] += s[i] * residual * float(X[i, j])
        db += s[i] * residual
    total = float(np.sum(s))
    return J / total, np.array(dw) / total, db / total


def numpy_gradient_descent(X, y, learning_rate, n_iter):
    """The textbook's vectorised batch gradient descent in plain NumPy (float64)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, n = X.shape
    w = np.zeros(n)
    b = 0.0
    costs = []
    for _ in range(n_iter):
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        costs.append(np.mean(np.logaddexp(0.0, z) - y * z))
        dz = a - y
        w = w - learning_rate * (X.T @ dz) / m
        b = b - learning_rate * np.mean(dz)
    return w, b, np.array(costs)
