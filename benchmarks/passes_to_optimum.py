"""Passes over X that each solver needs to come within --gap of the optimum: the part
of a fit's time that does not depend on the machine (a fit of 1e6 x 100 is its
passes times the time of one pass, plus little else).

For each of fastlogreg's solvers, and for Newton with the Hessian of a sample of rows
(not a solver of fastlogreg: shown to tell whether it would save passes), prints the
relative gap (f - f*) / f* of the best point evaluated after each pass.  f* comes from
newton-cholesky at tol 1e-12, as in fit_speed.py.

    python benchmarks/passes_to_optimum.py                        # 1e6 x 100
    python benchmarks/passes_to_optimum.py --shape 200000 100 --column-scales 0.1 10

Sample Hessian: the rows the change of variables samples
(_problem.sample_row_indices: runs of up to 64 consecutive rows spread evenly through
X), Xₛᵀ Dₛ Xₛ / |S| + α with the Hessian weights Dₛ of the full pass at the same
point, and the full step -H⁻¹∇f (no line search).  It costs |S| n² multiply-adds per
step besides the pass.

Data: asv_bench/benchmarks/common.py's seeded synthetic problem (the same as asv's).
"""

import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "asv_bench"))
from benchmarks.common import SHAPES, classification_data, unstandardise  # noqa: E402

from fastlogreg import _solvers  # noqa: E402
from fastlogreg._problem import Problem, sample_row_indices  # noqa: E402


class PassLimit(Exception):
    """Raised when a solver asks for more passes than recorded."""


class RecordingObjective(_solvers.Objective):
    """The objective, recording the best value evaluated so far after each pass, up
    to ``max_passes`` passes (then PassLimit)."""

    def __init__(self, problem, C, max_passes):
        super().__init__(problem, C, True)
        self.max_passes = max_passes
        self.best = []

    def _next_pass(self):
        if len(self.best) >= self.max_passes:
            raise PassLimit

    def _record(self, value=np.inf):
        self.best.append(min(value, self.best[-1] if self.best else np.inf))

    def value_and_gradient(self, theta, want_hessian=False):
        self._next_pass()
        value, grad = super().value_and_gradient(theta, want_hessian)
        self._record(value)
        return value, grad

    def value_gradient_hessian(self, theta):
        self._next_pass()
        value, grad, hessian = super().value_gradient_hessian(theta)
        self._record(value)
        return value, grad, hessian

    def hessian_vector_product(self, v):
        self._next_pass()
        self._record()
        return super().hessian_vector_product(v)


def sample_hessian_newton(objective, sample_rows):
    """Newton with the Hessian of ``sample_rows`` rows of X (see the module docstring)."""
    X = objective.problem.X
    m, n = X.shape
    rows = sample_row_indices(m, sample_rows)
    sample = np.ones((rows.size, n + 1))
    sample[:, :n] = X[rows]
    theta = objective.initial_theta()
    while True:  # until the objective's PassLimit
        _, grad = objective.value_and_gradient(theta, want_hessian=True)
        d = objective._hess_weights[rows]
        hessian = (sample.T * d) @ sample / rows.size
        hessian[np.arange(n), np.arange(n)] += objective.alpha
        theta = theta - np.linalg.solve(hessian, grad)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", nargs=2, type=int, default=list(SHAPES["1e6x100"]), metavar=("M", "N"))
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--gap", type=float, default=1e-9, help="relative gap to the optimum (default 1e-9)")
    parser.add_argument("--max-passes", type=int, default=12)
    parser.add_argument("--sample-rows", nargs="*", type=int, default=[4096, 16384, 65536],
                        help="sample sizes of the sample-Hessian Newton (default 4096 16384 65536)")
    parser.add_argument("--column-scales", nargs=2, type=float, metavar=("LOW", "HIGH"))
    parser.add_argument("--column-shift", type=float, default=0.0)
    args = parser.parse_args(argv)
    if args.max_passes < 1 or args.gap <= 0 or any(s < 1 for s in args.sample_rows):
        parser.error("--max-passes, --gap and --sample-rows must be positive")
    if not 0 < args.C < np.inf:  # the sample Hessians need the penalty to be invertible
        parser.error(f"--C must be positive and finite, got {args.C}")

    X, y, _ = classification_data(tuple(args.shape))
    unstandardise(X, args.column_scales, args.column_shift)
    problem = Problem(X, y)

    def objective():
        return RecordingObjective(problem, args.C, args.max_passes)

    reference = _solvers.Objective(problem, args.C, True)
    optimum = _solvers.newton_cholesky(reference, reference.initial_theta(), 1e-12, 100).objective
    m, n = args.shape
    print(f"X {m} x {n}, C {args.C:g}: f* = {optimum:.12g}; relative gap after each pass")

    methods = {
        name: lambda o, solver=_solvers.SOLVERS[name]: solver(o, o.initial_theta(), 0.0, args.max_passes)
        for name in ("lbfgs", "newton-cg", "newton-cholesky")
    }
    for rows in args.sample_rows:
        methods[f"Newton, Hessian of {rows} rows"] = lambda o, r=rows: sample_hessian_newton(o, r)
    runs = {}
    for name, method in methods.items():
        recording = objective()
        try:
            method(recording)
        except PassLimit:
            pass
        runs[name] = recording.best

    for name, best in runs.items():
        gaps = [(value - optimum) / abs(optimum) for value in best]
        reached = next((i + 1 for i, gap in enumerate(gaps) if gap <= args.gap), None)
        passes = f"{reached if reached else '>' + str(len(gaps)):>3}"
        print(f"{name:<32} {passes} passes to {args.gap:g}: " + " ".join(f"{g:.1e}" for g in gaps))


if __name__ == "__main__":
    main()
