"""Reading data files for the command line: CSV, ``.npy``, ``.npz`` and Parquet.

* CSV (``.csv``, or any unrecognised name): comma-separated, UTF-8, a header row with
  the column names, ``"`` quotes.  Feature columns must be numbers; the target column
  may hold any two labels (strings, or numbers).  Parsed by NumPy's C reader; the
  standard ``csv`` module reads the header and pinpoints a bad cell when parsing fails.
* ``.npy``: one 2-D numeric array; the target is a column given by its index
  (``-1``: the last).  Without a target every column is a feature.
* ``.npz``: arrays ``X`` (m, n) and ``y`` (m,); the target names the label array
  (default ``y``).
* Parquet (``.parquet``, ``.pq``): needs pyarrow.  Numeric (integer, float, bool,
  decimal) feature columns without nulls; a pandas index stored in the file is skipped.

Every problem is a ``DataError`` with a one-line message naming the file, the column
and the row where that helps.
"""

import csv
import os
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

_NUMPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"


class DataError(ValueError):
    """A data file that cannot be used; the message is one line."""


@dataclass
class Table:
    path: str
    X: np.ndarray  # (m, n) float64, C order, finite
    feature_names: list  # n names, or None for unnamed formats (.npy, .npz)
    y: np.ndarray = None  # (m,) labels (numbers, bools or str), when a target was read


def read_table(path, target=None, features=None, need_target=False):
    """Read ``path`` as a Table.

    target: the label column (CSV/Parquet column name, ``.npy`` column index, ``.npz``
    array name), or None to read no labels, unless ``need_target``: then ``.npz`` files
    default to ``y`` and the other formats ask for ``--target``.  features: the feature
    column names to read, in this order (named formats only); None reads every column
    but the target.
    """
    path = os.fspath(path)
    kind = _file_kind(path)
    if need_target and target is None:
        if kind != "npz":
            what = "column index" if kind == "npy" else "column"
            raise DataError(f"{path}: name the target (label) {what} with --target")
        target = "y"
    reader = {"csv": _read_csv, "npy": _read_npy, "npz": _read_npz, "parquet": _read_parquet}[kind]
    table = reader(path, target, features)
    if table.X.shape[0] == 0:
        raise DataError(f"{path} has no data rows")
    if table.X.shape[1] == 0:
        raise DataError(_no_features(path, target))
    _check_finite(table)
    return table


def _no_features(path, target):
    besides = f" besides the target {target!r}" if target is not None else ""
    return f"{path} has no feature columns{besides}"


def _file_kind(path):
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise DataError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a data file") from None
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head:
        raise DataError(f"{path} is empty")
    suffix = os.path.splitext(path)[1].lower()
    by_suffix = {".csv": "csv", ".npy": "npy", ".npz": "npz", ".parquet": "parquet", ".pq": "parquet"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    for magic, kind in ((_NUMPY_MAGIC, "npy"), (_ZIP_MAGIC, "npz"), (_PARQUET_MAGIC, "parquet")):
        if head.startswith(magic):
            return kind
    return "csv"


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_finite(table):
    bad = ~np.isfinite(table.X)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise DataError(
            f"{table.path}: {_column_label(table, col)} has a missing or non-finite value "
            f"({table.X[row, col]}) in data row {row + 1}"
        )


def _column_label(table, col):
    return f"column {table.feature_names[col]!r}" if table.feature_names else f"feature column {col}"


# --- labels -----------------------------------------------------------------------------

def labels_from_strings(values, path, column):
    """Labels read as text: integers if all are integers, else numbers if all are
    numbers, else the strings themselves (whitespace stripped)."""
    values = np.char.strip(np.asarray(values, dtype=str))
    empty = np.flatnonzero(values == "")
    if empty.size:
        raise DataError(f"{path}: the target {column!r} has a missing label in data row {empty[0] + 1}")
    for dtype in (np.int64, np.float64):
        try:
            converted = values.astype(dtype)
        except (ValueError, OverflowError):
            continue
        if dtype is np.int64 or np.isfinite(converted).all():
            return converted
    return values


def _plain_labels(values, path, column):
    """Labels from a binary format: numbers, bools or strings; whole numbers stored as
    floats (0.0/1.0 in a float array) become integers, as they would be read from text."""
    values = np.asarray(values)
    if values.dtype.kind not in "biufU":
        raise DataError(f"{path}: the target {column!r} must hold numbers or strings, not {values.dtype}")
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise DataError(f"{path}: the target {column!r} has a missing or non-finite label")
        if np.all(values == np.round(values)) and np.abs(values).max() < 2.0**53:
            return values.astype(np.int64)
    return values


def _missing_features(path, features, available):
    missing = [name for name in features if name not in available]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(
            f"{path} lacks {len(missing)} of the {len(features)} feature columns the model was "
            f"trained on: {shown}"
        )


def _missing_target(path, target, columns):
    shown = ", ".join(repr(c) for c in columns[:8]) + (" ..." if len(columns) > 8 else "")
    hint = ""
    if len(columns) == 1:  # one column: perhaps another separator than the comma
        separator = next((s for s in (";", "\t", "|") if s in columns[0]), None)
        if separator:
            hint = f" (the file seems separated by {separator!r}; CSV files need commas)"
    raise DataError(f"{path} has no target column {target!r}; its columns are: {shown}{hint}")


# --- CSV --------------------------------------------------------------------------------

_LOADTXT = {"delimiter": ",", "skiprows": 1, "comments": None, "quotechar": '"', "encoding": "utf-8-sig"}


def _read_csv(path, target, features):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            has_rows = any(row for row in reader)
    except UnicodeDecodeError:
        raise DataError(f"cannot read {path} as CSV: it is not UTF-8 text") from None
    except csv.Error as exc:
        raise DataError(f"cannot read {path} as CSV: {_first_line(exc)}") from None
    if not header:
        raise DataError(f"{path} is empty: a CSV file needs a header row")
    header = [name.strip() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{path}: the header has duplicate column names: {', '.join(map(repr, duplicates))}")
    index = {name: j for j, name in enumerate(header)}
    if target is not None and target not in index:
        _missing_target(path, target, header)
    if features is None:
        features = [name for name in header if name != target]
    _missing_features(path, features, index)
    if not features:
        raise DataError(_no_features(path, target))
    if not has_rows:
        raise DataError(f"{path} has a header but no data rows")
    columns = [index[name] for name in features]
    try:
        X = np.loadtxt(path, usecols=columns, dtype=np.float64, ndmin=2, **_LOADTXT)
    except ValueError as exc:
        raise _locate_csv_error(path, header, columns, exc) from None
    y = None
    if target is not None:
        with warnings.catch_warnings():  # NumPy notes blank lines when reading text
            warnings.simplefilter("ignore", UserWarning)
            try:
                text = np.loadtxt(path, usecols=[index[target]], dtype=str, ndmin=1, **_LOADTXT)
            except ValueError as exc:
                raise _locate_csv_error(path, header, [index[target]], exc, numeric=False) from None
        y = labels_from_strings(text, path, target)
    return Table(path=path, X=np.ascontiguousarray(X), feature_names=list(features), y=y)


def _locate_csv_error(path, header, columns, exc, numeric=True):
    """A one-line DataError for the first short row, or (``numeric``) the first cell of
    ``columns`` that is not a number: the place NumPy's reader stopped."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if not row:
                continue
            line = reader.line_num
            if len(row) <= max(columns):
                return DataError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
            for j in columns if numeric else ():
                cell = row[j].strip()
                try:
                    float(cell)
                except ValueError:
                    if not cell:
                        return DataError(f"{path}: column {header[j]!r} has a missing value on line {line}")
                    return DataError(
                        f"{path}: column {header[j]!r} is not numeric: {cell[:40]!r} on line {line}"
                        " (feature columns must hold numbers)"
                    )
    return DataError(f"cannot read {path} as CSV: {_first_line(exc)}")


# --- NumPy ------------------------------------------------------------------------------

@contextmanager
def _numpy_file(path, magic, what):
    """The open file, if it starts as ``what`` should; opened here rather than by np.load,
    so that it is closed also when its content is bad."""
    with open(path, "rb") as f:
        if f.read(len(magic)) != magic:
            raise DataError(f"{path} is not {what}")
        f.seek(0)
        try:
            yield f
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            if "allow_pickle" in str(exc):
                raise DataError(f"{path} holds Python objects (an object array), which are never loaded") \
                    from None
            raise DataError(f"cannot read {path}: {_first_line(exc)}") from None


def _numeric_matrix(array, path, what):
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {what} must be numeric, not {array.dtype}")
    if array.ndim != 2:
        raise DataError(f"{path}: {what} must be a 2-D array (rows are examples), got shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float64)


def _read_npy(path, target, features):
    with _numpy_file(path, _NUMPY_MAGIC, "a NumPy .npy file") as f:
        array = _numeric_matrix(np.load(f, allow_pickle=False), path, "the array")
    if target is None:
        return Table(path=path, X=array, feature_names=None)
    try:
        column = int(target)
    except ValueError:
        raise DataError(
            f"{path}: for a .npy file the target is a column index (such as -1 for the last), "
            f"got {target!r}"
        ) from None
    n = array.shape[1]
    if not -n <= column < n:
        raise DataError(f"{path}: target column {column} is out of range for {n} columns")
    column %= n
    X = np.ascontiguousarray(np.delete(array, column, axis=1))
    return Table(path=path, X=X, feature_names=None, y=_plain_labels(array[:, column], path, str(column)))


def _read_npz(path, target, features):
    with _numpy_file(path, _ZIP_MAGIC, "an .npz archive") as f, np.load(f, allow_pickle=False) as archive:
        names = list(archive.files)
        if "X" not in names:
            raise DataError(f"{path} has no array 'X'; its arrays are: {', '.join(names) or 'none'}")
        X = _numeric_matrix(archive["X"], path, "X")
        y = None
        if target is not None:
            if target not in names:
                raise DataError(f"{path} has no label array {target!r}; its arrays: {', '.join(names)}")
            y = archive[target]
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise DataError(f"{path}: {target!r} has shape {y.shape}, expected ({X.shape[0]},)")
            y = _plain_labels(y, path, target)
    return Table(path=path, X=X, feature_names=None, y=y)


# --- Parquet ----------------------------------------------------------------------------

def _read_parquet(path, target, features):
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"reading {path} needs pyarrow, which is not installed "
            "(pip install pyarrow: the fastlogreg[parquet] extra)"
        ) from None
    try:
        table = pq.read_table(path)
    except (pyarrow.ArrowException, OSError) as exc:
        raise DataError(f"cannot read {path} as Parquet: {_first_line(exc)}") from None
    # A DataFrame's index saved by pandas is not data (pandas reads it back as the index).
    index_columns = (table.schema.pandas_metadata or {}).get("index_columns", [])
    columns = [name for name in table.column_names if name not in index_columns]
    if target is not None and target not in columns:
        _missing_target(path, target, columns)
    if features is None:
        features = [name for name in columns if name != target]
    _missing_features(path, features, set(columns))
    if not features:
        raise DataError(_no_features(path, target))
    types = pyarrow.types
    X = np.empty((table.num_rows, len(features)))
    for j, name in enumerate(features):
        column = table.column(name)
        kind = column.type
        if not (types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind)
                or types.is_decimal(kind)):
            raise DataError(f"{path}: column {name!r} is not numeric (its type is {kind})")
        if column.null_count:
            raise DataError(f"{path}: column {name!r} has {column.null_count} missing values")
        X[:, j] = column.cast(pyarrow.float64()).to_numpy()
    y = None
    if target is not None:
        column = table.column(target)
        if column.null_count:
            raise DataError(f"{path}: the target column {target!r} has {column.null_count} missing labels")
        values = column.to_pylist()
        if types.is_string(column.type) or types.is_large_string(column.type) \
                or types.is_dictionary(column.type):
            y = np.array([str(v) for v in values], dtype=str)
        else:
            y = _plain_labels(np.array(values), path, target)
    return Table(path=path, X=X, feature_names=list(features), y=y)
