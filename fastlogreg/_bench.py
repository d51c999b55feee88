"""Speed measurements shared by ``fastlogreg bench`` and ``benchmarks/kernel_speed.py``.

Each comparison is timed in one process, interleaved and repeated, and reported as
medians and ratios: on a shared or noisy machine a ratio measured side by side means
more than an absolute time.

* The fused cost-and-gradient kernel against a read-only parallel pass over the same X
  (the memory-bandwidth yardstick) and against the NumPy form (X@w, σ, the loss,
  X.T@(a - y): X is read twice and m-sized temporaries are written).
* A whole fit: ``LogisticRegression(solver="lbfgs")`` against the same L-BFGS-B run on
  a NumPy objective and, when installed, scikit-learn's ``LogisticRegression``
  (lbfgs), all with the same C, tol and max_iter; the objective each one reached is
  reported with its time.
"""

import re
import statistics
import time
import warnings

import numba
import numpy as np

from . import _kernels
from .functional import cost_and_gradient
from .kernels import NO_WEIGHTS


def make_data(m, n, dtype=np.float64, order="C", seed=42):
    """Seeded synthetic data: Gaussian X, labels drawn from a logistic model (so the
    classes overlap and the optimum is finite)."""
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.standard_normal((m, n)).astype(dtype), order=order)
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(X @ w.astype(dtype) + 0.1)))).astype(np.float64)
    return X, y


def evaluation_point(n):
    """The (w, b) at which the kernel benchmarks evaluate: seeded, margins of order 1."""
    rng = np.random.default_rng(0)
    return rng.standard_normal(n) / np.sqrt(n), 0.1


DEFAULT_SHAPE = (1_000_000, 100)


def add_case_arguments(parser):
    """The options of the kernel scripts in benchmarks/: the shapes of X (``--shape M N``,
    repeatable), its dtypes and memory orders, and the number of interleaved rounds."""
    parser.add_argument("--shape", nargs=2, type=int, action="append", metavar=("M", "N"),
                        help="shape of X; repeat for several (default: 1000000 100)")
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--order", nargs="+", default=["C", "F"])
    parser.add_argument("--repeat", type=int, default=11)


def cases(args, default_shapes=(DEFAULT_SHAPE,)):
    """(label, dtype name, order, X, y) for every shape, dtype and order of ``args``
    (parsed with ``add_case_arguments``; ``default_shapes`` where no --shape was
    given), each data set made when its turn comes."""
    for m, n in args.shape or default_shapes:
        for dtype in args.dtype:
            for order in args.order:
                X, y = make_data(m, n, dtype=dtype, order=order)
                yield f"{m}x{n}", np.dtype(dtype).name, order, X, y


def read_pass(X):
    """A parallel pass that reads every element of X once and does nothing else: X's
    memory (C- or F-ordered) read as one contiguous run, in as many chunks as the
    kernels have blocks."""
    colmajor = X.flags.f_contiguous and not X.flags.c_contiguous
    data = X.T if colmajor else X
    _, _, n_blocks = _kernels.plan(*X.shape, X.itemsize, colmajor)
    partials = np.empty((n_blocks, 1))
    return lambda: _kernels.read_pass_parallel(data, partials)


def numpy_form(X, y, w, b):
    """Cost and gradient the NumPy way: several passes and m-sized temporaries."""
    w = w.astype(X.dtype)

    def run():
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        J = np.mean(np.logaddexp(0.0, z) - y * z)
        dz = a - y
        return J, X.T @ dz / len(y), dz.mean()

    return run


# Where a candidate calls BLAS, each timed call is preceded by an idle pause: after a
# parallel call, OpenBLAS's threads spin for about 0.1 s before they sleep, and take the
# cores from whichever candidate runs next (measured: our kernel ran 1.9x slower right
# after a NumPy matrix product).  Without BLAS, calls follow each other as in a fit.
SETTLE_SECONDS = 0.15


def timed(fn, settle=0.0):
    if settle:
        time.sleep(settle)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_times(candidates, repeat, settle=0.0):
    """{name: [seconds per round]} over ``repeat`` interleaved rounds (after a warm-up),
    each call preceded by ``settle`` seconds of idle time."""
    for fn in candidates.values():
        fn()
    times = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            times[name].append(timed(fn, settle))
    return times


def interleaved(candidates, repeat, settle=0.0):
    """Median time of each candidate over ``repeat`` interleaved rounds."""
    times = interleaved_times(candidates, repeat, settle)
    return {name: statistics.median(t) for name, t in times.items()}


def round_ratio(times, slow, fast):
    """Median over rounds of times[slow] / times[fast] (from ``interleaved_times``): each
    ratio is taken within one round, so a slow spell of the machine cancels out."""
    return statistics.median(a / b for a, b in zip(times[slow], times[fast], strict=True))


def median_ratio(slow, fast, repeat, settle=0.0):
    """round_ratio of two callables timed in interleaved rounds."""
    return round_ratio(interleaved_times({"slow": slow, "fast": fast}, repeat, settle), "slow", "fast")


def measure_kernel(X, y, repeat, with_numpy=True):
    """Medians and ratios for one X: a dict with read_ms, kernel_ms, read_GBps,
    fraction_of_read and, with_numpy, numpy_ms and speedup_vs_numpy (ratios: medians
    of the per-round ratios)."""
    w, b = evaluation_point(X.shape[1])
    kernel = lambda: cost_and_gradient(X, y, w, b)  # noqa: E731
    times = interleaved_times({"read": read_pass(X), "kernel": kernel}, repeat)
    read_s = statistics.median(times["read"])
    row = {
        "read_ms": read_s * 1e3, "kernel_ms": statistics.median(times["kernel"]) * 1e3,
        "read_GBps": X.nbytes / read_s / 1e9,
        "fraction_of_read": round_ratio(times, "read", "kernel"),
    }
    if with_numpy:
        # A series of its own: the NumPy form allocates m-sized temporaries and wakes
        # BLAS threads, which disturb whatever runs next (hence the idle pauses too).
        times = interleaved_times({"numpy": numpy_form(X, y, w, b), "kernel": kernel}, repeat, SETTLE_SECONDS)
        row["numpy_ms"] = statistics.median(times["numpy"]) * 1e3
        row["speedup_vs_numpy"] = round_ratio(times, "numpy", "kernel")
    return row


IN_CACHE_BYTES = 256 * 1024


def measure_profile(X, y, repeat, kernel="gradient", in_cache_bytes=IN_CACHE_BYTES):
    """Why a pass over X reaches the fraction of read bandwidth it does.

    Three times, interleaved in one process: ``read``, the read-only pass over X (the
    memory yardstick); ``kernel``, one pass of the kernel over X (``Problem`` methods:
    no input validation); ``compute``, the kernel's own work without the memory
    traffic: the same pass, one thread, over a copy of X's first rows small enough to
    stay in the L2 cache (about ``in_cache_bytes``, at least one tile), repeated until
    it has handled m / threads rows (each thread's share of X).

    A pass that overlapped its work with the memory stream completely would take
    max(read, compute); one that did not overlap them at all, read + compute.
    Returns a dict of the three medians (ms), compute_ns_per_row (one thread, data in
    cache), the measured fraction_of_read and the two bounds (fraction_if_overlapped,
    fraction_if_serial; all fractions: medians of per-round ratios).
    ``kernel`` is "gradient" (cost and gradient) or "hessp" (Hessian-vector product).
    """
    from ._problem import Problem

    if kernel not in ("gradient", "hessp"):
        raise ValueError(f"kernel must be 'gradient' or 'hessp', got {kernel!r}")
    m, n = X.shape
    w, b = evaluation_point(n)
    colmajor = X.flags.f_contiguous and not X.flags.c_contiguous
    tile, _, _ = _kernels.plan(m, n, X.itemsize, colmajor)
    rows = min(m, max(tile, in_cache_bytes // (n * X.itemsize)))
    order = "F" if colmajor else "C"
    small = Problem(np.array(X[:rows], order=order), y[:rows])
    problem = Problem(X, y)
    # One block over the small copy (a block per tile would add per-block costs that
    # the full pass, with thousands of rows per block, does not have).
    tile_s, block_rows_s, n_blocks_s = _kernels.plan_blocks(rows, n, X.itemsize, colmajor, 1, False)
    z_s, partials_s = _kernels.allocate_workspace(n, n_blocks_s, tile_s)
    if kernel == "hessp":
        hess_weights = np.empty(m)
        problem.loss_grad_sums(w, b, hess_weights)  # the Hessian weights at (w, b)
        mode, d_small = _kernels.HESSP, hess_weights[:rows].copy()
        run = lambda: problem.hessp_sums(hess_weights, w, b)  # noqa: E731
    else:
        mode, d_small = _kernels.LOSS_GRAD, NO_WEIGHTS
        run = lambda: problem.loss_grad_sums(w, b)  # noqa: E731
    threads = numba.get_num_threads()
    reps = max(1, round(m / threads / rows))

    def compute():
        for _ in range(reps):
            _kernels.pass_serial(
                small._kernel_X, colmajor, w, b, mode, small.y, small.sample_weight, d_small,
                tile_s, block_rows_s, z_s, partials_s,
            )

    times = interleaved_times({"read": read_pass(X), "kernel": run, "compute": compute}, repeat)
    # compute handled reps * rows rows; scale it to exactly m / threads.
    times["compute"] = [t * (m / threads) / (reps * rows) for t in times["compute"]]
    medians = {name: statistics.median(t) for name, t in times.items()}
    overlapped = [r / max(r, c) for r, c in zip(times["read"], times["compute"], strict=True)]
    serial = [r / (r + c) for r, c in zip(times["read"], times["compute"], strict=True)]
    return {
        "read_ms": medians["read"] * 1e3, "kernel_ms": medians["kernel"] * 1e3,
        "compute_ms": medians["compute"] * 1e3,
        "compute_ns_per_row": medians["compute"] / (m / threads) * 1e9,
        "read_GBps": X.nbytes / medians["read"] / 1e9,
        "fraction_of_read": round_ratio(times, "read", "kernel"),
        "fraction_if_overlapped": statistics.median(overlapped),
        "fraction_if_serial": statistics.median(serial),
    }


def numpy_objective(X, y, C):
    """f(θ) and ∇f of the scaled objective of ``fastlogreg._solvers`` (θ = [w, b], no
    sample weights), in plain NumPy."""
    m = X.shape[0]
    alpha = 0.0 if np.isinf(C) else 1.0 / (C * m)

    def value_and_gradient(theta):
        w, b = theta[:-1], theta[-1]
        z = X @ w.astype(X.dtype) + b
        residual = 0.5 * (1.0 + np.tanh(0.5 * z)) - y  # σ(z) - y without overflow
        gradient = np.empty_like(theta)
        gradient[:-1] = X.T @ residual / m + alpha * w
        gradient[-1] = residual.mean()
        value = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * alpha * float(w @ w)
        return value, gradient

    return value_and_gradient


def have_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def measure_fit(X, y, C=1.0, tol=1e-4, max_iter=100, repeat=3, with_sklearn=True):
    """Time three L-BFGS fits of the same problem; a list of rows (name, seconds,
    n_iter, objective), fastlogreg's first."""
    import scipy.optimize

    from ._estimator import LogisticRegression

    objective = numpy_objective(X, y, C)
    results = {}

    def ours():
        model = LogisticRegression(C=C, tol=tol, max_iter=max_iter, solver="lbfgs").fit(X, y)
        results["fastlogreg lbfgs fit"] = model.n_iter_[0], np.r_[model.coef_.ravel(), model.intercept_]

    def numpy_lbfgs():
        result = scipy.optimize.minimize(
            objective, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
            options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
        )
        results["NumPy objective, scipy lbfgs"] = result.nit, result.x

    def sklearn_lbfgs():
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression

        model = SkLogisticRegression(C=C, tol=tol, max_iter=max_iter, solver="lbfgs").fit(X, y)
        results["scikit-learn lbfgs fit"] = model.n_iter_[0], np.r_[model.coef_.ravel(), model.intercept_]

    candidates = {"fastlogreg lbfgs fit": ours, "NumPy objective, scipy lbfgs": numpy_lbfgs}
    if with_sklearn and have_sklearn():
        candidates["scikit-learn lbfgs fit"] = sklearn_lbfgs
    with warnings.catch_warnings():  # max_iter reached is visible in the n_iter column
        warnings.simplefilter("ignore")
        medians = interleaved(candidates, repeat, SETTLE_SECONDS)
    rows = []
    for name, seconds in medians.items():
        n_iter, theta = results[name]
        rows.append((name, seconds, int(n_iter), float(objective(theta.astype(np.float64))[0])))
    return rows


def format_table(header, rows):
    """Right-aligned columns of strings, the first left-aligned."""
    table = [list(header)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[j]) for row in table) for j in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def add_readme_arguments(parser, kind, default_readme):
    """--readme and --readme-table for a script whose --update-readme rewrites the
    README's ``kind`` tables ("profile-table", "performance-table"): those between the
    ``kind`` markers, or with --readme-table NAME the ``kind-NAME`` ones (one set per
    machine measured).  See readme_markers."""
    import argparse
    import pathlib

    def table_name(value):
        if not re.fullmatch(r"[A-Za-z0-9_]+", value):
            raise argparse.ArgumentTypeError(f"{value!r} is not a name of letters, digits and underscores")
        return value

    parser.add_argument("--readme", type=pathlib.Path, default=default_readme,
                        help="the file --update-readme rewrites (default: the project's README)")
    parser.add_argument("--readme-table", metavar="NAME", type=table_name,
                        help=f"with --update-readme: rewrite the table between the {kind}-NAME "
                             f"markers (default: the {kind} ones)")


def readme_markers(kind, table_name=None):
    """The README's start and end marker lines of the ``kind`` table called table_name
    (None: the unnamed one)."""
    name = kind if table_name is None else f"{kind}-{table_name}"
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_marked_section(path, start, end, text):
    """Rewrite what lies between the marker lines ``start`` and ``end`` of the text file
    at ``path`` with ``text`` (the markers stay): how the scripts regenerate the README's
    tables.  Raises ValueError, changing nothing, if either marker is missing."""
    content = path.read_text()
    if start not in content or end not in content or content.index(start) > content.index(end):
        raise ValueError(f"{path} has no {start} ... {end} markers")
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    path.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", content, count=1))
