"""Checks at the public boundary: clear errors, and the dtype / memory-order policy.

Policy for X
------------
* float32 and float64 are used as they are: never upcast, never copied.
* C-contiguous X is read row by row; F-contiguous X (for instance the textbook's
  (n_x, m) array transposed) is read through its transpose, without a copy.
* Other layouts (a strided view) are copied once to C order.
* Integer and boolean X are converted to float64; float16 and long double too.
* Complex, string, object and datetime data, sparse matrices, and X with a NaN or
  an infinity are rejected with an error naming the argument.
"""

import numbers

import numpy as np

from . import _kernels
from ._threads import run_kernel

_FLOAT_KINDS_KEPT = (np.dtype(np.float32), np.dtype(np.float64))


def _check_dtype(array, name):
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}; pass real numbers")
    if kind in "iub":
        return np.float64
    if kind == "f":
        return None if array.dtype in _FLOAT_KINDS_KEPT else np.float64
    if kind == "O":
        return np.float64  # numbers in an object array: converted below, or rejected
    raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")


def as_numeric_array(data, name, float_dtype=None, keep_kinds=""):
    """np.asarray(data) with a numeric float dtype (float_dtype, or the dtype of
    _check_dtype's policy), or a TypeError naming ``name``; arrays whose dtype kind is
    in ``keep_kinds`` (such as "biu": booleans and integers) keep their dtype."""
    if hasattr(data, "toarray") and hasattr(data, "nnz"):
        raise TypeError(f"{name}: sparse matrices are not supported; pass a dense array")
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} could not be read as a numeric array: {exc}") from None
    natural = _check_dtype(array, name)  # rejects complex and non-numeric data
    if array.dtype.kind in keep_kinds:
        return array
    target = float_dtype or natural
    if target is not None and array.dtype != target:
        try:
            array = array.astype(target)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from None
    return array


def as_matrix(X, name="X"):
    """(X, kernel_view, colmajor): X as a 2-D float32/float64 array, and the
    C-contiguous array the kernels read (X itself, or X.T for F-ordered X)."""
    X = as_numeric_array(X, name)
    if X.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (m, n), got {X.ndim} dimension(s). Reshape your "
            "data: X.reshape(-1, 1) for a single feature, X.reshape(1, -1) for a single example"
        )
    m, n = X.shape
    if m == 0 or n == 0:
        what = "0 sample(s)" if m == 0 else "0 feature(s)"
        raise ValueError(
            f"{name} is empty: found array with {what} (shape={X.shape}) while a minimum of 1 is required."
        )
    if X.flags.c_contiguous:
        return X, X, False
    if X.flags.f_contiguous:
        return X, X.T, True
    X = np.ascontiguousarray(X)
    return X, X, False


def _first_nonfinite(array):
    bad = np.flatnonzero(~np.isfinite(array.ravel()))
    return bad[0] if bad.size else None


def check_finite_vector(v, name):
    index = _first_nonfinite(v)
    if index is not None:
        raise ValueError(f"{name} contains NaN or infinity (first at index {index}: {v.ravel()[index]})")


def as_vector(v, size, name, allow_column=True):
    """A finite float64 vector of length ``size`` (a (size, 1) or (1, size) array is
    accepted too, as in the textbook's notation).  Always a new array."""
    v = _float64_vector(v, size, name, allow_column)
    if _count_outside(v, -np.inf, np.inf):
        check_finite_vector(v, name)
    return np.array(v, copy=True)


def _count_outside(v, low, high):
    """How many entries of v are NaN, infinite or outside [low, high] (one pass)."""
    return run_kernel(
        _kernels.count_outside_parallel, _kernels.count_outside, v, low, high, data_bytes=v.nbytes
    )


def _float64_vector(v, size, name, allow_column):
    return _kernel_vector(as_numeric_array(v, name, float_dtype=np.float64), size, name, allow_column)


def _kernel_vector(v, size, name, allow_column):
    """The 1-D array v of length size (or a (size, 1) / (1, size) one, raveled, where
    allow_column), C-contiguous and writeable (else copied), as the kernels take it."""
    if v.ndim == 2 and allow_column and 1 in v.shape:
        v = v.ravel()
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D of length {size}, got shape {v.shape}")
    if v.shape[0] != size:
        raise ValueError(f"{name} has length {v.shape[0]}, expected {size}")
    if not (v.flags.c_contiguous and v.flags.writeable):
        # A read-only vector would need its own compiled variant of every kernel.
        v = np.array(v, copy=True)
    return v


def as_labels(y, m, name="y"):
    """Labels as a vector of length m that the kernels read: float64 for labels given
    as floating-point numbers, uint8 (one byte per example) for labels given as
    booleans or integers; y itself when it is such a vector already (never modified).

    0/1 labels are the usual case; soft labels (probabilities in [0, 1]) are accepted
    too, as floats, with the same cross-entropy loss.  Every pass over X reads the
    labels too, and 8-byte labels are a fifth of the bytes of a float32 X of 10
    features: with uint8 labels, cost_and_gradient on 4e6 x 10 took 0.83-0.90 of its
    time with float64 labels (one process, 15 rounds, AMD EPYC Zen 5).  The same
    values, so the same bits.

    The values of float and uint8 labels are not read here: the kernels' passes check
    that they lie in [0, 1] as they read them (see _kernels.loss_sum_checking_labels),
    and check_label_values names the first bad one.  Other integer labels are checked
    here, before they are narrowed to uint8.
    """
    array = as_numeric_array(y, name, float_dtype=np.float64, keep_kinds="biu")
    if array.dtype.kind in "biu":
        return _label_codes(_kernel_vector(array, m, name, allow_column=True), name)
    return _kernel_vector(array, m, name, allow_column=True)


def _label_codes(y, name):
    """Boolean or integer labels (a vector the kernels can take) as uint8: a view of
    booleans and y itself for uint8 (their values are checked by the passes), else a
    narrowed copy, checked in the same pass: every label must be 0 or 1."""
    if y.dtype == np.uint8:
        return y
    if y.dtype.kind == "b":
        return y.view(np.uint8)
    if not y.dtype.isnative:
        y = y.astype(y.dtype.newbyteorder("="))  # numba reads native byte order only
    codes = np.empty(y.shape[0], dtype=np.uint8)
    bad = run_kernel(_kernels.label_codes_parallel, _kernels.label_codes, y, codes, data_bytes=y.nbytes)
    if bad:  # narrowed, a 257 would have become a 1
        check_label_values(y, name)
    return codes


def check_label_values(y, name="y"):
    """Raise a ValueError naming the first label that is NaN, infinite or outside
    [0, 1], if there is one."""
    if _count_outside(y, 0.0, 1.0):  # one pass; the slow search only on error
        check_finite_vector(y, name)
        first = int(np.flatnonzero((y < 0.0) | (y > 1.0))[0])
        raise ValueError(
            f"{name} must hold labels 0 or 1 (or probabilities in [0, 1]); "
            f"found {y[first].item()!r} at index {first}"
        )


def as_sample_weight(sample_weight, m, name="sample_weight"):
    """Non-negative finite float64 weights with a positive sum (sample_weight itself
    when it is such a vector already: never modified), or an empty array for None."""
    if sample_weight is None:
        return np.empty(0, dtype=np.float64)
    s = _float64_vector(sample_weight, m, name, allow_column=False)
    if _count_outside(s, 0.0, np.inf):
        check_finite_vector(s, name)
        first = int(np.flatnonzero(s < 0)[0])
        raise ValueError(f"{name} must be non-negative; found {s[first]!r} at index {first}")
    if not s.sum() > 0:
        raise ValueError(f"{name} sums to zero: at least one example needs a positive weight")
    return s


def as_finite_scalar(value, name):
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def as_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_positive_float(value, name, allow_zero=False):
    value = as_finite_scalar(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got {value}")
    return value
