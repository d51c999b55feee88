"""LogisticRegression.fit: time, peak memory, iterations and objective per solver."""

import tracemalloc
import warnings

import numpy as np

from fastlogreg import LogisticRegression

from .common import classification_data

SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "gd"]


class Fit:
    """Fit on 1e6 x 100 (C order) to tol=1e-6 on the scaled objective."""

    params = (SOLVERS, ["float64", "float32"])
    param_names = ["solver", "dtype"]
    timeout = 900
    number = 1
    repeat = (1, 3, 60.0)

    def setup(self, solver, dtype):
        self.X, self.y, _ = classification_data("1e6x100", dtype, "C")
        self.kwargs = dict(solver=solver, tol=1e-6, max_iter=2000 if solver == "gd" else 200)
        # compile outside the timing
        self._fit(self.X[:1000], self.y[:1000])

    def _fit(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gd may stop at max_iter: tracked, not an error
            return LogisticRegression(**self.kwargs).fit(X, y)

    def time_fit(self, solver, dtype):
        self._fit(self.X, self.y)

    def peakmem_fit(self, solver, dtype):
        self._fit(self.X, self.y)

    def track_n_iter(self, solver, dtype):
        return int(self._fit(self.X, self.y).n_iter_[0])

    track_n_iter.unit = "iterations"

    def track_objective(self, solver, dtype):
        """The scaled objective reached: a speed-up that changes the answer shows here."""
        return float(self._fit(self.X, self.y).objective_)

    track_objective.unit = "objective"

    def track_extra_memory_fraction(self, solver, dtype):
        """Peak NumPy memory allocated during fit ÷ the size of X (a copy of X shows as 1.0)."""
        tracemalloc.start()
        try:
            self._fit(self.X, self.y)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak / self.X.nbytes

    track_extra_memory_fraction.unit = "fraction of X"


class FitSmall:
    """Many small fits (500 x 10): the per-fit overhead."""

    params = (["auto", "lbfgs"],)
    param_names = ["solver"]

    def setup(self, solver):
        rng = np.random.default_rng(1)
        self.X = rng.standard_normal((500, 10))
        self.y = (rng.random(500) < 1 / (1 + np.exp(-self.X @ np.linspace(-1, 1, 10)))).astype(int)
        LogisticRegression(solver=solver).fit(self.X, self.y)

    def time_fit(self, solver):
        LogisticRegression(solver=solver).fit(self.X, self.y)
