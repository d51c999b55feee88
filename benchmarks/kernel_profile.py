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
    python benchmarks/kernel_profile.py --update-readme --repeat 21   # the README's table

``--update-readme`` measures both kernels on the README's three shapes (unless --shape
or --kernel say otherwise) and rewrites the table between the README's
``profile-table`` markers; with ``--readme-table NAME``, the one between the
``profile-table-NAME`` markers instead (one table per machine measured: the kernels'
tiles, and so their profile, differ from one CPU to another).

    python benchmarks/kernel_profile.py --update-readme --readme-table intel --repeat 21
"""

import argparse
import pathlib
import platform
import subprocess

import numba
import numpy as np

from fastlogreg import _bench, _config

ROOT = pathlib.Path(__file__).resolve().parent.parent
README_SHAPES = ((1_000_000, 100), (4_000_000, 10), (100_000, 1000))


KERNEL_NAMES = {"gradient": "cost_and_gradient", "hessp": "H·v"}


def cpu_model():
    """The processor's name from /proc/cpuinfo where there is one, else platform's."""
    return _config.cpuinfo_field("model name") or platform.processor() or platform.machine()


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(rows, args):
    header = ["kernel", "X", "dtype", "order", "read", "kernel time", "compute",
              "of read", "if overlapped", "if serial"]
    table_option = "" if args.readme_table is None else f" --readme-table {args.readme_table}"
    lines = [
        f"Measured by `python benchmarks/kernel_profile.py --update-readme{table_option} "
        f"--repeat {args.repeat}` at commit `{commit()}` on {cpu_model()}, "
        f"{numba.get_num_threads()} threads, numba {numba.__version__}, numpy "
        f"{np.__version__}; medians of {args.repeat} interleaved rounds in one process.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for r in rows:
        cells = [KERNEL_NAMES[r["kernel"]], r["shape"], r["dtype"], r["order"],
                 f"{r['read_ms']:.1f} ms ({r['read_GBps']:.0f} GB/s)", f"{r['kernel_ms']:.1f} ms",
                 f"{r['compute_ms']:.1f} ms", f"{r['fraction_of_read']:.2f}",
                 f"{r['fraction_if_overlapped']:.2f}", f"{r['fraction_if_serial']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _bench.add_case_arguments(parser)
    parser.add_argument("--kernel", nargs="+", choices=["gradient", "hessp"],
                        help="cost and gradient (default) and/or the Hessian-vector product")
    parser.add_argument("--update-readme", action="store_true",
                        help="measure for the README (its three shapes, both kernels) and "
                             "rewrite its profile table")
    _bench.add_readme_arguments(parser, "profile-table", ROOT / "README.md")
    args = parser.parse_args(argv)
    if args.update_readme:
        default_shapes, kernels = README_SHAPES, args.kernel or ["gradient", "hessp"]
    else:
        default_shapes, kernels = (_bench.DEFAULT_SHAPE,), args.kernel or ["gradient"]
    print(f"numba {numba.__version__}, numpy {np.__version__}, {numba.get_num_threads()} threads; "
          f"medians of {args.repeat} interleaved runs")
    results = []
    for label, dtype, order, X, y in _bench.cases(args, default_shapes):
        for kernel in kernels:
            r = _bench.measure_profile(X, y, args.repeat, kernel=kernel)
            results.append(dict(r, kernel=kernel, shape=label, dtype=dtype, order=order))
    # grouped by kernel, in the order measured
    results.sort(key=lambda r: kernels.index(r["kernel"]))
    print(_bench.format_table(
        ["kernel", "shape", "dtype", "order", "read ms", "GB/s", "kernel ms", "compute ms",
         "ns/row", "of read", "if overlapped", "if serial"],
        [[r["kernel"], r["shape"], r["dtype"], r["order"], f"{r['read_ms']:.1f}",
          f"{r['read_GBps']:.1f}", f"{r['kernel_ms']:.1f}", f"{r['compute_ms']:.1f}",
          f"{r['compute_ns_per_row']:.1f}", f"{r['fraction_of_read']:.2f}",
          f"{r['fraction_if_overlapped']:.2f}", f"{r['fraction_if_serial']:.2f}"] for r in results],
    ))
    print("compute: the kernel's work on data in cache (ns/row: per row, one thread)")
    if args.update_readme:
        try:
            markers = _bench.readme_markers("profile-table", args.readme_table)
            _bench.replace_marked_section(args.readme, *markers, markdown(results, args))
        except ValueError as error:
            raise SystemExit(str(error)) from None
        print(f"updated {args.readme}")


if __name__ == "__main__":
    main()
