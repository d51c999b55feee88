"""Why a pass reaches the fraction of read bandwidth it does: its time beside the time to
read X and the time of its own work on data in cache, measured in one process.

For each case it times, interleaved and repeated:
  * ``read``: a read-only parallel pass over X (the memory-bandwidth yardstick),
  * ``kernel``: one pass of the kernel over X (no input validation),
  * ``compute``: the same kernel, one thread, over a copy of X's first rows that stays
    in the L2 cache, for as many rows as each thread handles in the full pass.

A pass that overlapped its work with reading X completely would take max(read, compute)
("if overlapped"); one that did not overlap them at all, read + compute ("if serial").
Where compute exceeds read, no overlap can bring the kernel to the read speed; where
the measured fraction lies near "if serial", the work and the memory stream take turns.
The measuring code is ``fastlogreg._bench.measure_profile``.

    python benchmarks/kernel_profile.py                            # 1e6 x 100, all dtypes/orders
    python benchmarks/kernel_profile.py --shape 4000000 10 --kernel hessp --repeat 15
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
    parser.add_argument("--kernel", choices=["gradient", "hessp"], default="gradient",
                        help="cost and gradient (default) or the Hessian-vector product")
    args = parser.parse_args(argv)
    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.get_num_threads()} threads, "
          f"kernel: {args.kernel}; medians of {args.repeat} interleaved runs")
    rows = []
    for label, dtype, order, X, y in _bench.cases(args):
        r = _bench.measure_profile(X, y, args.repeat, kernel=args.kernel)
        rows.append([
            label, dtype, order,
            f"{r['read_ms']:.1f}", f"{r['read_GBps']:.1f}", f"{r['kernel_ms']:.1f}",
            f"{r['compute_ms']:.1f}", f"{r['compute_ns_per_row']:.1f}",
            f"{r['fraction_of_read']:.2f}", f"{r['fraction_if_overlapped']:.2f}",
            f"{r['fraction_if_serial']:.2f}",
        ])
    print(_bench.format_table(
        ["shape", "dtype", "order", "read ms", "GB/s", "kernel ms", "compute ms", "ns/row",
         "of read", "if overlapped", "if serial"], rows
    ))
    print("compute: the kernel's work on data in cache (ns/row: per row, one thread)")


if __name__ == "__main__":
    main()
