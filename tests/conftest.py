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


@pytest.fixture
def problem_passes(monkeypatch):
    """The list of passes over X made from now on in this process: the name of each call
    of a Problem method that reads all of its rows (problems of 2 rows, the kernels'
    warm-up, not counted)."""
    from fastlogreg._problem import Problem

    calls = []
    for name in ("loss_grad_sums", "hessp_sums", "gram", "loss_grad_gram"):
        method = getattr(Problem, name)

        def counted(self, *args, _method=method, _name=name):
            if self.n_samples > 2:
                calls.append(_name)
            return _method(self, *args)

        monkeypatch.setattr(Problem, name, counted)
    return calls
