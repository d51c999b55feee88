"""Speed of the fused cost-and-gradient kernel, as ratios measured in one process.

For each case it times, interleaved and repeated:
  * a read-only parallel pass over the same X (the memory-bandwidth yardstick),
  * ``fastlogreg.cost_and_gradient``,
  * the NumPy form: X@w, σ, the loss, X.T@(a - y),
and reports medians and the ratios (read time / kernel time; NumPy time / kernel time),
each ratio the median of the per-round ratios of its own interleaved series.  The measuring code is
``fastlogreg._bench``, shared with ``fastlogreg bench`` (which also times whole fits).

    python benchmarks/kernel_speed.py                      # 1e6 x 100, all dtypes/orders
    python benchmarks/kernel_speed.py --shape 4000000 10 --repeat 15
    python benchmarks/kernel_speed.py --shape 4000000 10 --shape 100000 1000 --dtype float32

Compare against NumPy with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they can be set on
some machines and slow OpenBLAS down): ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""

import argparse

import numba
import numpy as np

from fastlogreg import _bench


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _bench.add_case_arguments(parser)
    parser.add_argument("--no-numpy", action="store_true", help="skip the NumPy form")
    args = parser.parse_args(argv)
    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.get_num_threads()} threads, "
          f"layer after first call shown below; medians of {args.repeat} interleaved runs")
    rows = []
    for label, dtype, order, X, y in _bench.cases(args):
        r = _bench.measure_kernel(X, y, args.repeat, with_numpy=not args.no_numpy)
        rows.append([
            label, dtype, order,
            f"{r['read_ms']:.1f}", f"{r['read_GBps']:.1f}", f"{r['kernel_ms']:.1f}",
            f"{r['fraction_of_read']:.2f}", f"{r.get('numpy_ms', float('nan')):.1f}",
            f"{r.get('speedup_vs_numpy', float('nan')):.1f}",
        ])
    print(_bench.format_table(
        ["shape", "dtype", "order", "read ms", "GB/s", "kernel ms", "of read", "numpy ms", "vs numpy"], rows
    ))
    print(f"threading layer: {numba.threading_layer()}")


if __name__ == "__main__":
    main()
