"""The measuring code behind benchmarks/ (no timing is asserted: only what the numbers
mean and how they relate)."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from fastlogreg import _bench

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize("kernel", ["gradient", "hessp"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_measure_profile(kernel, order):
    X, y = _bench.make_data(3000, 7, order=order)
    before = X.copy()
    r = _bench.measure_profile(X, y, 3, kernel=kernel, in_cache_bytes=16 * 1024)
    for key in ("read_ms", "kernel_ms", "compute_ms", "compute_ns_per_row", "read_GBps"):
        assert np.isfinite(r[key]) and r[key] > 0, key
    # per round, read / (read + compute) <= read / max(read, compute) <= 1, so the
    # medians keep that order
    assert 0 < r["fraction_if_serial"] <= r["fraction_if_overlapped"] <= 1
    assert r["fraction_of_read"] > 0
    np.testing.assert_array_equal(X, before)


def test_measure_profile_rejects_unknown_kernel():
    X, y = _bench.make_data(100, 3)
    with pytest.raises(ValueError, match="kernel must be 'gradient' or 'hessp', got 'hessian'"):
        _bench.measure_profile(X, y, 1, kernel="hessian")


def test_kernel_profile_script(capsys):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    module["main"](["--shape", "2000", "5", "--dtype", "float32", "--order", "F", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "if overlapped" in out and "2000x5" in out and "float32" in out
