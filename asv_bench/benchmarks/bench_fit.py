"""LogisticRegression.fit: time, peak memory, iterations and objective per solver."""

import tracemalloc
import warnings

import numpy as np

from fastlogreg import LogisticRegression

from .common import classification_data, unstandardise

SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "gd"]
DTYPES = ["float64", "float32"]


def _fit(X, y, solver):
    # tol 1e-6 on the scaled objective; gd is capped at 300 steps (it would need
    # thousands): its objective track shows how far it gets.
    kwargs = dict(solver=solver, tol=1e-6, max_iter=300 if solver == "gd" else 200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stopping at max_iter is tracked, not an error
        return LogisticRegression(**kwargs).fit(X, y)


class Fit:
    """Fit on 1e6 x 100 (C order)."""

    params = (SOLVERS, DTYPES)
    param_names = ["solver", "dtype"]
    timeout = 1800
    number = 1
    repeat = (1, 3, 60.0)

    def setup_cache(self):
        """One fit per solver and dtype, for the tracks (run once, not per track)."""
        results = {}
        for dtype in DTYPES:
            X, y, _ = classification_data("1e6x100", dtype, "C")
            for solver in SOLVERS:
                _fit(X[:1000], y[:1000], solver)  # compile outside the measurement
                tracemalloc.start()
                try:
                    model = _fit(X, y, solver)
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                results[solver, dtype] = {
                    "n_iter": int(model.n_iter_[0]),
                    "n_passes": int(model.n_passes_),
                    "objective": float(model.objective_),
                    "extra_memory": peak / X.nbytes,
                }
        return results

    def setup(self, results, solver, dtype):
        self.X, self.y, _ = classification_data("1e6x100", dtype, "C")
        _fit(self.X[:1000], self.y[:1000], solver)

    def time_fit(self, results, solver, dtype):
        _fit(self.X, self.y, solver)

    def peakmem_fit(self, results, solver, dtype):
        _fit(self.X, self.y, solver)

    def track_n_iter(self, results, solver, dtype):
        return results[solver, dtype]["n_iter"]

    track_n_iter.unit = "iterations"

    def track_n_passes(self, results, solver, dtype):
        """Passes over X (LogisticRegression.n_passes_): the fit's time is about this
        many passes' time, so a change in it shows here without timing noise."""
        return results[solver, dtype]["n_passes"]

    track_n_passes.unit = "passes"

    def track_objective(self, results, solver, dtype):
        """The scaled objective reached: a speed-up that changes the answer shows here."""
        return results[solver, dtype]["objective"]

    track_objective.unit = "objective"

    def track_extra_memory_fraction(self, results, solver, dtype):
        """Peak NumPy memory allocated during fit ÷ the size of X (a copy of X shows as 1.0)."""
        return results[solver, dtype]["extra_memory"]

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


class FitUnstandardised:
    """Fit on 1e5 x 50 features scaled by 0.1 to 10 and shifted by up to ±5 (not
    standardised): the solvers' change of variables (see _solvers.VariableChange)."""

    params = (["lbfgs", "newton-cg"],)
    param_names = ["solver"]
    timeout = 600

    def setup(self, solver):
        X, self.y, _ = classification_data((100_000, 50), "float64", "C")
        self.X = unstandardise(X, (0.1, 10.0), 5.0)
        _fit(self.X[:1000], self.y[:1000], solver)

    def time_fit(self, solver):
        _fit(self.X, self.y, solver)

    def track_n_iter(self, solver):
        return int(_fit(self.X, self.y, solver).n_iter_[0])

    track_n_iter.unit = "iterations"

    def track_n_passes(self, solver):
        return int(_fit(self.X, self.y, solver).n_passes_)

    track_n_passes.unit = "passes"
