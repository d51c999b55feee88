"""The scalar math of _math (exp, log1p) against an extended-precision reference."""

import numba
import numpy as np
import pytest

from fastlogreg._math import exp_nonpositive, log1p_unit

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
