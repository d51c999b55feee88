import numpy as np
import pytest
from conftest import make_data

from fastlogreg import cost, cost_and_gradient, gradient_descent

X0, y0 = make_data(m=50, n=4)
w0 = np.zeros(4)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(X=np.zeros((0, 4)), y=np.zeros(0)), ValueError, "X is empty"),
        (dict(X=np.zeros((50, 0)), w=np.zeros(0)), ValueError, "X is empty"),
        (dict(X=np.zeros(50)), ValueError, "X must be a 2-D"),
        (dict(X=np.zeros((50, 4, 1))), ValueError, "X must be a 2-D"),
        (dict(y=np.zeros(49)), ValueError, "y has length 49, expected 50"),
        (dict(y=np.zeros((2, 50))), ValueError, "y must be 1-D"),
        (dict(w=np.zeros(5)), ValueError, "w has length 5, expected 4"),
        (dict(w=np.zeros((2, 4))), ValueError, "w must be 1-D"),
        (dict(y=np.full(50, 2.0)), ValueError, "y must hold labels 0 or 1"),
        (dict(y=np.full(50, -1.0)), ValueError, "y must hold labels 0 or 1"),
        (dict(y=np.r_[np.nan, np.zeros(49)]), ValueError, "y contains NaN"),
        (dict(w=np.r_[np.inf, np.zeros(3)]), ValueError, "w contains NaN"),
        (dict(b=np.nan), ValueError, "b must be finite"),
        (dict(b="a"), TypeError, "b must be a real number"),
        (dict(sample_weight=np.r_[-1.0, np.ones(49)]), ValueError, "sample_weight must be non-negative"),
        (dict(sample_weight=np.zeros(50)), ValueError, "sample_weight sums to zero"),
        (dict(sample_weight=np.r_[np.nan, np.ones(49)]), ValueError, "sample_weight contains NaN"),
        (dict(sample_weight=np.ones(49)), ValueError, "sample_weight has length 49"),
        (dict(X=X0.astype(np.complex128)), ValueError, "Complex data not supported: X"),
        (dict(X=X0.astype(str)), TypeError, "X must be numeric"),
        (dict(X=np.array([["a"] * 4] * 50, dtype=object)), TypeError, "X must be numeric"),
        (dict(y=y0.astype(np.complex128)), ValueError, "Complex data not supported: y"),
        (dict(y=np.array(["a"] * 50)), TypeError, "y must be numeric"),
    ],
)
def test_bad_input_is_named(kwargs, error, match):
    args = dict(X=X0, y=y0, w=w0, b=0.0, sample_weight=None)
    args.update(kwargs)
    for fn in (cost, cost_and_gradient):
        with pytest.raises(error, match=match):
            fn(**args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nonfinite_X_is_reported_with_position(bad, order, dtype):
    X = np.asarray(X0, dtype=dtype, order=order).copy()
    X[17, 2] = bad
    for w in (w0, np.ones(4)):  # also with zero weights: 0 * inf is still caught
        with pytest.raises(ValueError, match=r"X contains NaN or infinity .*row 17, column 2"):
            cost_and_gradient(X, y0, w)


@pytest.mark.parametrize("bad", [1.5, -1e-300, np.nan, np.inf])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("row", [0, 20_011, 39_999])
def test_bad_label_is_found_by_the_pass_that_reads_it(bad, order, row):
    # the labels' values are checked inside the kernels' passes (see Problem): here a
    # parallel pass of several blocks, the bad label at the start, inside and at the end
    X, y = make_data(m=40_000, n=10)
    X = np.asarray(X, order=order)
    y = y.copy()
    y[row] = bad
    before = y.copy()
    match = "y contains NaN" if not np.isfinite(bad) else rf"y must hold labels 0 or 1 .*at index {row}"
    for call in (
        lambda: cost(X, y, np.zeros(10)),
        lambda: cost_and_gradient(X, y, np.ones(10), 0.5),
        # with a zero weight on that example: still an error
        lambda: cost(X, y, np.ones(10), sample_weight=np.where(np.arange(40_000) == row, 0.0, 1.0)),
        lambda: gradient_descent(X, y, n_iter=2),
    ):
        with pytest.raises(ValueError, match=match):
            call()
    np.testing.assert_array_equal(y, before)


def test_soft_labels_at_the_ends_of_the_range_are_accepted():
    X, y = make_data(m=40_000, n=10)
    soft = np.where(y == 1.0, 1.0, 0.0)
    soft[::7] = 0.25
    soft[1::7] = 0.0
    soft[2::7] = 1.0
    J, dw, db = cost_and_gradient(X, soft, np.ones(10), 0.1)
    assert np.isfinite(J) and np.isfinite(dw).all() and np.isfinite(db)


def test_nonfinite_X_row_with_zero_weight_is_still_reported():
    X = X0.copy()
    X[3, 0] = np.nan
    s = np.ones(50)
    s[3] = 0.0
    with pytest.raises(ValueError, match="row 3, column 0"):
        cost(X, y0, w0, sample_weight=s)


def test_sparse_X_is_rejected():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="sparse"):
        cost(sparse.csr_matrix(X0), y0, w0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(learning_rate=0.0), ValueError, "learning_rate must be positive"),
        (dict(learning_rate=np.nan), ValueError, "learning_rate must be finite"),
        (dict(n_iter=0), ValueError, "n_iter must be >= 1"),
        (dict(n_iter=2.5), TypeError, "n_iter must be an int"),
        (dict(w0=np.zeros(3)), ValueError, "w0 has length 3"),
        (dict(tol=-1.0), ValueError, "tol must be non-negative"),
        (dict(n_threads=-1), ValueError, "n_threads"),
    ],
)
def test_gradient_descent_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        gradient_descent(X0, y0, **kwargs)
