"""Shared data sets and yardsticks for the benchmarks.

Data sets are seeded and APPEND-ONLY: changing an existing one breaks the history of
every benchmark that uses it.  Add a new one instead.

FASTLOGREG_ASV_SCALE (default 1) multiplies the number of rows: CI's smoke run uses a
tiny scale to prove that every benchmark runs, without timing anything.
"""

import os
import statistics
import time

import numba
import numpy as np

from fastlogreg import _kernels

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
    """X (m, n) standard normal, w* ~ N(0, 1/n), y ~ Bernoulli(σ(X w*)): a well-posed problem."""
    m, n = SHAPES[shape]
    m = rows(m)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=np.float32 if dtype == "float32" else np.float64)
    if order == "F":
        X = np.asfortranarray(X)
    w_true = rng.standard_normal(n) / np.sqrt(n)
    z = X @ w_true.astype(X.dtype)
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)
    return X, y, w_true


def kernel_view(X):
    """(the C-contiguous array the kernels read, colmajor)."""
    colmajor = X.flags.f_contiguous and not X.flags.c_contiguous
    return (X.T if colmajor else X), colmajor


def make_read_pass(X):
    """A parallel pass that reads every element of X once: the memory-bandwidth yardstick."""
    data, colmajor = kernel_view(X)
    _, block_rows, n_blocks = _kernels.plan(X.shape[0], X.shape[1], X.itemsize, colmajor)
    partials = np.empty((n_blocks, 1))
    return lambda: _kernels.read_pass_parallel(data, colmajor, block_rows, partials)


def make_numpy_form(X, y, w, b=0.0):
    """The textbook's vectorised form: X@w, σ, the loss, X.T@(a - y)."""
    w = w.astype(X.dtype)

    def run():
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        J = np.mean(np.logaddexp(0.0, z) - y * z)
        dz = a - y
        return J, X.T @ dz / len(y), dz.mean()

    return run


def median_ratio(slow, fast, repeat=5):
    """median(time of slow) / median(time of fast), measured interleaved after a warm-up."""
    slow()
    fast()
    t_slow, t_fast = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        slow()
        t_slow.append(time.perf_counter() - start)
        start = time.perf_counter()
        fast()
        t_fast.append(time.perf_counter() - start)
    return statistics.median(t_slow) / statistics.median(t_fast)


class Threads:
    """Context: numba's thread count for the block, restored afterwards."""

    def __init__(self, n):
        self.n = min(n, numba.config.NUMBA_NUM_THREADS)

    def __enter__(self):
        self.previous = numba.get_num_threads()
        numba.set_num_threads(self.n)

    def __exit__(self, *exc):
        numba.set_num_threads(self.previous)
