"""Model files: ``LogisticRegression.save(path)`` and ``fastlogreg.load(path)``.

Format (version 1)
------------------
A NumPy ``.npz`` archive (a zip of ``.npy`` arrays), written and read with
``allow_pickle=False``: loading parses array headers and raw numbers, never runs code.

=================  ========================================================================
``metadata``       0-d str array holding a JSON object: ``format`` ("fastlogreg-model"),
                   ``format_version`` (1), ``fastlogreg_version`` (the writer's version),
                   ``params`` (the constructor's hyperparameters, JSON; ``C`` may be
                   the string "inf"; ``class_weight`` a dict is stored as
                   ``{"pairs": [[label, weight], ...]}``), ``solver``,
                   ``objective``; optional: ``n_passes`` (``n_passes_``; files written
                   before it was added lack it, and their models lack the attribute)
``coef``           (1, n_features), float32 or float64: the model's own dtype
``intercept``      (1,), same dtype
``classes``        (2,), numbers, bools or str (sorted, as ``classes_``)
``feature_names``  (n_features,) str; absent when the model was fitted without names
``n_iter``         (1,) int32
``objective_curve`` (n_iter,) float64: the scaled objective after each iteration
=================  ========================================================================

A reader accepts files whose ``format_version`` it knows and rejects newer ones with a
message; fields may only be added in a new version, except optional metadata keys,
which readers that do not know them ignore.  Saving is atomic: the archive is
written to a temporary file in the target's directory, flushed to disk, then renamed over
the target, so a crash mid-save leaves any previous file intact.
"""

import json
import math
import os
import secrets
import zipfile

import numpy as np

FORMAT_NAME = "fastlogreg-model"
FORMAT_VERSION = 1

_ZIP_MAGIC = b"PK\x03\x04"
_ARRAYS = ("metadata", "coef", "intercept", "classes", "n_iter", "objective_curve")
# Hyperparameters written to the file (``callback`` is code, never stored).
_PARAMS = ("C", "l1_ratio", "fit_intercept", "solver", "tol", "max_iter", "class_weight",
           "warm_start", "n_threads", "verbose", "learning_rate")


class ModelFileError(ValueError):
    """A file that is not a readable fastlogreg model; the message is one line."""


# --- atomic writes ----------------------------------------------------------------------

def atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file next to ``path``, flush it to disk and
    rename it to ``path``: readers see the old file or the whole new one, never a part."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile would create it 0o600).
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- save -------------------------------------------------------------------------------

def _plain_array(values, what):
    """values as a numeric, bool or str array (never object: that would need pickle)."""
    array = np.asarray(values)
    if array.dtype.kind == "O":
        items = array.tolist()
        if all(isinstance(v, str) for v in items):
            array = np.array(items, dtype=str)
        elif all(isinstance(v, (bool, int, float, np.generic)) for v in items):
            array = np.array(items)
    if array.dtype.kind not in "biufU":
        raise TypeError(f"cannot save {what} of dtype {array.dtype}: only numbers, bools and strings")
    return array


def _encode_params(model):
    params = {}
    for name in _PARAMS:
        value = getattr(model, name)
        if isinstance(value, np.generic):
            value = value.item()
        if name == "C" and math.isinf(value):
            value = "inf"
        if name == "class_weight" and isinstance(value, dict):  # JSON keys would become str
            value = {"pairs": [[_json_scalar(k), float(w)] for k, w in value.items()]}
        params[name] = value
    return params


def _json_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def save_model(model, path):
    """Write a fitted LogisticRegression to ``path`` (see the module docstring)."""
    model._check_fitted()
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastlogreg_version": _package_version(),
        "params": _encode_params(model),
        "solver": str(model.solver_),
        "objective": float(model.objective_),
    }
    if hasattr(model, "n_passes_"):
        metadata["n_passes"] = int(model.n_passes_)
    arrays = {
        "metadata": np.array(json.dumps(metadata, allow_nan=False)),
        "coef": np.asarray(model.coef_),
        "intercept": np.asarray(model.intercept_),
        "classes": _plain_array(model.classes_, "classes_"),
        "n_iter": np.asarray(model.n_iter_, dtype=np.int32),
        "objective_curve": np.asarray(model.objective_curve_, dtype=np.float64),
    }
    if hasattr(model, "feature_names_in_"):
        arrays["feature_names"] = _plain_array(model.feature_names_in_, "feature_names_in_")
    atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


def _package_version():
    from . import __version__

    return __version__


# --- load -------------------------------------------------------------------------------

def load(path):
    """The LogisticRegression saved at ``path`` by ``LogisticRegression.save``.

    Never runs code from the file.  A missing file raises ``FileNotFoundError``; a file
    that is not a fastlogreg model (corrupt, truncated, foreign, or of a newer format
    version) raises ``ModelFileError`` (a ``ValueError``) with a one-line message.
    """
    path = os.fspath(path)
    # Opened here, not by np.load, so that it is closed also when the archive is bad.
    with open(path, "rb") as f:  # OSError (missing, unreadable) passes through unchanged
        if f.read(4) != _ZIP_MAGIC:
            raise ModelFileError(f"{path} is not a fastlogreg model file (not an .npz archive)")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as archive:
                names = set(archive.files)
                if "metadata" not in names:
                    raise ModelFileError(f"{path} is not a fastlogreg model file (no metadata)")
                arrays = {name: archive[name] for name in names}
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, EOFError, ValueError, KeyError, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFileError(f"{path} is corrupt or truncated: {reason}") from None
    metadata = _read_metadata(arrays["metadata"], path)
    return _build_model(arrays, metadata, path)


def _read_metadata(array, path):
    try:
        metadata = json.loads(str(array[()])) if array.shape == () and array.dtype.kind == "U" else None
    except json.JSONDecodeError:
        metadata = None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a fastlogreg model file")
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path}: the format version {version!r} is not a number")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version}, written by fastlogreg "
            f"{metadata.get('fastlogreg_version', '?')}; this fastlogreg {_package_version()} reads "
            f"version {FORMAT_VERSION} and older: upgrade fastlogreg"
        )
    if version < 1:
        raise ModelFileError(f"{path} has an unknown model format version {version}")
    return metadata


def _build_model(arrays, metadata, path):
    from ._estimator import LogisticRegression

    def bad(what):
        return ModelFileError(f"{path} is a damaged fastlogreg model file: {what}")

    missing = [name for name in _ARRAYS if name not in arrays]
    if missing:
        raise bad(f"missing {', '.join(missing)}")
    coef, intercept, classes = arrays["coef"], arrays["intercept"], arrays["classes"]
    if coef.ndim != 2 or coef.shape[0] != 1 or coef.shape[1] == 0 or coef.dtype.kind != "f" \
            or coef.dtype not in (np.float32, np.float64):
        raise bad(f"coef has shape {coef.shape} and dtype {coef.dtype}")
    if intercept.shape != (1,) or intercept.dtype != coef.dtype:
        raise bad(f"intercept has shape {intercept.shape} and dtype {intercept.dtype}")
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise bad("non-finite coefficients")
    if classes.shape != (2,) or classes.dtype.kind not in "biufU" or classes[0] == classes[1]:
        raise bad(f"classes has shape {classes.shape} and dtype {classes.dtype}")
    n_features = coef.shape[1]
    names = arrays.get("feature_names")
    if names is not None and (names.shape != (n_features,) or names.dtype.kind != "U"):
        raise bad(f"feature_names has shape {names.shape}, expected ({n_features},) strings")
    n_iter = arrays["n_iter"]
    if n_iter.shape != (1,) or n_iter.dtype.kind not in "iu":
        raise bad(f"n_iter has shape {n_iter.shape} and dtype {n_iter.dtype}")
    curve = arrays["objective_curve"]
    if curve.ndim != 1 or curve.dtype.kind != "f":
        raise bad(f"objective_curve has shape {curve.shape} and dtype {curve.dtype}")
    n_passes = metadata.get("n_passes")
    if n_passes is not None and not (type(n_passes) is int and n_passes >= 0):
        raise bad(f"n_passes is {n_passes!r}, not a count")
    params = metadata.get("params")
    if not isinstance(params, dict):
        raise bad("no hyperparameters")
    model = LogisticRegression()
    try:
        model.set_params(**_decode_params(params))
        model._check_params()
    except (TypeError, ValueError) as exc:
        raise bad(f"hyperparameters: {exc}") from None
    model.coef_ = coef
    model.intercept_ = intercept
    model.classes_ = classes
    model.n_features_in_ = n_features
    if names is not None:
        model.feature_names_in_ = names.astype(object)  # as fit stores DataFrame names
    model.n_iter_ = n_iter.astype(np.int32)
    model.objective_curve_ = curve.astype(np.float64)
    model.objective_ = float(metadata.get("objective", np.nan))
    if n_passes is not None:
        model.n_passes_ = n_passes
    model.solver_ = str(metadata.get("solver", model.solver))
    return model


def _decode_params(params):
    known = {name: params[name] for name in _PARAMS if name in params}
    if known.get("C") == "inf":
        known["C"] = math.inf
    class_weight = known.get("class_weight")
    if isinstance(class_weight, dict):
        pairs = class_weight.get("pairs")
        if not (isinstance(pairs, list) and all(isinstance(p, list) and len(p) == 2 for p in pairs)):
            raise ValueError(f"class_weight {class_weight!r}")
        known["class_weight"] = {label: weight for label, weight in pairs}
    return known
