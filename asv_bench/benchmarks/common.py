"""Shared data sets and yardsticks for the benchmarks.

Data sets are seeded and APPEND-ONLY: changing an existing one breaks the history of
every benchmark that uses it.  Add a new one instead.

FASTLOGREG_ASV_SCALE (default 1) multiplies the number of rows: CI's smoke run uses a
tiny scale to prove that every benchmark runs, without timing anything.
"""

import os

import numba
import numpy as np

from fastlogreg import _bench

SCALE = float(os.environ.get("FASTLOGREG_ASV_SCALE", "1"))

# name -> (rows, features): the shapes the targets are stated for
SHAPES = {
    "1e6x100": (1_000_000, 100),
    "4e6x10": (4_000_000, 10),
    "1e5x1000": (100_000, 1000),
}


def rows(m):
    return max(int(m * SCALE), 64)


def classification_data(shape, dtype="float64", order="C", seed=0):
    """X (m, n) standard normal, w* ~ N(0, 1/n), y ~ Bernoulli(σ(X w*)): a well-posed
    problem.  shape: a name of SHAPES, or (m, n)."""
    m, n = SHAPES[shape] if isinstance(shape, str) else shape
    m = rows(m)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=np.float32 if dtype == "float32" else np.float64)
    if order == "F":
        X = np.asfortranarray(X)
    w_true = rng.standard_normal(n) / np.sqrt(n)
    z = X @ w_true.astype(X.dtype)
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y, w_true


def unstandardise(X, scales=None, shift=0.0, seed=1):
    """Features as they often come, neither scaled nor centred: each column of X
    multiplied by a factor drawn log-uniformly from scales = (low, high) (None: 1) and
    moved by a constant drawn uniformly from [-shift, shift]; in place, seeded."""
    rng = np.random.default_rng(seed)
    n = X.shape[1]
    if scales is not None:
        low, high = scales
        X *= np.exp(rng.uniform(np.log(low), np.log(high), n)).astype(X.dtype)
    if shift:
        X += rng.uniform(-shift, shift, n).astype(X.dtype)
    return X


# The yardsticks live in the package (fastlogreg._bench), shared with `fastlogreg bench`
# and benchmarks/kernel_speed.py: a read-only parallel pass over X, and the NumPy form.
make_read_pass = _bench.read_pass


def make_numpy_form(X, y, w, b=0.0):
    return _bench.numpy_form(X, y, w, b)


def median_ratio(slow, fast, repeat=11, uses_blas=False):
    """Median over interleaved rounds of time(slow) / time(fast), after a warm-up (with
    an idle pause before each call where a candidate uses BLAS: see fastlogreg._bench)."""
    settle = _bench.SETTLE_SECONDS if uses_blas else 0.0
    return _bench.median_ratio(slow, fast, repeat, settle)


class Threads:
    """Context: numba's thread count for the block, restored afterwards."""

    def __init__(self, n):
        self.n = min(n, numba.config.NUMBA_NUM_THREADS)

    def __enter__(self):
        self.previous = numba.get_num_threads()
        numba.set_num_threads(self.n)

    def __exit__(self, *exc):
        numba.set_num_threads(self.previous)
