import pickle
import warnings

import numba
import numpy as np
import pytest
from conftest import make_data, two_threads
from numpy.testing import assert_allclose, assert_array_equal

from fastlogreg import ConvergenceWarning, LogisticRegression, NotFittedError

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_iris, load_wine  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

SOLVERS = ["lbfgs", "newton-cg", "newton-cholesky", "gd"]


def _standardised(X):
    return StandardScaler().fit_transform(X)


def real_datasets():
    """Binary problems from the data sets shipped with scikit-learn, standardised."""
    bc = load_breast_cancer()
    iris = load_iris()
    wine = load_wine()
    return {
        "breast_cancer": (_standardised(bc.data), bc.target),
        "iris_versicolor": (_standardised(iris.data), (iris.target == 1).astype(int)),
        "wine_class0": (_standardised(wine.data), np.where(wine.target == 0, "zero", "other")),
    }


DATASETS = real_datasets()


def sklearn_objective(X, y01, coef, intercept, C, sample_weight=None):
    z = X @ coef + intercept
    s = np.ones(len(y01)) if sample_weight is None else sample_weight
    penalty = 0.0 if np.isinf(C) else 0.5 * coef @ coef
    return penalty + (C if np.isfinite(C) else 1.0) * np.sum(s * (np.logaddexp(0, z) - y01 * z))


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [None, "sample", "class"])
def test_matches_sklearn_on_real_data(name, fit_intercept, weights):
    X, y = DATASETS[name]
    kwargs = dict(C=0.5, fit_intercept=fit_intercept)
    sample_weight = None
    if weights == "sample":
        sample_weight = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    if weights == "class":
        kwargs["class_weight"] = "balanced"
    ref = SkLogisticRegression(tol=1e-12, max_iter=10_000, **kwargs).fit(X, y, sample_weight=sample_weight)
    ours = LogisticRegression(tol=1e-10, max_iter=1000, **kwargs).fit(X, y, sample_weight=sample_weight)
    assert_array_equal(ours.classes_, ref.classes_)
    y01 = (y == ref.classes_[1]).astype(float)
    s = np.ones(len(y)) if sample_weight is None else sample_weight.copy()
    if weights == "class":
        counts = np.bincount(y01.astype(int))
        s *= np.where(y01 == 1, len(y) / (2 * counts[1]), len(y) / (2 * counts[0]))
    f_ref = sklearn_objective(X, y01, ref.coef_.ravel(), ref.intercept_[0], 0.5, s)
    f_ours = sklearn_objective(X, y01, ours.coef_.ravel(), ours.intercept_[0], 0.5, s)
    assert f_ours <= f_ref * (1 + 1e-8)
    assert_allclose(f_ours, f_ref, rtol=1e-8)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-5, atol=1e-5)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5, atol=1e-5)
    assert_array_equal(ours.predict(X), ref.predict(X))
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_all_solvers_reach_the_same_optimum(solver):
    X, y = DATASETS["breast_cancer"]
    reference = LogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=100).fit(X, y)
    max_iter = 100_000 if solver == "gd" else 1000
    model = LogisticRegression(solver=solver, tol=1e-9, max_iter=max_iter).fit(X, y)
    # The objective to 1e-12; the coefficients to what that pins down on this
    # ill-conditioned problem (L-BFGS-B stops once f falls by less than 64 ulp per
    # step: there 2.8e-13 relative above the optimum, coefficients 1.4e-6 off).
    f_star = sklearn_objective(X, y, reference.coef_.ravel(), reference.intercept_[0], 1.0)
    f_model = sklearn_objective(X, y, model.coef_.ravel(), model.intercept_[0], 1.0)
    assert f_model - f_star <= 1e-12 * f_star
    assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=5e-6)
    assert_allclose(model.intercept_, reference.intercept_, rtol=1e-6, atol=5e-6)
    assert model.n_iter_[0] >= 1
    assert model.solver_ == solver


def test_auto_solver_is_documented_choice():
    X, y = DATASETS["breast_cancer"]  # 569 x 30: m n² = 5e5, a cheap Hessian
    assert LogisticRegression().fit(X, y).solver_ == "newton-cholesky"
    assert LogisticRegression(C=np.inf, max_iter=20).fit(X[:, :2], y).solver_ == "lbfgs"
    wide = np.tile(X, (1, 5))  # 569 x 150: m n² = 1.3e7, still cheap
    assert LogisticRegression(max_iter=500).fit(wide, y).solver_ == "newton-cholesky"
    big_X, big_y = make_data(m=6000, n=100, seed=8)  # m n² = 6e7: L-BFGS
    assert LogisticRegression().fit(big_X, big_y).solver_ == "lbfgs"
    narrow_X, narrow_y = make_data(m=600_000, n=10, seed=9)  # few features: Newton
    assert LogisticRegression().fit(narrow_X, narrow_y).solver_ == "newton-cholesky"


def test_intercept_equals_column_of_ones_without_penalty_on_it():
    """Fitting the intercept == a column of ones as a feature, with C = inf (no penalty
    anywhere, so the column's coefficient is unpenalised like the intercept)."""
    X, y = DATASETS["iris_versicolor"]
    with_intercept = LogisticRegression(C=np.inf, tol=1e-10, solver="newton-cholesky").fit(X, y)
    ones = np.column_stack([X, np.ones(len(y))])
    with_column = LogisticRegression(C=np.inf, tol=1e-10, fit_intercept=False, solver="newton-cholesky")
    with_column.fit(ones, y)
    assert_allclose(with_column.coef_[0, :-1], with_intercept.coef_[0], rtol=1e-7)
    assert_allclose(with_column.coef_[0, -1], with_intercept.intercept_[0], rtol=1e-7)
    assert with_column.intercept_[0] == 0.0


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_float32_stays_float32_and_agrees(solver):
    X, y = DATASETS["breast_cancer"]
    X32 = X.astype(np.float32)
    m32 = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X32, y)
    m64 = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X32.astype(np.float64), y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert_allclose(m32.coef_, m64.coef_, rtol=1e-4, atol=1e-5)
    assert_array_equal(m32.predict(X32), m64.predict(X32))


@pytest.mark.parametrize("order", ["C", "F"])
def test_memory_orders_agree(order):
    X, y = DATASETS["wine_class0"]
    a = LogisticRegression(tol=1e-10).fit(np.asarray(X, order=order), y)
    b = LogisticRegression(tol=1e-10).fit(np.ascontiguousarray(X), y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-10)


@two_threads
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_bitwise_deterministic_across_thread_counts(solver):
    X, y = make_data(m=20_000, n=8, seed=21)
    one = LogisticRegression(solver=solver, n_threads=1).fit(X, y)
    two = LogisticRegression(solver=solver, n_threads=2).fit(X, y)
    assert_array_equal(one.coef_, two.coef_)
    assert_array_equal(one.intercept_, two.intercept_)
    assert_array_equal(one.decision_function(X), two.decision_function(X))


def test_n_threads_restored_also_on_error():
    X, y = make_data(m=200, n=3)
    before = numba.get_num_threads()
    LogisticRegression(n_threads=1).fit(X, y)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError):
        LogisticRegression(n_threads=1).fit(X, np.arange(200))
    assert numba.get_num_threads() == before


def test_pickle_round_trip():
    X, y = DATASETS["breast_cancer"]
    model = LogisticRegression().fit(X, y)
    clone = pickle.loads(pickle.dumps(model))
    assert_array_equal(clone.predict_proba(X), model.predict_proba(X))


def test_labels_of_any_two_values():
    X, y = make_data(m=300, n=4, seed=3)
    reference = LogisticRegression().fit(X, y)
    for labels in (np.array(["no", "yes"]), np.array([False, True]), np.array([-7, 12])):
        model = LogisticRegression().fit(X, labels[y.astype(int)])
        assert_array_equal(model.classes_, labels)
        assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
        assert set(model.predict(X)) <= set(labels)


def test_class_weight_dict_equals_sample_weight():
    X, y = make_data(m=300, n=4, seed=4)
    by_class = LogisticRegression(class_weight={0.0: 1.0, 1.0: 3.0}, tol=1e-10).fit(X, y)
    by_sample = LogisticRegression(tol=1e-10).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_allclose(by_class.coef_, by_sample.coef_, rtol=1e-10)


def test_warm_start_continues_from_previous_fit():
    X, y = DATASETS["breast_cancer"]
    model = LogisticRegression(solver="lbfgs", warm_start=True, tol=1e-8, max_iter=500).fit(X, y)
    model.fit(X, y)
    assert model.n_iter_[0] <= 2
    cold = LogisticRegression(solver="lbfgs", tol=1e-8, max_iter=500).fit(X, y)
    assert cold.n_iter_[0] > 5


def test_predict_log_proba_is_exact_in_the_tails():
    X = np.array([[-800.0], [0.0], [800.0]])
    model = LogisticRegression(fit_intercept=False).fit(np.array([[-1.0], [1.0]]), [0, 1])
    model.coef_[:] = 1.0
    log_p = model.predict_log_proba(X)
    assert np.isfinite(log_p).all()
    assert_allclose(log_p[0], [0.0, -800.0])
    assert_allclose(log_p[2], [-800.0, 0.0])
    assert_allclose(np.exp(log_p), model.predict_proba(X))


def test_separable_data_without_penalty_warns_and_stays_finite():
    X = np.r_[np.linspace(-3, -1, 20), np.linspace(1, 3, 20)].reshape(-1, 1)
    y = np.r_[np.zeros(20), np.ones(20)]
    for solver in ("lbfgs", "newton-cg", "newton-cholesky"):
        with pytest.warns(ConvergenceWarning):
            model = LogisticRegression(C=np.inf, solver=solver, max_iter=50).fit(X, y)
        assert np.isfinite(model.coef_).all() and np.isfinite(model.intercept_).all()
        assert_array_equal(model.predict(X), y)


def test_no_warning_when_converged():
    X, y = DATASETS["breast_cancer"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression().fit(X, y)


def test_max_iter_warns():
    X, y = DATASETS["breast_cancer"]
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LogisticRegression(solver="lbfgs", max_iter=2).fit(X, y)


@pytest.mark.parametrize(
    "kwargs, fit_args, match",
    [
        (dict(), dict(y=np.zeros(50)), "only one class"),
        (dict(), dict(y=np.arange(50) % 3), "Only binary classification is supported"),
        (dict(), dict(y=np.zeros(49)), "inconsistent numbers of samples"),
        (dict(), dict(X="nan"), "X contains NaN or infinity"),
        (dict(), dict(sample_weight=-np.ones(50)), "Negative values"),
        (dict(), dict(sample_weight=np.zeros(50)), "sums to zero"),
        (dict(C=0.0), dict(), "C must be a positive number"),
        (dict(C=-1.0), dict(), "C must be a positive number"),
        (dict(l1_ratio=0.5), dict(), "l1_ratio=0.5 is not supported yet"),
        (dict(solver="sag"), dict(), "solver must be one of"),
        (dict(class_weight="auto"), dict(), "class_weight"),
        (dict(class_weight={5: 1.0}), dict(), "not in y's classes"),
        (dict(n_threads=0), dict(), "n_threads"),
        (dict(tol=-1), dict(), "tol"),
        (dict(max_iter=0), dict(), "max_iter"),
    ],
)
def test_bad_input(kwargs, fit_args, match):
    X, y = make_data(m=50, n=3, seed=5)
    if fit_args.get("X") == "nan":
        X = X.copy()
        X[3, 1] = np.nan
        fit_args = {}
    args = dict(X=X, y=y, sample_weight=None)
    args.update(fit_args)
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**kwargs).fit(**args)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-cholesky", "gd"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order", ["C", "F"])
def test_nonfinite_X_is_found_by_every_solver(solver, bad, order):
    """fit does not scan X up front: the first pass over X must find a NaN/inf, also in
    a row whose sample weight is 0 and with a warm start."""
    X, y = make_data(m=80, n=3, seed=5)
    X = np.asarray(X, order=order)
    s = np.ones(80)
    s[11] = 0.0
    model = LogisticRegression(solver=solver, warm_start=True).fit(X, y)
    X_bad = X.copy(order=order)
    X_bad[11, 2] = bad
    for m in (LogisticRegression(solver=solver), model):
        with pytest.raises(ValueError, match="X contains NaN or infinity.*row 11, column 2"):
            m.fit(X_bad, y, sample_weight=s)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("order", ["C", "F"])
def test_nonfinite_X_is_found_by_newton_cholesky_with_the_gram_kernel(bad, order, monkeypatch):
    """As above, with the Gram matrix from our kernel (fused with the gradient pass),
    which small X does not use by default."""
    from fastlogreg import _config, _kernels

    monkeypatch.setattr(_config, "GRAM_KERNEL_MIN_BYTES", 0)
    calls = []
    serial = _kernels.gram_serial
    monkeypatch.setattr(_kernels, "gram_serial", lambda *args: calls.append(1) or serial(*args))
    X, y = make_data(m=80, n=3, seed=5)
    X_bad = np.asarray(X, order=order).copy(order=order)
    X_bad[11, 2] = bad
    with pytest.raises(ValueError, match="X contains NaN or infinity.*row 11, column 2"):
        LogisticRegression(solver="newton-cholesky").fit(X_bad, y)
    assert calls  # the kernel did run
    model = LogisticRegression(solver="newton-cholesky").fit(X, y)
    monkeypatch.setattr(_config, "GRAM_KERNEL_MIN_BYTES", 2**62)  # the BLAS path
    reference = LogisticRegression(solver="newton-cholesky").fit(X, y)
    assert_allclose(model.coef_, reference.coef_, rtol=1e-10)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 1, 3, 3, 1]), np.array([2.0, -0.0, 0.0, 2.0, 0.0]), np.array([True, False, False]),
        np.array([2, 2, 7], dtype=np.uint8), np.array([-1.0, 1.0, 1.0], dtype=np.float32),
        np.array([1.0, 0.0, 1.0], dtype=np.float16), np.array([2**64 - 1, 5], dtype=np.uint64),
        np.array([5, 9, 9, 7, 5, 7])[::2], np.array([1.0, 0.0, 0.0], dtype=">f8"),
    ],
)
def test_binary_labels_encoded_as_np_unique_does(labels):
    from fastlogreg._estimator import _encode_labels_fast_or_none

    before = labels.copy()
    classes, y01 = _encode_labels_fast_or_none(labels)
    expected_classes, inverse = np.unique(labels, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    assert_array_equal(classes, expected_classes)
    assert y01.dtype == np.uint8  # one byte per label for the passes (see as_labels)
    assert_array_equal(y01, inverse)
    assert_array_equal(labels, before)


@pytest.mark.parametrize(
    "labels",
    [
        [4, 4, 4], [4, 5, 6], [5, 4, 4, 4, 6], [1.5, 0.0, 1.5], [np.nan, 0.0, 0.0], [0.0, 0.0, np.nan],
        [0.0, np.inf, 0.0], [np.nan, np.nan], ["a", "b"], [1 + 0j, 0j],
    ],
)
def test_labels_the_fast_encoding_leaves_to_np_unique_and_the_checks(labels):
    from fastlogreg._estimator import _encode_labels_fast_or_none

    assert _encode_labels_fast_or_none(np.array(labels)) is None


def test_predict_errors():
    X, y = make_data(m=50, n=3, seed=6)
    with pytest.raises(NotFittedError):
        LogisticRegression().predict(X)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        model.predict(X[:, :2])
    X_bad = X.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.predict_proba(X_bad)


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = make_data(m=100, n=3, seed=7)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = LogisticRegression().fit(frame, y)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert_array_equal(model.predict(frame), model.predict(X[:, :3]) if False else model.predict(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame[["c", "b", "a"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X)


def test_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.95
    assert search.best_estimator_.score(X, y) > 0.97


def test_callback_and_objective_curve():
    X, y = DATASETS["breast_cancer"]
    seen = []
    model = LogisticRegression(solver="lbfgs", callback=lambda i, f: seen.append((i, f))).fit(X, y)
    assert len(seen) == model.n_iter_[0] == len(model.objective_curve_)
    assert [i for i, _ in seen] == list(range(1, len(seen) + 1))
    assert_allclose([f for _, f in seen], model.objective_curve_)
    assert model.objective_curve_[-1] <= model.objective_curve_[0]


@pytest.mark.parametrize("solver", SOLVERS)
def test_n_passes_counts_every_pass_over_X(solver, problem_passes):
    """n_passes_ is the number of the Problem's passes over X, whatever the solver."""
    calls = problem_passes
    X, y = DATASETS["breast_cancer"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # gd at max_iter: still counted
        model = LogisticRegression(solver=solver, max_iter=50).fit(X, y)
    assert model.n_passes_ == len(calls) > model.n_iter_[0] > 0
    if solver == "gd":  # one pass at the start and one per step
        assert model.n_passes_ == model.n_iter_[0] + 1
    if solver == "newton-cg":
        assert "hessp_sums" in calls
    if solver == "newton-cholesky":  # the gradient and XᵀDX in the same pass
        assert set(calls) == {"loss_grad_gram"}
