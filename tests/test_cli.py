"""The ``fastlogreg`` command, run as a user runs it: in a subprocess, on files made here.

Each subprocess imports numba (about a second), so the cases share a few files and
models made once per module; quick checks of the pieces run in-process.
"""

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastlogreg
from fastlogreg import _datafiles, cli
from fastlogreg._datafiles import DataError, read_table

REPO = Path(fastlogreg.__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OPTIONAL = ("matplotlib", "tqdm", "pyarrow", "pandas", "sklearn")
FEATURES = ["height", "weight, kg", "age"]  # a name with a comma: quoted in the CSV


def run(*args, cwd, block=()):
    """``python -m fastlogreg ARGS`` in ``cwd``; ``block`` names packages made unimportable."""
    path = [str(REPO)]
    if block:
        blocker = Path(cwd) / "_blocked"
        for name in block:
            (blocker / name).mkdir(parents=True, exist_ok=True)
            (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is blocked by a test')\n")
        path.insert(0, str(blocker))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path + [os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "fastlogreg", *map(str, args)], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr or "--debug" in args, result.stderr
    assert "Warning" not in result.stderr, result.stderr  # only our own one-line notes
    return result


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastlogreg: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_png(path):
    data = Path(path).read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = pytest.importorskip("matplotlib.image")
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels[..., :3].std() > 0.05  # something is drawn


def metric(stdout, name):
    """The numbers of a metrics row (``accuracy  0.9750  1.0000``)."""
    for line in stdout.splitlines():
        if line.startswith(name + " "):
            return [float(v) for v in line[len(name):].split()]
    raise AssertionError(f"no {name!r} row in:\n{stdout}")


# --- files ---------------------------------------------------------------------------------

def example_data(m=160, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 3)) * [10.0, 5.0, 1.0] + [170.0, 70.0, 40.0]
    z = (X - [170.0, 70.0, 40.0]) @ [0.2, -0.3, 1.0] + 0.2
    y = np.where(rng.random(m) < 1 / (1 + np.exp(-z)), "sick", "well")
    return X, y


def write_csv(path, X, y, names=FEATURES, target="diagnosis", label_at=1):
    """A CSV with a header; the label column placed at ``label_at`` among the features."""
    header = list(names)
    header.insert(label_at, target)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row, label in zip(X.tolist(), y, strict=True):
            row = [repr(v) for v in row]
            row.insert(label_at, label)
            writer.writerow(row)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, y = example_data()
    X_new, y_new = example_data(m=50, seed=4)
    write_csv(d / "train.csv", X, y)
    # new data: columns in another order, label last, one extra column
    order = [2, 0, 1]
    write_csv(d / "new.csv", np.column_stack([X_new[:, order], np.arange(50)]), y_new,
              names=[FEATURES[j] for j in order] + ["row id"], label_at=4)
    y01 = (y == "sick").astype(np.int64)
    np.savez(d / "train.npz", X=X, y=y01)
    np.save(d / "new.npy", np.column_stack([X_new, (y_new == "sick").astype(np.float64)]))
    np.savez(d / "new.npz", X=X_new)
    return {"dir": d, "X": X, "y": y, "X_new": X_new, "y_new": y_new}


@pytest.fixture(scope="module")
def csv_model(files):
    """A model trained by the command on the CSV file, with its output."""
    d = files["dir"]
    result = run("train", "train.csv", "--target", "diagnosis", "--out", "model.npz",
                 "--plot", "curve.png", "--standardize", cwd=d)
    assert result.returncode == 0, result.stderr
    return d / "model.npz", result


def frame(X, names):
    return cli._Frame(np.ascontiguousarray(X), list(names))


# --- demo ----------------------------------------------------------------------------------

def test_demo(tmp_path):
    result = run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for fragment in ("Breast Cancer", "569 examples", "confusion matrix",
                     "cost curve written to fastlogreg-demo.png"):
        assert fragment in out
    iterations, passes = map(int, re.search(r"(\d+) iterations \((\d+) passes over X\) in", out).groups())
    assert 0 < iterations < passes  # each iteration one pass or more, and one for the start
    train_accuracy, test_accuracy = metric(out, "accuracy")
    assert train_accuracy > 0.95 and test_accuracy > 0.9
    assert len(metric(out, "log-loss")) == len(metric(out, "ROC AUC")) == 2
    assert_png(tmp_path / "fastlogreg-demo.png")


def test_no_command_is_the_demo_and_needs_no_optional_package(tmp_path):
    result = run(cwd=tmp_path, block=OPTIONAL)
    assert result.returncode == 0, result.stderr
    assert "held-out" in result.stdout and "ROC AUC" in result.stdout
    assert "matplotlib is not installed" in result.stderr and "fastlogreg[plot]" in result.stderr
    assert not (tmp_path / "fastlogreg-demo.png").exists()


# --- train, predict, evaluate on CSV -------------------------------------------------------------

def test_train_csv(files, csv_model):
    path, result = csv_model
    out = result.stdout
    assert "160 examples, 3 features, target 'diagnosis'" in out
    assert "128 for training, 32 held out" in out  # 20% of each class
    assert len(metric(out, "accuracy")) == 2
    assert "model saved to model.npz" in out
    model = fastlogreg.load(path)
    assert list(model.feature_names_in_) == FEATURES
    assert_array_equal(model.classes_, ["sick", "well"])
    # standardisation is folded in: the model takes raw features
    assert model.score(frame(files["X"], FEATURES), files["y"]) > 0.8
    assert_png(files["dir"] / "curve.png")


def test_predict_proba_round_trip_is_bit_for_bit(files, csv_model):
    path, _ = csv_model
    result = run("predict", path, "new.csv", "--proba", "--out", "proba.csv", cwd=files["dir"])
    assert result.returncode == 0, result.stderr
    with open(files["dir"] / "proba.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["proba_sick", "proba_well"]
    written = np.array(rows[1:], dtype=np.float64)
    # new.csv has the features in another order plus other columns: matched by name
    expected = fastlogreg.load(path).predict_proba(frame(files["X_new"], FEATURES))
    assert written.shape == (50, 2)
    assert_array_equal(written, expected)


def test_predict_labels_to_stdout_in_input_order(files, csv_model):
    path, _ = csv_model
    result = run("predict", path, "new.csv", cwd=files["dir"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "prediction" and len(lines) == 51
    expected = fastlogreg.load(path).predict(frame(files["X_new"], FEATURES))
    assert lines[1:] == expected.tolist()


def test_evaluate_csv(files, csv_model):
    path, _ = csv_model
    result = run("evaluate", path, "new.csv", "--target", "diagnosis", cwd=files["dir"])
    assert result.returncode == 0, result.stderr
    model = fastlogreg.load(path)
    X = frame(files["X_new"], FEATURES)
    predicted = model.predict(X)
    assert metric(result.stdout, "accuracy") == [round(float(np.mean(predicted == files["y_new"])), 4)]
    assert metric(result.stdout, "examples") == [50]
    assert len(metric(result.stdout, "log-loss")) == len(metric(result.stdout, "ROC AUC")) == 1
    true_sick = int(np.sum((files["y_new"] == "sick") & (predicted == "sick")))
    assert [line.split() for line in result.stdout.splitlines() if line.startswith("sick ")] == \
        [["sick", str(true_sick), str(int(np.sum(files["y_new"] == "sick")) - true_sick)]]


# --- NumPy and Parquet files ---------------------------------------------------------------

def test_npz_and_npy(files):
    d = files["dir"]
    result = run("train", "train.npz", "--out", "npz_model.npz", "--C", "10", "--solver", "lbfgs",
                 "--max-iter", "500", "--test-size", "0", "--standardize", cwd=d)
    assert result.returncode == 0, result.stderr
    assert "target 'y'" in result.stdout and "160 for training, 0 held out" in result.stdout
    model = fastlogreg.load(d / "npz_model.npz")
    assert model.C == 10 and model.solver_ == "lbfgs" and not hasattr(model, "feature_names_in_")
    assert_array_equal(model.classes_, [0, 1])

    result = run("evaluate", "npz_model.npz", "new.npy", "--target", "-1", cwd=d)
    assert result.returncode == 0, result.stderr
    expected = np.mean(model.predict(files["X_new"]) == (files["y_new"] == "sick"))
    assert metric(result.stdout, "accuracy") == [round(float(expected), 4)]

    result = run("predict", "npz_model.npz", "new.npz", "--proba", cwd=d)
    assert result.returncode == 0, result.stderr
    written = np.loadtxt(io.StringIO(result.stdout), delimiter=",", skiprows=1)
    assert_array_equal(written, model.predict_proba(files["X_new"]))


def test_parquet(files, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    X, y = files["X"], files["y"]
    columns = {name: X[:, j] for j, name in enumerate(FEATURES)}
    columns["age"] = np.round(X[:, 2]).astype(np.int32)  # an integer column
    pq.write_table(pa.table({**columns, "diagnosis": y}), tmp_path / "train.parquet")
    result = run("train", "train.parquet", "--target", "diagnosis", "--out", "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model = fastlogreg.load(tmp_path / "m.npz")
    assert list(model.feature_names_in_) == FEATURES

    result = run("evaluate", "m.npz", "train.parquet", "--target", "diagnosis", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    X_int = np.column_stack([X[:, :2], np.round(X[:, 2])])
    expected = model.score(frame(X_int, FEATURES), y)
    assert metric(result.stdout, "accuracy") == [round(expected, 4)]


# --- errors: one line, exit status 2 ------------------------------------------------------

BAD_TRAIN_FILES = {
    "missing file": (None, "no such file: nothing.csv"),
    "directory": ("<dir>", "is a directory"),
    "not UTF-8": (b"a,b,diagnosis\n\xff\xfe,1,x\n", "not UTF-8"),
    "empty file": (b"", "is empty"),
    "header only": (b"a,b,diagnosis\n", "no data rows"),
    "missing target": (b"a,b,label\n1,2,x\n", "no target column 'diagnosis'; its columns are: 'a', 'b'"),
    "non-numeric feature": (b"a,b,diagnosis\n1,2,x\n3,abc,y\n", "column 'b' is not numeric: 'abc' on line 3"),
    "missing value": (b"a,b,diagnosis\n1,2,x\n3,,y\n", "column 'b' has a missing value on line 3"),
    "one class": (b"a,b,diagnosis\n1,2,x\n3,4,x\n", "only one class"),
}


@pytest.mark.parametrize("case", BAD_TRAIN_FILES)
def test_bad_training_files(tmp_path, case):
    content, message = BAD_TRAIN_FILES[case]
    name = "nothing.csv"
    if content == "<dir>":
        name = "folder.csv"
        (tmp_path / name).mkdir()
    elif content is not None:
        name = "data.csv"
        (tmp_path / name).write_bytes(content)
    result = run("train", name, "--target", "diagnosis", "--test-size", "0", cwd=tmp_path)
    assert_one_line_error(result, message)


def test_model_features_do_not_match_the_data(files, csv_model, tmp_path):
    path, _ = csv_model
    write_csv(tmp_path / "fewer.csv", files["X_new"][:, :2], files["y_new"], names=FEATURES[:2])
    result = run("predict", path, "fewer.csv", cwd=tmp_path)
    assert_one_line_error(result, "fewer.csv lacks 1 of the 3 feature columns", "trained on: 'age'")


def test_corrupt_model_file(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 not really a zip archive")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    result = run("predict", "model.npz", "data.csv", cwd=tmp_path)
    assert_one_line_error(result, "model.npz is corrupt or truncated")


def test_debug_shows_the_traceback(tmp_path):
    result = run("train", "nothing.csv", "--target", "y", "--debug", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "DataError" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "fastlogreg: error: no such file: nothing.csv"


def test_parquet_without_pyarrow(tmp_path):
    (tmp_path / "data.parquet").write_bytes(b"PAR1 whatever PAR1")
    result = run("train", "data.parquet", "--target", "y", cwd=tmp_path, block=["pyarrow"])
    assert_one_line_error(result, "needs pyarrow", "fastlogreg[parquet]")


def test_usage_errors_exit_2(tmp_path):
    result = run("train", "data.csv", "--test-size", "1.5", cwd=tmp_path)
    assert result.returncode == 2 and "--test-size: must be at least 0 and below 1" in result.stderr


# --- bench -----------------------------------------------------------------------------------

def test_bench(tmp_path):
    result = run("bench", "--rows", "3000", "--features", "5", "--repeat", "1", "--fit-repeat", "1",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for fragment in ("fused kernel (fastlogreg)", "NumPy form", "read-only pass", "fastlogreg lbfgs fit",
                     "NumPy objective, scipy lbfgs"):
        assert fragment in out
    objectives = [float(line.split()[-1]) for line in out.splitlines() if "lbfgs" in line]
    assert len(objectives) >= 2 and np.ptp(objectives) < 1e-6  # the same problem, solved alike


# --- in-process: help, the console script, the pieces ---------------------------------------

@pytest.mark.parametrize("command", [[], ["demo"], ["train"], ["predict"], ["evaluate"], ["bench"]])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: fastlogreg" in capsys.readouterr().out


def test_console_script(tmp_path):
    script = Path(sys.executable).with_name("fastlogreg" + (".exe" if os.name == "nt" else ""))
    if not script.exists():
        pytest.skip("the package is not installed in this environment (no console script)")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"fastlogreg {fastlogreg.__version__}"


def test_penalty_help_says_what_is_implemented(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "L1 and elastic-net are not implemented" in " ".join(capsys.readouterr().out.split())


def test_errors_in_process(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("a,diagnosis\n1,x\n2,y\n")
    assert cli.main(["train", str(tmp_path / "d.csv"), "--penalty", "none", "--C", "2"]) == 2
    assert "--C has no effect with --penalty none" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path / "d.csv")]) == 2
    assert "name the target (label) column with --target" in capsys.readouterr().err
    assert cli.main(["predict", str(tmp_path / "none.npz"), str(tmp_path / "d.csv")]) == 2
    assert "no such model file" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path / "d.csv"), "--target", "diagnosis",
                     "--out", str(tmp_path / "no" / "m.npz")]) == 2
    assert "--out" in capsys.readouterr().err  # before training, not after
    assert cli.main(["evaluate", str(tmp_path / "none.npz"), str(tmp_path / "d.csv")]) == 2
    assert "no such model file" in capsys.readouterr().err


def test_stratified_split():
    y = np.array(["a"] * 10 + ["b"] * 30)
    train, test = cli.stratified_split(y, 0.2, seed=0)
    assert sorted(np.r_[train, test]) == list(range(40))
    assert np.sum(y[test] == "a") == 2 and np.sum(y[test] == "b") == 6
    few = np.array([0, 1, 1])
    train, test = cli.stratified_split(few, 0.9, seed=0)  # each class keeps a training example
    assert set(few[train].tolist()) == {0, 1} and test.tolist() == [1]


def test_progress_bar_only_on_a_terminal_after_a_delay():
    pytest.importorskip("tqdm")
    from fastlogreg._progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    now = [0.0]
    for stream, shown in ((Terminal(), True), (io.StringIO(), False)):
        with Progress(total=100, stream=stream, clock=lambda: now[0]) as progress:
            now[0] = 0.5
            progress(1, 0.69)  # before the delay: nothing
            assert stream.getvalue() == ""
            now[0] = 1.5
            progress(2, 0.5)
            progress(3, 0.4)
            assert (progress.bar is not None) == shown
        assert ("fit:" in stream.getvalue()) == shown
    quiet = Terminal()
    with Progress(total=10, stream=quiet, enabled=False, clock=lambda: now[0] + 10) as progress:
        progress(1, 0.5)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("text, expected", [
    ("x,y\n1,a\n2,b\n", ["a", "b"]), ("x,y\n1, 1\n2,0\n", [1, 0]), ("x,y\n1,1.5\n2,0\n", [1.5, 0.0]),
])
def test_csv_labels(tmp_path, text, expected):
    (tmp_path / "d.csv").write_text(text)
    table = read_table(tmp_path / "d.csv", target="y")
    assert table.y.tolist() == expected and table.feature_names == ["x"]


@pytest.mark.parametrize("text, message", [
    ("x,x,y\n1,2,a\n", "duplicate column names: 'x'"),
    ("x,y\n1,a\n2\n", "line 3 has 1 fields, the header has 2"),
    ("x,y\nnan,a\n", "column 'x' has a missing or non-finite value (nan) in data row 1"),
    ("x,y\n1,a\n2,\n", "missing label in data row 2"),
    ("y\na\n", "no feature columns besides the target 'y'"),
    ("x;y\n1;a\n", "seems separated by ';'"),
])
def test_csv_problems(tmp_path, text, message):
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(DataError) as info:
        read_table(tmp_path / "d.csv", target="y")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_numpy_problems(tmp_path):
    np.save(tmp_path / "one.npy", np.ones(5))
    np.savez(tmp_path / "noX.npz", A=np.ones((2, 2)))
    np.save(tmp_path / "strings.npy", np.array([["a", "b"]]))
    cases = [("one.npy", None, "must be a 2-D array"), ("strings.npy", None, "must be numeric"),
             ("noX.npz", "y", "has no array 'X'; its arrays are: A"), ("one.npy", "x", "must be a 2-D array")]
    for name, target, message in cases:
        with pytest.raises(DataError) as info:
            read_table(tmp_path / name, target=target)
        assert message in str(info.value)
    np.save(tmp_path / "two.npy", np.ones((3, 2)))
    with pytest.raises(DataError, match="target is a column index"):
        read_table(tmp_path / "two.npy", target="label")
    with pytest.raises(DataError, match="out of range"):
        read_table(tmp_path / "two.npy", target="5")
    assert _datafiles.labels_from_strings(np.array([" 1", "0 "]), "f", "y").dtype == np.int64


def test_numpy_files_that_are_not(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "full.npz", X=np.ones((50, 3)), y=np.arange(50) % 2)
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npy").write_bytes(b"\x00" * 100)
    (tmp_path / "array.npz").write_bytes((tmp_path / "obj.npy").read_bytes())
    cases = {"obj.npy": "holds Python objects", "truncated.npz": "cannot read",
             "garbage.npy": "is not a NumPy .npy file", "array.npz": "is not an .npz archive"}
    for name, message in cases.items():
        with pytest.raises(DataError, match=message):
            read_table(tmp_path / name, target="-1" if name.endswith(".npy") else "y")


def test_parquet_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [True, False, True], "n": [1, 2, 3],
                          "label": pd.Categorical(["x", "y", "x"]), "name": ["p", "q", "r"]})
    # a shuffled index is stored as a column; pandas reads it back as the index, not data
    frame.sample(frac=1, random_state=0).to_parquet(tmp_path / "d.parquet")
    table = read_table(tmp_path / "d.parquet", target="label", features=["a", "b", "n"])
    assert table.feature_names == ["a", "b", "n"] and table.y.dtype.kind == "U"
    assert sorted(map(tuple, table.X.tolist())) == [(1, 1, 1), (2, 0, 2), (3, 1, 3)]
    with pytest.raises(DataError, match="column 'name' is not numeric"):
        read_table(tmp_path / "d.parquet", target="label")
    frame.assign(a=[1.0, None, 3.0]).drop(columns="name").to_parquet(tmp_path / "null.parquet")
    with pytest.raises(DataError, match="column 'a' has 1 missing values"):
        read_table(tmp_path / "null.parquet", target="label")
