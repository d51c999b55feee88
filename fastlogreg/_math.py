"""Scalar helpers, callable from any jitted code.

All of them are exact for every finite input: no overflow of ``exp``, no
cancellation in ``log(1 + e^z)``, no ``log`` of a rounded probability.
"""

import math

from numba import njit

from ._config import JIT_OPTIONS


@njit(**JIT_OPTIONS)
def log1pexp(z):
    """log(1 + e^z), finite and accurate for every finite z (also |z| = 1e300)."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@njit(**JIT_OPTIONS)
def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z), computed from e^-|z| so that nothing overflows."""
    e = math.exp(-abs(z))
    inv = 1.0 / (1.0 + e)
    return inv if z >= 0.0 else e * inv


@njit(**JIT_OPTIONS)
def log_sigmoid(z):
    """log σ(z) = -log(1 + e^-z), never the log of a rounded probability."""
    return -log1pexp(-z)


@njit(**JIT_OPTIONS)
def loss_and_residual(z, y):
    """Per-example loss and residual for margin z and label y in [0, 1].

    loss = log(1 + e^z) - y z   (= -(y log a + (1-y) log(1-a)), a = σ(z))
    residual = a - y             (= dJ/dz)

    One exp and one log1p.  The linear part is written as (1-y) z or -y z on the
    side of zero where it does not cancel, so a label of 1 with z = 1e300 gives
    a loss of exactly 0, not inf - inf.
    """
    e = math.exp(-abs(z))
    inv = 1.0 / (1.0 + e)
    if z >= 0.0:
        linear = z - y * z
        a = inv
        one_minus_a = e * inv
    else:
        linear = -y * z
        a = e * inv
        one_minus_a = inv
    loss = linear + math.log1p(e)
    residual = (1.0 - y) * a - y * one_minus_a
    return loss, residual


@njit(**JIT_OPTIONS)
def sigmoid_derivative(z):
    """σ'(z) = σ(z)(1 - σ(z)), without overflow."""
    e = math.exp(-abs(z))
    inv = 1.0 / (1.0 + e)
    return e * inv * inv
