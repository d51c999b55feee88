"""Model files: LogisticRegression.save / fastlogreg.load."""

import json
import os
import pickle
import warnings

import numpy as np
import pytest
from conftest import make_data
from numpy.testing import assert_array_equal

import fastlogreg
from fastlogreg import LogisticRegression, _persistence
from fastlogreg._persistence import FORMAT_NAME, FORMAT_VERSION, ModelFileError


def labelled(labels=("no", "yes")):
    X, y = make_data(m=200, n=4, scale=0.5)  # overlapping classes: a finite optimum for C=inf
    return X, np.asarray(labels)[y.astype(int)]


def fitted(dtype=np.float64, labels=("no", "yes"), **params):
    X, y = labelled(labels)
    with warnings.catch_warnings():  # gd with a small max_iter: the point here is the file
        warnings.simplefilter("ignore", fastlogreg.ConvergenceWarning)
        model = LogisticRegression(**params).fit(X.astype(dtype), y)
    return model, X.astype(dtype)


def assert_same_model(loaded, model, X):
    assert type(loaded) is type(model)
    assert loaded.coef_.dtype == model.coef_.dtype
    assert_array_equal(loaded.coef_, model.coef_)
    assert_array_equal(loaded.intercept_, model.intercept_)
    assert_array_equal(loaded.classes_, model.classes_)
    assert_array_equal(loaded.n_iter_, model.n_iter_)
    assert loaded.n_passes_ == model.n_passes_ > model.n_iter_[0]
    assert_array_equal(loaded.objective_curve_, model.objective_curve_)
    assert loaded.get_params() == model.get_params()
    # bit for bit, not approximately
    assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert_array_equal(loaded.decision_function(X), model.decision_function(X))
    assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("labels", [("no", "yes"), (0, 1), (-1.0, 2.0), (False, True)])
def test_round_trip_is_bit_for_bit(tmp_path, dtype, labels):
    model, X = fitted(dtype, labels)
    path = tmp_path / "model.npz"
    model.save(path)
    assert_same_model(fastlogreg.load(path), model, X)


@pytest.mark.parametrize("params", [
    {"C": np.inf}, {"C": 0.25, "fit_intercept": False, "solver": "lbfgs", "tol": 1e-8},
    {"class_weight": "balanced", "max_iter": 50, "n_threads": 1},
    {"class_weight": {"yes": 3.0}, "solver": "gd", "learning_rate": 0.5, "max_iter": 500},
])
def test_round_trip_keeps_hyperparameters(tmp_path, params):
    model, X = fitted(**params)
    model.save(tmp_path / "m.npz")
    loaded = fastlogreg.load(tmp_path / "m.npz")
    assert_same_model(loaded, model, X)
    refit = loaded.set_params(max_iter=2000).fit(*labelled())
    assert_array_equal(refit.classes_, model.classes_)


def test_round_trip_keeps_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = make_data(m=150, n=3)
    frame = pd.DataFrame(X, columns=["height", "weight", "age"])
    model = LogisticRegression().fit(frame, np.where(y == 1, "sick", "well"))
    model.save(tmp_path / "m.npz")
    loaded = fastlogreg.load(tmp_path / "m.npz")
    assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert_same_model(loaded, model, frame)
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame[["weight", "height", "age"]].rename(columns={"age": "years"}))


def test_file_is_a_documented_npz_without_pickles(tmp_path):
    model, _ = fitted()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert {"metadata", "coef", "intercept", "classes", "n_iter", "objective_curve"} <= set(archive.files)
        metadata = json.loads(str(archive["metadata"]))
        assert archive["classes"].dtype.kind == "U"
    assert metadata["format"] == FORMAT_NAME
    assert metadata["format_version"] == FORMAT_VERSION == 1
    assert metadata["fastlogreg_version"] == fastlogreg.__version__
    assert metadata["params"]["C"] == 1.0


def test_saves_exactly_to_the_path_given(tmp_path):
    model, _ = fitted()
    model.save(tmp_path / "model.flr")
    assert os.listdir(tmp_path) == ["model.flr"]  # no ".npz" appended, no temporary left
    assert fastlogreg.load(str(tmp_path / "model.flr")).coef_.shape == (1, 4)


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(fastlogreg.NotFittedError):
        LogisticRegression().save(tmp_path / "m.npz")
    assert not os.listdir(tmp_path)


def test_new_file_permissions_follow_the_umask(tmp_path):
    model, _ = fitted()
    umask = os.umask(0o022)
    try:
        model.save(tmp_path / "m.npz")
    finally:
        os.umask(umask)
    assert os.stat(tmp_path / "m.npz").st_mode & 0o777 == 0o644


def test_crash_mid_save_leaves_the_old_file(tmp_path, monkeypatch):
    old, X = fitted()
    path = tmp_path / "m.npz"
    old.save(path)
    before = path.read_bytes()
    new, _ = fitted(C=0.01)

    def crash(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(_persistence.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        new.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.npz"]  # the temporary file is removed
    monkeypatch.undo()
    assert_same_model(fastlogreg.load(path), old, X)
    new.save(path)  # and a later save replaces it
    assert_array_equal(fastlogreg.load(path).coef_, new.coef_)


# --- files that are not (valid) models: one-line errors, no code run ------------------------

def write_archive(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def metadata_array(**changes):
    metadata = {"format": FORMAT_NAME, "format_version": 1, "fastlogreg_version": "0.1.0",
                "params": {"C": 1.0}, "solver": "lbfgs", "objective": 0.5}
    metadata.update(changes)
    return np.array(json.dumps(metadata))


def valid_arrays(**changes):
    arrays = {"metadata": metadata_array(), "coef": np.ones((1, 2)), "intercept": np.zeros(1),
              "classes": np.array([0, 1]), "n_iter": np.array([3], dtype=np.int32),
              "objective_curve": np.array([0.6, 0.5, 0.4])}
    arrays.update(changes)
    return arrays


def test_a_minimal_hand_written_file_loads(tmp_path):
    write_archive(tmp_path / "m.npz", **valid_arrays())
    model = fastlogreg.load(tmp_path / "m.npz")
    assert_array_equal(model.predict(np.array([[1.0, 1.0], [-1.0, -2.0]])), [1, 0])
    assert not hasattr(model, "n_passes_")  # an optional key that files before it lack
    write_archive(tmp_path / "m.npz", **valid_arrays(metadata=metadata_array(n_passes=4)))
    assert fastlogreg.load(tmp_path / "m.npz").n_passes_ == 4


class Boom:
    """Unpickling this would create a file: loading must never run it."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def truncated(tmp_path):
    model, _ = fitted()
    model.save(tmp_path / "full.npz")
    data = (tmp_path / "full.npz").read_bytes()
    return data[: len(data) // 2]


BAD_FILES = {
    "empty": (lambda tmp: b"", "not a fastlogreg model file"),
    "text": (lambda tmp: b"coef,intercept\n1,2\n", "not a fastlogreg model file"),
    "random bytes": (lambda tmp: np.random.default_rng(0).bytes(300), "not a fastlogreg model file"),
    "pickle": (lambda tmp: pickle.dumps(Boom(str(tmp / "pwned"))), "not a fastlogreg model file"),
    "npy array": (lambda tmp: b"\x93NUMPY" + b"\x00" * 100, "not a fastlogreg model file"),
    "zip, not npz": (lambda tmp: b"PK\x03\x04" + b"\x00" * 60, "corrupt or truncated"),
    "truncated": (truncated, "corrupt or truncated"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_give_one_line_errors(tmp_path, case):
    make, message = BAD_FILES[case]
    path = tmp_path / "m.npz"
    path.write_bytes(make(tmp_path))
    with pytest.raises(ModelFileError, match=message) as info:
        fastlogreg.load(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert not (tmp_path / "pwned").exists()


BAD_ARCHIVES = {
    "foreign npz": ({"X": np.ones((2, 2)), "y": np.ones(2)}, "no metadata"),
    "foreign metadata": ({"metadata": np.array('{"format": "other"}')}, "not a fastlogreg model"),
    "metadata not JSON": (valid_arrays(metadata=np.array("{oops")), "not a fastlogreg model"),
    "newer version": (valid_arrays(metadata=metadata_array(format_version=99)), "version 99.*upgrade"),
    "version zero": (valid_arrays(metadata=metadata_array(format_version=0)), "unknown model format"),
    "object array": (valid_arrays(classes=np.array([Boom("x"), 1], dtype=object)), "corrupt"),
    "missing coef": ({k: v for k, v in valid_arrays().items() if k != "coef"}, "missing coef"),
    "coef shape": (valid_arrays(coef=np.ones(2)), "coef has shape"),
    "coef not finite": (valid_arrays(coef=np.array([[1.0, np.nan]])), "non-finite"),
    "intercept dtype": (valid_arrays(intercept=np.zeros(1, dtype=np.float32)), "intercept"),
    "three classes": (valid_arrays(classes=np.array([0, 1, 2])), "classes"),
    "feature names": (valid_arrays(feature_names=np.array(["a"])), "feature_names"),
    "bad params": (valid_arrays(metadata=metadata_array(params={"C": -1})), "hyperparameters"),
    "n_passes negative": (valid_arrays(metadata=metadata_array(n_passes=-1)), "n_passes is -1"),
    "n_passes not a count": (valid_arrays(metadata=metadata_array(n_passes=2.5)), "n_passes is 2.5"),
}


@pytest.mark.parametrize("case", BAD_ARCHIVES)
def test_damaged_or_foreign_archives_give_one_line_errors(tmp_path, case):
    arrays, message = BAD_ARCHIVES[case]
    path = tmp_path / "m.npz"
    if case == "object array":  # only np.savez with pickles can write this
        np.savez(path, **arrays)
    else:
        write_archive(path, **arrays)
    with pytest.raises(ModelFileError, match=message) as info:
        fastlogreg.load(path)
    assert "\n" not in str(info.value)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastlogreg.load(tmp_path / "nothing.npz")


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
    assert "load" in fastlogreg.__all__
