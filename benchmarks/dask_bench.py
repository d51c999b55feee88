"""Distributed fitting on Dask: the cost of an objective evaluation on a LocalCluster
against the in-process fused kernel on the same data, and the whole fit against
dask-ml's LogisticRegression (when dask-ml is importable).

    python benchmarks/dask_bench.py                      # 4,000,000 x 50 float64, 2 workers x 1 thread
    python benchmarks/dask_bench.py --rows 200000 --block-rows 25000

Everything is measured in this one process, the two sides of each ratio interleaved
(medians over --repeats), so the ratios hold on a noisy machine better than the times.

* Per evaluation: fastlogreg's ``DaskObjective.value_and_gradient`` (one task per
  worker over its persisted row blocks, the partials summed on the client) against
  ``Problem.loss_grad_sums`` in this process with as many kernel threads as the
  cluster has in all.  The issue's target: the cluster at most 1.3x the in-process time.
* Whole fit: ``LogisticRegression().fit`` on the dask arrays against dask-ml's, both
  without an intercept (dask-ml penalises its intercept, so only then are the two
  objectives the same: ½‖w‖² + C Σ L), from X persisted on the workers.  The objective
  each one reached is evaluated in process on the same data.  The target: at least
  5x faster at the same objective.

The data are made block by block on the workers by a seeded generator; this process
makes the same blocks for the in-process side (no transfer).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import distributed  # noqa: E402

from fastlogreg import LogisticRegression, _dask, _solvers  # noqa: E402
from fastlogreg._problem import Problem  # noqa: E402
from fastlogreg._threads import thread_limit  # noqa: E402


def make_block(index, rows, n, dtype, seed):
    """Rows of X (float) and y (0/1) for block ``index``: the same on any machine."""
    rng = np.random.default_rng([seed, index])
    X = rng.standard_normal((rows, n)).astype(dtype)
    w = np.random.default_rng([seed, 2**31]).standard_normal(n) / np.sqrt(n)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.float64)
    return X, y


def block_sizes(m, block_rows):
    return [min(block_rows, m - start) for start in range(0, m, block_rows)]


def dask_data(m, n, dtype, block_rows, seed):
    sizes = block_sizes(m, block_rows)
    parts = [dask.delayed(make_block, nout=2, pure=True)(i, r, n, dtype, seed) for i, r in enumerate(sizes)]
    pairs = list(zip(parts, sizes, strict=True))
    X = da.concatenate([da.from_delayed(p[0], shape=(r, n), dtype=dtype) for p, r in pairs])
    y = da.concatenate([da.from_delayed(p[1], shape=(r,), dtype=np.float64) for p, r in pairs])
    return X, y


def local_data(m, n, dtype, block_rows, seed):
    X = np.empty((m, n), dtype=dtype)
    y = np.empty(m)
    start = 0
    for i, rows in enumerate(block_sizes(m, block_rows)):
        X[start:start + rows], y[start:start + rows] = make_block(i, rows, n, dtype, seed)
        start += rows
    return X, y


def interleaved_medians(functions, repeats):
    times = [[] for _ in functions]
    for _ in range(repeats):
        for f, t in zip(functions, times, strict=True):
            start = time.perf_counter()
            f()
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def objective_at(problem, C, coef):
    """The scaled objective f (the one fastlogreg minimises) at coef, no intercept."""
    return _solvers.Objective(problem, C, False).value_and_gradient(np.asarray(coef, dtype=np.float64))[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--block-rows", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15, help="evaluations timed on each side")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="fastlogreg's tol (max |gradient|): tight, to reach dask-ml's objective")
    parser.add_argument("--daskml-solvers", default="lbfgs,admm",
                        help="dask-ml solvers to time, comma-separated ('' for none)")
    parser.add_argument("--daskml-max-iter", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    m, n, dtype = args.rows, args.features, np.dtype(args.dtype)
    threads = args.workers * args.threads_per_worker
    print(f"X: {m:,} x {n} {dtype} ({m * n * dtype.itemsize / 2**30:.2f} GiB) in blocks of "
          f"{args.block_rows:,} rows; LocalCluster: {args.workers} workers x {args.threads_per_worker} "
          f"thread(s); in process: {threads} kernel thread(s); {os.cpu_count()} cores")

    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=args.threads_per_worker, processes=True,
        host="127.0.0.1", dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        Xd, yd = dask_data(m, n, dtype, args.block_rows, args.seed)
        Xd, yd = client.persist([Xd, yd])
        distributed.wait([Xd, yd])
        X, y = local_data(m, n, dtype, args.block_rows, args.seed)
        problem = Problem(X, y)

        # --- one objective evaluation ----------------------------------------------------
        blocks = _dask._persist_blocks(Xd, yd, None, 1.0, None, dtype, None)
        try:
            start = time.perf_counter()
            summary = blocks.sum_rows(_dask._summaries, 3, dtype.name)
            setup = time.perf_counter() - start
            sizes = block_sizes(m, args.block_rows)
            per_worker = sorted(sum(sizes[k] for k in indices) for _, indices in blocks._plan() if indices)
            objective = _dask.DaskObjective(blocks, n, summary[1], summary[2], args.C, True)
            theta = np.random.default_rng(1).standard_normal(n + 1) * 0.01
            w, b = theta[:n], theta[n]
            with thread_limit(min(threads, _max_threads())):
                problem.loss_grad_sums(w, b)  # compiled or loaded from the cache
                objective.value_and_gradient(theta)
                cluster_s, local_s = interleaved_medians(
                    [lambda: objective.value_and_gradient(theta), lambda: problem.loss_grad_sums(w, b)],
                    args.repeats,
                )
            value, grad = objective.value_and_gradient(theta)
            ref_value, ref_grad = _solvers.Objective(problem, args.C, True).value_and_gradient(theta)
        finally:
            blocks.close()
        print(f"\nobjective evaluation (median of {args.repeats})")
        print(f"  blocks persisted + kernels warmed on the workers: {setup * 1e3:9.1f} ms (once per fit)")
        print(f"  rows per worker: {', '.join(f'{r:,}' for r in per_worker)}")
        print(f"  cluster, DaskObjective.value_and_gradient:       {cluster_s * 1e3:9.2f} ms")
        print(f"  in process, Problem.loss_grad_sums:              {local_s * 1e3:9.2f} ms")
        ratio = cluster_s / local_s
        print(f"  ratio cluster / in process:                      {ratio:9.2f}  (target <= 1.3)")
        print(f"  agreement: |Δf|/f = {abs(value - ref_value) / abs(ref_value):.1e}, "
              f"max|Δ∇f| = {np.max(np.abs(grad - ref_grad)):.1e}")

        # --- whole fit ----------------------------------------------------------------------
        print(f"\nwhole fit, no intercept, C = {args.C:g} (f: the scaled objective, evaluated in process)")
        start = time.perf_counter()
        ours = LogisticRegression(C=args.C, tol=args.tol, fit_intercept=False).fit(Xd, yd)
        ours_s = time.perf_counter() - start
        f_ours = objective_at(problem, args.C, ours.coef_.ravel())
        print(f"  fastlogreg on the cluster ({ours.solver_}, {int(ours.n_iter_[0])} iterations): "
              f"{ours_s:8.2f} s   f = {f_ours:.12g}")
        with thread_limit(min(threads, _max_threads())):
            start = time.perf_counter()
            in_memory = LogisticRegression(C=args.C, tol=args.tol, fit_intercept=False).fit(X, y)
            memory_s = time.perf_counter() - start
        print(f"  fastlogreg in process (same solver):                 {memory_s:8.2f} s   "
              f"max|Δcoef|/max|coef| = "
              f"{np.max(np.abs(ours.coef_ - in_memory.coef_)) / np.max(np.abs(in_memory.coef_)):.1e}")
        solvers = [s for s in args.daskml_solvers.split(",") if s]
        try:
            from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
        except ImportError as exc:
            print(f"  dask-ml: not importable ({exc}); pip install dask-ml to compare")
            solvers = []
        for solver in solvers:
            model = DaskMLLogisticRegression(
                C=args.C, fit_intercept=False, solver=solver, max_iter=args.daskml_max_iter,
            )
            start = time.perf_counter()
            model.fit(Xd, yd)
            seconds = time.perf_counter() - start
            f = objective_at(problem, args.C, np.asarray(model.coef_).ravel())
            print(f"  dask-ml {solver:<8}:                                  {seconds:8.2f} s   f = {f:.12g}  "
                  f"(f - f_fastlogreg) / f = {(f - f_ours) / f_ours:+.1e};  "
                  f"fastlogreg {seconds / ours_s:.1f}x faster")


def _max_threads():
    import numba

    return numba.config.NUMBA_NUM_THREADS


if __name__ == "__main__":
    main()
