"""The scalar math of _math (exp, log1p) against an extended-precision reference."""

import numba
import numpy as np
import pytest

from fastlogreg._math import (
    _loss_residual_curvature_given,
    exp_for,
    exp_nonpositive,
    exp_nonpositive_float32,
    log1p_unit,
    log1p_unit_float32,
    loss_residual_curvature_for,
    loss_residual_curvature_given_exp,
)

pytestmark = pytest.mark.skipif(
    np.finfo(np.longdouble).nmant < 60, reason="no extended-precision long double for the reference"
)


@numba.njit(error_model="numpy")
def _elementwise(f, x):
    """f (a jitted scalar function) of each entry of the float64 vector x."""
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = f(x[i])
    return out


def _ulps(got, exact):
    """|got - exact| in units of the last place of float64 at exact (exact: long double)."""
    spacing = np.spacing(exact.astype(np.float64)).astype(np.longdouble)
    return (np.abs(got.astype(np.longdouble) - exact) / spacing).astype(np.float64)


def test_exp_nonpositive_is_accurate_over_its_whole_range():
    rng = np.random.default_rng(1)
    x = np.concatenate([
        -rng.random(200_000) * 708.0,
        -rng.random(20_000) * 1e-3,
        -np.arange(1022) * np.log(2.0),  # every power of two the result is scaled by
        [0.0, -5e-324, -1e-300, -707.9999, -708.0],
    ])
    got = _elementwise(exp_nonpositive, x)
    assert _ulps(got, np.exp(x.astype(np.longdouble))).max() <= 2.5
    assert (got[x == 0.0] == 1.0).all()
    # below the smallest normal result: exactly 0
    below = np.array([-708.0001, -745.2, -1e4, -1e300, -np.inf])
    assert _elementwise(exp_nonpositive, below).tolist() == [0.0] * len(below)


def test_log1p_unit_is_accurate_on_0_to_1():
    rng = np.random.default_rng(2)
    e = np.concatenate([
        rng.random(200_000),
        rng.random(20_000) * 1e-6,
        np.sqrt(2.0) - 1.0 + (rng.random(20_000) - 0.5) * 1e-6,  # where its two forms meet
        [5e-324, 1e-300, 1.0],
    ])
    got = _elementwise(log1p_unit, e)
    assert _ulps(got, np.log1p(e.astype(np.longdouble))).max() <= 2.5
    assert _elementwise(log1p_unit, np.zeros(1))[0] == 0.0


def _relative_error(got, exact):
    """|got - exact| / |exact|, the error of subnormal results relative to the smallest
    normal float64 (where no float64 is exact to more than its spacing)."""
    scale = np.maximum(np.abs(exact), np.finfo(np.float64).tiny)
    return (np.abs(got.astype(np.longdouble) - exact) / scale).astype(np.float64)


def test_the_float32_twins_are_accurate_to_3e_10_relative():
    """exp and log1p for float32 data (see _math._FLOAT32_ACCURACY): shorter
    polynomials, the same range and exact cases, well below float32's 6e-8."""
    rng = np.random.default_rng(3)
    x = np.concatenate([-rng.random(200_000) * 708.0, -np.arange(1022) * np.log(2.0), [0.0, -708.0]])
    got = _elementwise(exp_nonpositive_float32, x)
    assert _relative_error(got, np.exp(x.astype(np.longdouble))).max() < 3e-10
    assert (got[x == 0.0] == 1.0).all()
    below = np.array([-708.0001, -1e300, -np.inf])
    assert _elementwise(exp_nonpositive_float32, below).tolist() == [0.0] * len(below)
    e = np.concatenate([rng.random(200_000), rng.random(20_000) * 1e-6, [5e-324, 1e-300, 1.0]])
    got = _elementwise(log1p_unit_float32, e)
    assert _relative_error(got, np.log1p(e.astype(np.longdouble))).max() < 1e-10
    assert _elementwise(log1p_unit_float32, np.zeros(1))[0] == 0.0
    # and they are less exact than the float64 versions: the test can tell them apart
    assert _relative_error(got, np.log1p(e.astype(np.longdouble))).max() > 1e-15


@numba.njit(error_model="numpy")
def _terms_for(dtype, z, y):
    e = exp_for(dtype, -abs(z))
    return loss_residual_curvature_for(dtype, z, y, e)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_terms_follow_the_dtype_in_jitted_and_python_code(dtype):
    """exp_for / loss_residual_curvature_for pick the float32 twins for float32 data
    alone, in jitted code (at compile time) as in Python."""
    z, y = 0.731, 1.0
    if dtype == np.float32:
        e = exp_nonpositive_float32(-z)
        expected = _loss_residual_curvature_given(z, y, e, log1p_unit_float32(e))
    else:
        e = exp_nonpositive(-z)
        expected = loss_residual_curvature_given_exp(z, y, e)
    assert _terms_for(np.dtype(dtype), z, y) == expected
    assert loss_residual_curvature_for(np.dtype(dtype), z, y, exp_for(np.dtype(dtype), -z)) == expected
    full = loss_residual_curvature_given_exp(z, y, exp_nonpositive(-z))
    assert (expected == full) == (dtype == np.float64)
