"""Time to reach the same optimum: fastlogreg against scikit-learn, scikit-learn-intelex
and glum (each when installed), measured in one process.

The optimum f* of ½‖w‖² + C Σ L_i is computed once (fastlogreg newton-cholesky at
tol 1e-12, checked against scikit-learn at tight tol).  Each contender is then run with
tolerances from loose to tight; its time is that of the loosest tolerance whose
objective is within --gap (default 1e-9) relative of f*: the time it needs to reach the
optimum, not the time it takes with an arbitrary default.  Median of --repeat interleaved
rounds (one fit of each contender per round).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/fit_speed.py
    python benchmarks/fit_speed.py --shape 500 10 --repeat 21       # the small problem
    python benchmarks/fit_speed.py --shape 200000 100 --column-scales 0.1 10 --column-shift 5
                                                  # features neither scaled nor centred
    python benchmarks/fit_speed.py --shape 4000000 10 --order F --dtype float32 --only-fastlogreg
                                                  # fastlogreg's solvers against each other

Data: asv_bench/benchmarks/common.py's seeded synthetic problem (the same as asv's).
"""

import argparse
import pathlib
import sys
import warnings

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "asv_bench"))
from benchmarks.common import SHAPES, classification_data, unstandardise  # noqa: E402

from fastlogreg import LogisticRegression, _bench  # noqa: E402

TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12]


def objective(X, y, coef, intercept, C):
    z = X @ coef.astype(np.float64) + intercept
    return 0.5 * float(coef @ coef) + C * float(np.sum(np.logaddexp(0.0, z) - y * z))


def contenders(C, m, only_fastlogreg=False):
    yield "fastlogreg auto", lambda tol: LogisticRegression(C=C, tol=tol, max_iter=1000)
    for solver in ("lbfgs", "newton-cg", "newton-cholesky"):
        yield f"fastlogreg {solver}", lambda tol, s=solver: LogisticRegression(
            C=C, tol=tol, max_iter=1000, solver=s
        )
    if only_fastlogreg:
        return
    try:
        from sklearn.linear_model import LogisticRegression as Sk

        yield "sklearn lbfgs", lambda tol: Sk(C=C, tol=tol, max_iter=100_000)
        yield "sklearn newton-cholesky", lambda tol: Sk(C=C, tol=tol, max_iter=1000, solver="newton-cholesky")
    except ImportError:
        print("scikit-learn not installed: skipped")
    try:
        from sklearnex.linear_model import LogisticRegression as Skex

        yield "sklearnex lbfgs", lambda tol: Skex(C=C, tol=tol, max_iter=100_000)
    except ImportError:
        print("scikit-learn-intelex not installed: skipped")
    try:
        import glum

        yield "glum irls", lambda tol: glum.GeneralizedLinearRegressor(
            family="binomial", alpha=1.0 / (C * m), l1_ratio=0.0, gradient_tol=tol, max_iter=1000,
        )
    except ImportError:
        print("glum not installed: skipped")


def coefficients(model):
    coef = np.ravel(model.coef_)
    intercept = float(np.ravel(model.intercept_)[0]) if np.ndim(model.intercept_) else float(model.intercept_)
    return coef, intercept


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", nargs=2, type=int, default=list(SHAPES["1e6x100"]), metavar=("M", "N"))
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--order", choices=["C", "F"], default="C", help="memory order of X")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument(
        "--gap", type=float, default=1e-9, help="relative objective gap that counts as reached"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--column-scales", nargs=2, type=float, metavar=("LOW", "HIGH"),
        help="multiply each feature by a factor drawn log-uniformly from [LOW, HIGH] (seeded)",
    )
    parser.add_argument(
        "--column-shift", type=float, default=0.0, metavar="S",
        help="add to each feature a constant drawn uniformly from [-S, S] (seeded)",
    )
    parser.add_argument(
        "--settle", type=float, default=_bench.SETTLE_SECONDS,
        help="idle seconds before each timed fit (lets BLAS threads stop spinning; default %(default)s)",
    )
    parser.add_argument(
        "--only-fastlogreg", action="store_true", help="time fastlogreg's solvers only"
    )
    args = parser.parse_args(argv)

    m, n = args.shape
    X, y, _ = classification_data((m, n), args.dtype, args.order, seed=0)
    unstandardise(X, args.column_scales, args.column_shift)
    C = args.C
    reference = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12, max_iter=100).fit(X, y)
    f_star = objective(X, y, *coefficients(reference), C)
    columns = ""
    if args.column_scales or args.column_shift:
        low, high = args.column_scales or (1, 1)
        columns = f" (features scaled by {low:g} to {high:g}, shifted by up to ±{args.column_shift:g})"
    print(f"X {m} x {n} {args.dtype} {args.order}-ordered{columns}, C={C}; f* = {f_star:.12g}; "
          f"reached = within {args.gap:g} relative")
    header = f"{'contender':<26} {'tol':>7} {'iterations':>10} {'passes':>6} {'median ms':>10} {'gap':>10}"
    print(f"{header} {'÷ fastlogreg auto':>18}")
    chosen = {}
    for name, make in contenders(C, m, args.only_fastlogreg):
        for tol in TOLS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make(tol).fit(X, y)
            gap = (objective(X, y, *coefficients(model), C) - f_star) / abs(f_star)
            if gap <= args.gap:
                iterations = int(np.max(np.ravel(getattr(model, "n_iter_", -1))))
                passes = str(getattr(model, "n_passes_", "n/a"))  # passes over X: fastlogreg's
                chosen[name] = (tol, gap, make, iterations, passes)
                break
        else:
            print(f"{name:<26} did not reach the optimum at tol {TOLS[-1]:g} (gap {gap:.2e})")

    def fit_with(make, tol):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make(tol).fit(X, y)
        return run

    # Timed in interleaved rounds (one fit of each contender per round, an idle pause
    # before each): a slow spell of this shared machine then hits every contender.
    medians = _bench.interleaved(
        {name: fit_with(make, tol) for name, (tol, _, make, *_) in chosen.items()},
        args.repeat, args.settle,
    )
    baseline = medians.get("fastlogreg auto")
    for name, (tol, gap, _, iterations, passes) in chosen.items():
        ratio = f"{medians[name] / baseline:17.2f}x" if baseline else ""
        print(f"{name:<26} {tol:7.0e} {iterations:10d} {passes:>6} {medians[name] * 1e3:10.4g} {gap:10.1e} "
              f"{ratio}")

if __name__ == "__main__":
    main()
