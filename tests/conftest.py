import numba
import numpy as np
import pytest


def make_data(m=600, n=7, seed=0, scale=1.0):
    """A small seeded binary problem with informative features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * scale
    w = rng.standard_normal(n)
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.float64)
    return X, y


@pytest.fixture
def data():
    return make_data()


two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs numba to have at least 2 threads"
)
