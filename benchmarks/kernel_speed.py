"""Speed of the fused cost-and-gradient kernel, as ratios measured in one process.

For each case it times, interleaved and repeated:
  * a read-only parallel pass over the same X (the memory-bandwidth yardstick),
  * ``fastlogreg.cost_and_gradient``,
  * the NumPy form: X@w, σ, the loss, X.T@(a - y),
and reports medians and the ratios (read time / kernel time; NumPy time / kernel time),
each ratio from its own interleaved series.

    python benchmarks/kernel_speed.py                      # 1e6 x 100, all dtypes/orders
    python benchmarks/kernel_speed.py --shape 4000000 10 --repeat 15

Compare against NumPy with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they can be set on
some machines and slow OpenBLAS down): ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""

import argparse
import statistics
import time

import numba
import numpy as np

import fastlogreg
from fastlogreg import _kernels


def read_pass(X):
    """A parallel pass that reads every element of X once and does nothing else."""
    colmajor = X.flags.f_contiguous and not X.flags.c_contiguous
    data = X.T if colmajor else X
    m, n = X.shape
    tile, block_rows, n_blocks = _kernels.plan(m, n, X.itemsize, colmajor)
    partials = np.empty((n_blocks, 1))
    return lambda: _kernels.read_pass_parallel(data, colmajor, block_rows, partials)


def numpy_form(X, y, w, b):
    def run():
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        J = np.mean(np.logaddexp(0.0, z) - y * z)
        dz = a - y
        return J, X.T @ dz / len(y), dz.mean()
    return run


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(candidates, repeat):
    """Median time of each candidate over ``repeat`` interleaved rounds (after a warm-up)."""
    for fn in candidates.values():
        fn()
    times = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            times[name].append(timed(fn))
    return {name: statistics.median(t) for name, t in times.items()}


def measure(m, n, dtype, order, repeat, with_numpy):
    rng = np.random.default_rng(42)
    X = np.asarray(rng.standard_normal((m, n), dtype=np.float64).astype(dtype), order=order)
    y = (rng.random(m) < 0.5).astype(np.float64)
    w = rng.standard_normal(n) / np.sqrt(n)
    b = 0.1
    kernel = lambda: fastlogreg.cost_and_gradient(X, y, w, b)  # noqa: E731
    # Two interleaved series, each against the kernel: the NumPy form allocates m-sized
    # temporaries, which disturbs the timing of whatever runs next.
    med = interleaved({"read": read_pass(X), "kernel": kernel}, repeat)
    if with_numpy:
        med_np = interleaved({"numpy": numpy_form(X, y, w.astype(dtype), b), "kernel": kernel}, repeat)
    row = {
        "shape": f"{m}x{n}", "dtype": np.dtype(dtype).name, "order": order,
        "read_ms": med["read"] * 1e3, "kernel_ms": med["kernel"] * 1e3,
        "read_GBps": X.nbytes / med["read"] / 1e9,
        "fraction_of_read": med["read"] / med["kernel"],
    }
    if with_numpy:
        row["numpy_ms"] = med_np["numpy"] * 1e3
        row["speedup_vs_numpy"] = med_np["numpy"] / med_np["kernel"]
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", nargs=2, type=int, default=[1_000_000, 100], metavar=("M", "N"))
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--order", nargs="+", default=["C", "F"])
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy form")
    args = parser.parse_args(argv)
    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.get_num_threads()} threads, "
          f"layer after first call shown below; medians of {args.repeat} interleaved runs")
    header = f"{'shape':>12} {'dtype':>8} {'order':>5} {'read ms':>8} {'GB/s':>6} {'kernel ms':>9} " \
             f"{'of read':>7} {'numpy ms':>9} {'vs numpy':>8}"
    print(header)
    for dtype in args.dtype:
        for order in args.order:
            r = measure(*args.shape, dtype, order, args.repeat, not args.no_numpy)
            print(f"{r['shape']:>12} {r['dtype']:>8} {r['order']:>5} {r['read_ms']:8.1f} "
                  f"{r['read_GBps']:6.1f} {r['kernel_ms']:9.1f} {r['fraction_of_read']:7.2f} "
                  f"{r.get('numpy_ms', float('nan')):9.1f} {r.get('speedup_vs_numpy', float('nan')):8.1f}")
    print(f"threading layer: {numba.threading_layer()}")


if __name__ == "__main__":
    main()
