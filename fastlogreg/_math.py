"""Scalar helpers, callable from any jitted code.

All of them are exact to a few ulp (exp and log1p: at most 2.5, tests/test_math.py)
for every finite input: no overflow of ``exp``, no cancellation in ``log(1 + e^z)``,
no ``log`` of a rounded probability.  The ``_float32`` twins, for the terms of float32
X, keep all of that but are accurate to 3e-10 relative (see _FLOAT32_ACCURACY).

``exp`` and ``log1p`` are written here as branch-free polynomials (instead of calls
to libm) so that LLVM can vectorise the loops that call them: the per-example terms
of a tile of rows are then computed 8 at a time with AVX-512.
"""

import numpy as np
from numba import njit

from ._config import JIT_OPTIONS
from ._llvm import bits_from_float64, float64_from_bits, is_float32

# Inlined at numba level into their callers, so that a loop calling them becomes
# one loop body that LLVM can vectorise.  The inlined code takes the caller's
# fast-math flags: callers must not allow reassociation (JIT_OPTIONS, or with
# 'contract' only, as _kernels.example_terms).
_EXACT_OPTIONS = dict(JIT_OPTIONS, inline="always")

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split in two so k * ln2 is exact
_LN2_LO = 1.90821492927058770002e-10
_EXP_UNDERFLOW = -708.0
_LN2 = 0.6931471805599453
_SQRT2_MINUS_1 = 0.41421356237309503  # e^-708 ≈ 3e-308, the smallest normal result
# 2^52 + 1023: k + this (k an integer in [-1021, 0]) is a float64 whose low 52 bits
# are the biased exponent k + 1023 of 2^k.
_EXP_BIAS_MAGIC = 4503599627371519.0


# _FLOAT32_ACCURACY: float32 X holds its values to 6e-8 relative, and the results for
# it need to match a float64 reference on the same (upcast) data to about 1e-6
# (README, Functional API).  The per-example terms of a float32 pass therefore
# use exp_nonpositive_float32 and log1p_unit_float32: the same float64 arithmetic,
# range and exact reductions, with polynomials cut to a truncation error below 3e-10
# relative (1/200 of float32's rounding) instead of 1e-16: degree 8 instead of 12 for
# exp, 6 terms instead of 11 for log1p.  Time with ÷ without (AMD EPYC Zen 5, one
# process, 11-15 interleaved rounds): cost_and_gradient 4e6 x 10 float32 C 0.92-0.935,
# F 0.91-0.93; 1e6 x 100 float32 C, bound by memory, 1.00.

# _SHORT_CHAINS: the polynomials below are not written in Horner's form (one
# multiply-add after another, 12 in a row for exp): in the per-example loops that chain
# of dependent operations, not the number of operations, was the limit (AMD EPYC Zen 3,
# per example in cache: 5.0 -> 4.4 ns; cost_and_gradient 4e6 x 10 0.91-0.95 of the
# time).  Their high-order terms go by Estrin's scheme, whose extra rounding they scale
# down, and the leading terms in steps of the square, so the result is as accurate as
# with Horner's form or more (against a long-double reference, over each function's
# range: exp 2.54 -> 2.35 ulp at most, log1p 2.87 -> 2.11).


@njit(**_EXACT_OPTIONS)
def _pair(x, c0, c1):
    """c0 + c1 x: the pairs of Estrin's scheme."""
    return c0 + c1 * x


@njit(**_EXACT_OPTIONS)
def _exp_reduced(x):
    """(k, r) with x = k ln2 + r, |r| <= ln2/2, for exp_nonpositive and its float32
    twin: k a float64 (np.floor; numba's math.floor returns an int), x clamped at the
    underflow bound first."""
    xc = max(x, _EXP_UNDERFLOW)
    k = np.floor(xc * _LOG2E + 0.5)
    return k, (xc - k * _LN2_HI) - k * _LN2_LO


@njit(**_EXACT_OPTIONS)
def _exp_scaled(x, k, p):
    """p 2^k, 2^k built from its bits: those of k + 2^52 + 1023, whose mantissa is
    k + 1023, shifted into the exponent field (float64 and integer vector operations
    alone: a float-to-int64 conversion, which x86 has in vectors only with AVX-512, was
    converted lane by lane elsewhere; AMD EPYC Zen 3, AVX2: 6.2 -> 5.0 ns per example in
    cache, cost_and_gradient 4e6 x 10 0.86-0.88 of the time).  0 below the underflow
    bound."""
    scale = float64_from_bits(bits_from_float64(k + _EXP_BIAS_MAGIC) << 52)
    return p * scale if x >= _EXP_UNDERFLOW else 0.0


@njit(**_EXACT_OPTIONS)
def _exp_series(r, r2, tail):
    """e^r = 1 + r + r²/2 + r³/6 + r⁴/24 + tail (tail: Σ r^j / j! from j = 5), the
    leading terms in steps of r², the 1 added last (see _SHORT_CHAINS)."""
    return 1.0 + (r + r2 * (_pair(r, 0.5, 1.0 / 6.0) + r2 * _pair(r, 1.0 / 24.0, tail)))


@njit(**_EXACT_OPTIONS)
def exp_nonpositive(x):
    """e^x for x <= 0 (0 below -708), branch-free.

    x = k ln2 + r with |r| <= ln2/2 (_exp_reduced); e^r by its degree-12 Taylor
    polynomial (error below 2e-16 relative; see _SHORT_CHAINS), times 2^k
    (_exp_scaled).
    """
    k, r = _exp_reduced(x)
    r2 = r * r
    r4 = r2 * r2
    # Σ r^j / j!, j = 5 .. 12, by Estrin's scheme (pairs, then pairs of pairs: a
    # short chain of dependent operations); its rounding is scaled by r^5 <= 0.005.
    tail = (_pair(r, 1.0 / 120.0, 1.0 / 720.0) + r2 * _pair(r, 1.0 / 5040.0, 1.0 / 40320.0)) + r4 * (
        _pair(r, 1.0 / 362880.0, 1.0 / 3628800.0) + r2 * _pair(r, 1.0 / 39916800.0, 1.0 / 479001600.0)
    )
    return _exp_scaled(x, k, _exp_series(r, r2, tail))


@njit(**_EXACT_OPTIONS)
def exp_nonpositive_float32(x):
    """exp_nonpositive to the accuracy float32 data need (see _FLOAT32_ACCURACY):
    the Taylor polynomial to degree 8, whose truncation error is below 3e-10 relative;
    the same float64 range (0 only below -708)."""
    k, r = _exp_reduced(x)
    r2 = r * r
    tail = _pair(r, 1.0 / 120.0, 1.0 / 720.0) + r2 * _pair(r, 1.0 / 5040.0, 1.0 / 40320.0)
    return _exp_scaled(x, k, _exp_series(r, r2, tail))


@njit(**_EXACT_OPTIONS)
def _log1p_reduced(e):
    """(s, upper) for log1p_unit and its float32 twin: log(1 + e) = 2 atanh(s) with
    s = e / (2 + e) for e < √2 - 1, and log(1 + e) = ln 2 + 2 atanh(s) with
    s = (e - 1) / (e + 3) above (that is, log of (1 + e) / 2).  Both forms are exact in
    s, and |s| <= 0.1716 (s² <= 0.0295); exact near e = 0, where the first is used."""
    upper = e >= _SQRT2_MINUS_1
    # One division of the chosen numerator and denominator (a vectorised loop would
    # otherwise compute both quotients and then pick one).
    return (e - 1.0 if upper else e) / (e + 3.0 if upper else e + 2.0), upper


@njit(**_EXACT_OPTIONS)
def _log1p_from_series(s, s2, s4, tail, upper):
    """2 atanh(s) = 2s (1 + s²/3 + s⁴/5 + s⁶/7 + tail) (tail: Σ s^(2j) / (2j + 1) from
    j = 4), plus ln 2 on the upper form."""
    series = _pair(s2, 1.0 / 3.0, 1.0 / 5.0) + s4 * _pair(s2, 1.0 / 7.0, tail)
    two_s = 2.0 * s
    return (two_s + (two_s * s2) * series) + (_LN2 if upper else 0.0)


@njit(**_EXACT_OPTIONS)
def log1p_unit(e):
    """log(1 + e) for 0 <= e <= 1, branch-free: 2 atanh(s) (see _log1p_reduced), the
    atanh series in s² (ratio <= 0.0295) summed to 11 terms, below 1e-17 relative
    (see _SHORT_CHAINS)."""
    s, upper = _log1p_reduced(e)
    s2 = s * s
    s4 = s2 * s2
    # Σ s^(2j) / (2j + 1), j = 4 .. 10, by Estrin's scheme (see exp_nonpositive)
    tail = (_pair(s2, 1.0 / 9.0, 1.0 / 11.0) + s4 * _pair(s2, 1.0 / 13.0, 1.0 / 15.0)) + (s4 * s4) * (
        _pair(s2, 1.0 / 17.0, 1.0 / 19.0) + s4 * (1.0 / 21.0)
    )
    return _log1p_from_series(s, s2, s4, tail, upper)


@njit(**_EXACT_OPTIONS)
def log1p_unit_float32(e):
    """log1p_unit to the accuracy float32 data need (see _FLOAT32_ACCURACY): the
    series to s^10 / 11 (6 terms), whose truncation error is below 1e-10 relative."""
    s, upper = _log1p_reduced(e)
    s2 = s * s
    s4 = s2 * s2
    return _log1p_from_series(s, s2, s4, _pair(s2, 1.0 / 9.0, 1.0 / 11.0), upper)


@njit(**_EXACT_OPTIONS)
def log1pexp(z):
    """log(1 + e^z), finite and accurate for every finite z (also |z| = 1e300)."""
    return max(z, 0.0) + log1p_unit(exp_nonpositive(-abs(z)))


@njit(**_EXACT_OPTIONS)
def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z), computed from e^-|z| so that nothing overflows."""
    e = exp_nonpositive(-abs(z))
    inv = 1.0 / (1.0 + e)
    return inv if z >= 0.0 else e * inv


@njit(**_EXACT_OPTIONS)
def log_sigmoid(z):
    """log σ(z) = -log(1 + e^-z), never the log of a rounded probability."""
    return -log1pexp(-z)


@njit(**_EXACT_OPTIONS)
def loss_and_residual(z, y):
    """Per-example loss and residual for margin z and label y in [0, 1].

    loss = log(1 + e^z) - y z   (= -(y log a + (1-y) log(1-a)), a = σ(z))
    residual = a - y             (= dJ/dz)

    See loss_residual_curvature.
    """
    loss, residual, _ = loss_residual_curvature(z, y)
    return loss, residual


@njit(**_EXACT_OPTIONS)
def loss_residual_curvature(z, y):
    """(loss, residual, σ'(z)) for margin z and label y in [0, 1], sharing one exp.

    The linear part of the loss is written as (1-y) z or -y z on the side of zero
    where it does not cancel, so a label of 1 with z = 1e300 gives a loss of exactly
    0, not inf - inf; the residual is (1-y) a - y (1-a) with 1-a computed directly.
    """
    return loss_residual_curvature_given_exp(z, y, exp_nonpositive(-abs(z)))


@njit(**_EXACT_OPTIONS)
def loss_residual_curvature_given_exp(z, y, e):
    """loss_residual_curvature(z, y) given e = exp_nonpositive(-|z|), for loops that
    compute the exponentials of a tile first (see _kernels.example_terms)."""
    return _loss_residual_curvature_given(z, y, e, log1p_unit(e))


@njit(**_EXACT_OPTIONS)
def _loss_residual_curvature_given(z, y, e, log1p_e):
    """loss_residual_curvature(z, y) given e = e^-|z| and log1p_e = log(1 + e).

    Two divisions (here and in log1p's reduction).  One division instead, q = 1 / ((1 +
    e) (2 + e)) and both quotients from q, was no faster (AMD EPYC Zen 4, AVX-512, in
    cache, loss and residual: 2.00 -> 2.07 ns per example): the loop is bound by the
    number of vector operations, not by the divider."""
    inv = 1.0 / (1.0 + e)
    positive = z >= 0.0
    linear = (z - y * z) if positive else -y * z
    a = inv if positive else e * inv
    one_minus_a = e * inv if positive else inv
    loss = linear + log1p_e
    residual = (1.0 - y) * a - y * one_minus_a
    return loss, residual, e * inv * inv


@njit(**_EXACT_OPTIONS)
def sigmoid_derivative(z):
    """σ'(z) = σ(z)(1 - σ(z)), without overflow."""
    e = exp_nonpositive(-abs(z))
    inv = 1.0 / (1.0 + e)
    return e * inv * inv



@njit(**_EXACT_OPTIONS)
def exp_for(dtype, x):
    """exp_nonpositive(x) at the accuracy data of ``dtype`` (an array's .dtype) need:
    the float32 twin for float32 (see _FLOAT32_ACCURACY), chosen at compile time."""
    if is_float32(dtype):
        return exp_nonpositive_float32(x)
    return exp_nonpositive(x)


@njit(**_EXACT_OPTIONS)
def loss_residual_curvature_for(dtype, z, y, e):
    """loss_residual_curvature_given_exp at the accuracy data of ``dtype`` need, given
    e = exp_for(dtype, -|z|); see exp_for."""
    if is_float32(dtype):
        return _loss_residual_curvature_given(z, y, e, log1p_unit_float32(e))
    return loss_residual_curvature_given_exp(z, y, e)
