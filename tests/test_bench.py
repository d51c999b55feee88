"""The measuring code behind benchmarks/ (no timing is asserted: only what the numbers
mean and how they relate)."""

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

from fastlogreg import _bench

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize("kernel", ["gradient", "hessp"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_measure_profile(kernel, order):
    X, y = _bench.make_data(3000, 7, order=order)
    before = X.copy()
    r = _bench.measure_profile(X, y, 3, kernel=kernel, in_cache_bytes=16 * 1024)
    for key in ("read_ms", "kernel_ms", "compute_ms", "compute_ns_per_row", "read_GBps"):
        assert np.isfinite(r[key]) and r[key] > 0, key
    # per round, read / (read + compute) <= read / max(read, compute) <= 1, so the
    # medians keep that order
    assert 0 < r["fraction_if_serial"] <= r["fraction_if_overlapped"] <= 1
    assert r["fraction_of_read"] > 0
    np.testing.assert_array_equal(X, before)


def test_measure_profile_rejects_unknown_kernel():
    X, y = _bench.make_data(100, 3)
    with pytest.raises(ValueError, match="kernel must be 'gradient' or 'hessp', got 'hessian'"):
        _bench.measure_profile(X, y, 1, kernel="hessian")


def test_kernel_profile_script(capsys):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    module["main"](["--shape", "2000", "5", "--dtype", "float32", "--order", "F", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "if overlapped" in out and "2000x5" in out and "float32" in out


def test_kernel_profile_script_several_shapes_and_kernels(capsys):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    module["main"](["--shape", "2000", "5", "--shape", "1500", "12", "--dtype", "float64",
                    "--order", "C", "--repeat", "1", "--kernel", "gradient", "hessp"])
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(("gradient ", "hessp "))]
    assert [(r[0], r[1]) for r in rows] == [
        ("gradient", "2000x5"), ("gradient", "1500x12"), ("hessp", "2000x5"), ("hessp", "1500x12")
    ]


def test_kernel_profile_updates_only_the_marked_table(tmp_path, capsys):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- profile-table:start -->\nold table\n"
                      "<!-- profile-table:end -->\nafter\n")
    module["main"](["--update-readme", "--readme", str(readme), "--shape", "2000", "5",
                    "--dtype", "float32", "--order", "F", "--repeat", "1"])
    text = readme.read_text()
    assert text.startswith("before\n<!-- profile-table:start -->\nMeasured by")
    assert text.endswith("<!-- profile-table:end -->\nafter\n")
    assert "old table" not in text
    table = [line for line in text.splitlines() if line.startswith("| ") and "2000x5" in line]
    # both kernels by default with --update-readme
    assert [line.split(" | ")[0] for line in table] == ["| cost_and_gradient", "| H·v"]


def test_kernel_profile_updates_the_named_table_only(tmp_path, capsys):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    readme = tmp_path / "README.md"
    first = "<!-- profile-table:start -->\namd table\n<!-- profile-table:end -->\n"
    readme.write_text(first + "<!-- profile-table-intel:start -->\nold\n"
                      "<!-- profile-table-intel:end -->\n")
    module["main"](["--update-readme", "--readme", str(readme), "--readme-table", "intel",
                    "--shape", "500", "3", "--dtype", "float64", "--order", "C",
                    "--kernel", "gradient", "--repeat", "1"])
    text = readme.read_text()
    assert text.startswith(first + "<!-- profile-table-intel:start -->\nMeasured by "
                           "`python benchmarks/kernel_profile.py --update-readme "
                           "--readme-table intel --repeat 1`")
    assert "old" not in text and "500x3" in text
    # a name that is not one, or a README without that table: an error, nothing changed
    with pytest.raises(SystemExit):
        module["main"](["--update-readme", "--readme", str(readme), "--readme-table", "a b"])
    assert "is not a name" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="has no <!-- profile-table-arm:start -->"):
        module["main"](["--update-readme", "--readme", str(readme), "--readme-table", "arm",
                        "--shape", "500", "3", "--dtype", "float64", "--order", "C",
                        "--kernel", "gradient", "--repeat", "1"])
    assert readme.read_text() == text


def test_kernel_profile_refuses_a_readme_without_markers(tmp_path):
    module = runpy.run_path(str(BENCHMARKS / "kernel_profile.py"))
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="has no <!-- profile-table:start -->"):
        module["main"](["--update-readme", "--readme", str(readme), "--shape", "500", "3",
                        "--dtype", "float64", "--order", "C", "--repeat", "1"])
    assert readme.read_text() == "no markers here\n"


def test_replace_marked_section(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("a\n<!-- s -->\nx\n<!-- e -->\nb\n")
    _bench.replace_marked_section(path, "<!-- s -->", "<!-- e -->", "new\nlines")
    assert path.read_text() == "a\n<!-- s -->\nnew\nlines\n<!-- e -->\nb\n"
    path.write_text("<!-- e -->\n<!-- s -->\n")  # markers in the wrong order
    with pytest.raises(ValueError, match="has no"):
        _bench.replace_marked_section(path, "<!-- s -->", "<!-- e -->", "new")
    assert path.read_text() == "<!-- e -->\n<!-- s -->\n"


KERNEL_RESULTS = {  # name: (params, param names, values)
    f"bench_kernels.CostAndGradient.{name}": (
        [["'1e6x100'"], ["'float64'"], ["'C'", "'F'"]], ["shape", "dtype", "order"], values)
    for name, values in (("time_cost_and_gradient", [0.0279, 0.0301]),
                         ("track_fraction_of_read_bandwidth", [0.87, 0.80]))
}


def _asv_results(folder, machine="box", benchmarks=KERNEL_RESULTS):
    """A small asv results folder: one machine, the given benchmarks' results."""
    pytest.importorskip("asv")
    from asv.results import Results
    from asv.runner import BenchmarkResult

    results = Results({"machine": machine}, {}, "0123456789abcdef", 0, "3.11", "env-1", {})
    for name, (params, names, values) in benchmarks.items():
        benchmark = {"name": name, "params": params, "param_names": names, "version": "1"}
        results.add_result(benchmark, BenchmarkResult(
            result=values, samples=[None] * len(values), number=[None] * len(values), errcode=0,
            stderr="", profile=None))
    (folder / machine).mkdir(parents=True)
    (folder / machine / "machine.json").write_text(json.dumps(
        {"machine": machine, "cpu": "Some CPU", "num_cpu": "2", "ram": str(24 * 2**30), "version": 1}))
    results.save(str(folder))


def test_asv_report_rewrites_the_named_tables_only(tmp_path):
    report = runpy.run_path(str(BENCHMARKS.parent / "asv_bench" / "report.py"))
    _asv_results(tmp_path / "results")
    readme = tmp_path / "README.md"
    first = "<!-- performance-table:start -->\namd\n<!-- performance-table:end -->\n"
    readme.write_text(first + "<!-- performance-table-intel:start -->\nold\n"
                      "<!-- performance-table-intel:end -->\n")
    report["main"](["--results", str(tmp_path / "results"), "--update-readme",
                    "--readme", str(readme), "--readme-table", "intel"])
    text = readme.read_text()
    assert text.startswith(first + "<!-- performance-table-intel:start -->\nMeasured by ")
    assert "old" not in text and "`box` (Some CPU, 2 CPUs, 24 GiB), commit `0123456789`" in text
    assert "| 1e6x100 | float64 | C | 27.9 ms | 0.87 |" in text
    assert "| 1e6x100 | float64 | F | 30.1 ms | 0.80 |" in text
    with pytest.raises(SystemExit, match="has no <!-- performance-table-arm:start -->"):
        report["main"](["--results", str(tmp_path / "results"), "--update-readme",
                        "--readme", str(readme), "--readme-table", "arm"])
    with pytest.raises(SystemExit):
        report["main"](["--update-readme", "--readme-table", "a b"])
    assert readme.read_text() == text


def test_asv_report_lists_the_other_fits(tmp_path, capsys):
    report = runpy.run_path(str(BENCHMARKS.parent / "asv_bench" / "report.py"))
    solvers = [["'lbfgs'", "'newton-cg'"]]
    _asv_results(tmp_path / "results", benchmarks={
        "bench_fit.FitUnstandardised.time_fit": (solvers, ["solver"], [0.0188, 0.0259]),
        "bench_fit.FitUnstandardised.track_n_iter": (solvers, ["solver"], [5, 4]),
        "bench_fit.FitUnstandardised.track_n_passes": (solvers, ["solver"], [6, 13]),
        "bench_fit.FitSmall.time_fit": ([["'auto'"]], ["solver"], [0.00041]),
    })
    report["main"](["--results", str(tmp_path / "results")])
    out = capsys.readouterr().out
    assert "| 1e5x50 not standardised | lbfgs | 18.8 ms | 5 | 6 |" in out
    assert "| 1e5x50 not standardised | newton-cg | 25.9 ms | 4 | 13 |" in out
    assert "| 500x10, one of many small fits | auto | 0.41 ms | n/a | n/a |" in out


def test_fit_speed_script_on_unstandardised_features(capsys):
    module = runpy.run_path(str(BENCHMARKS / "fit_speed.py"))
    module["main"](["--shape", "400", "4", "--column-scales", "0.1", "10", "--column-shift", "5",
                    "--repeat", "1", "--settle", "0"])
    out = capsys.readouterr().out
    assert "X 400 x 4 float64 C-ordered (features scaled by 0.1 to 10, shifted by up to ±5)" in out
    rows = {line.split("  ")[0].strip(): line.split() for line in out.splitlines()[2:] if "x" in line[-2:]}
    assert rows["fastlogreg auto"][-1] == "1.00x"
    for name in ("fastlogreg lbfgs", "sklearn lbfgs"):
        tol, iterations = rows[name][2], rows[name][3]
        assert float(tol) > 0 and int(iterations) > 0
    assert int(rows["fastlogreg lbfgs"][4]) > int(rows["fastlogreg lbfgs"][3])  # a pass per evaluation
    assert rows["sklearn lbfgs"][4] == "n/a"


def test_fit_speed_script_times_fastlogregs_solvers_alone_on_float32_column_major_X(capsys):
    module = runpy.run_path(str(BENCHMARKS / "fit_speed.py"))
    module["main"](["--shape", "400", "4", "--dtype", "float32", "--order", "F", "--only-fastlogreg",
                    "--repeat", "1", "--settle", "0"])
    out = capsys.readouterr().out
    assert out.startswith("X 400 x 4 float32 F-ordered, C=1.0; f* = ")
    rows = {line.split("  ")[0].strip() for line in out.splitlines()[2:] if "x" in line[-2:]}
    assert rows == {f"fastlogreg {solver}" for solver in ("auto", "lbfgs", "newton-cg", "newton-cholesky")}


def test_passes_to_optimum_script(capsys):
    module = runpy.run_path(str(BENCHMARKS / "passes_to_optimum.py"))
    module["main"](["--shape", "20000", "5", "--max-passes", "8", "--sample-rows", "64", "20000"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("X 20000 x 5, C 1: f* = ")
    found = {}
    for line in lines[1:]:
        name, rest = line[:32].strip(), line[32:].split()
        passes, gaps = rest[0], [float(g) for g in rest[4:]]
        assert len(gaps) <= 8 and gaps == sorted(gaps, reverse=True)  # the best so far
        found[name] = (passes, gaps)
    assert set(found) == {"lbfgs", "newton-cg", "newton-cholesky", "Newton, Hessian of 64 rows",
                          "Newton, Hessian of 20000 rows"}
    # the sample of all rows gives the exact Hessian: newton-cholesky's steps, pass for pass
    newton, sampled = found["newton-cholesky"], found["Newton, Hessian of 20000 rows"]
    assert newton[0] == sampled[0] and int(newton[0]) <= 5
    np.testing.assert_allclose(sampled[1][:3], newton[1][:3], rtol=1e-6)
    assert found["lbfgs"][1][-1] <= 1e-9 and int(found["lbfgs"][0]) > int(newton[0])
    for bad in (["--sample-rows", "0"], ["--C", "inf"], ["--gap", "0"]):
        with pytest.raises(SystemExit):
            module["main"](["--shape", "200", "3", *bad])


def test_unstandardise_scales_and_shifts_each_column():
    import sys

    sys.path.insert(0, str(BENCHMARKS.parent / "asv_bench"))
    try:
        from benchmarks.common import unstandardise
    finally:
        sys.path.pop(0)
    X = np.random.default_rng(0).standard_normal((20000, 6))
    before = X.copy()
    out = unstandardise(X, (0.1, 10.0), 5.0)
    assert out is X  # in place
    std, mean = X.std(0), X.mean(0)
    assert np.all((std > 0.09) & (std < 11)) and std.max() / std.min() > 3
    assert np.all(np.abs(mean) <= 5.1) and np.abs(mean).max() > 1
    np.testing.assert_allclose((X - mean) / std, (before - before.mean(0)) / before.std(0), atol=1e-9)
    assert unstandardise(before.copy(), None, 0.0).tolist() == before.tolist()
