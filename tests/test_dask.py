"""Fitting and predicting on dask collections, on a real 2-worker LocalCluster.

The cluster (2 worker processes x 1 thread, loopback, no dashboard) starts once per
session; every test leaves it with 2 workers.  A watchdog ends the run with a
traceback if a test hangs (a lost worker must never leave the suite waiting).
"""

import faulthandler
import gc
import os
import signal
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import make_data
from numpy.testing import assert_allclose, assert_array_equal

from fastlogreg import LogisticRegression

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")
import dask  # noqa: E402

from fastlogreg import _dask  # noqa: E402

RTOL = 1e-8  # the bar: coefficients within 1e-8 relative of the in-memory fit
WATCHDOG_S = 120


@pytest.fixture(scope="session")
def client():
    with warnings.catch_warnings():
        # without a dashboard the scheduler still serves /health on 8787, or, where that
        # port is taken (another cluster on this machine), on a free one, with a warning
        # (and leaves the socket of its failed try to the garbage collector)
        warnings.filterwarnings("ignore", r"Port \d+ is already in use", UserWarning)
        warnings.filterwarnings("ignore", r"unclosed <socket", ResourceWarning)
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        )
        gc.collect()
    with cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


@pytest.fixture(autouse=True)
def watchdog():
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def chunked(X, y, rows, cols=None):
    Xd = da.from_array(X, chunks=(rows, cols or X.shape[1]))
    return Xd, da.from_array(y, chunks=(Xd.chunks[0],))


def assert_same_model(ours, ref, rtol=RTOL):
    assert_array_equal(ours.classes_, ref.classes_)
    assert ours.coef_.dtype == ref.coef_.dtype
    assert_allclose(ours.coef_, ref.coef_, rtol=rtol, atol=0)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol, atol=1e-14)
    assert_allclose(ours.objective_, ref.objective_, rtol=1e-12)


UNEVEN = (1, 700, 1299, 1000, 1500, 500)  # m = 5000


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky", "newton-cg"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", [None, "sample", "class"])
def test_matches_in_memory_fit(client, solver, dtype, weights):
    X, y = make_data(m=5000, n=12, seed=1)
    X = X.astype(dtype)
    labels = np.where(y == 1, "yes", "no").astype(object)
    kwargs = dict(solver=solver, C=0.5)
    sample_weight = None
    if weights == "sample":
        sample_weight = np.random.default_rng(2).uniform(0.1, 3.0, len(y))
    if weights == "class":
        kwargs["class_weight"] = {"yes": 3.0}
    ref = LogisticRegression(**kwargs).fit(X, labels, sample_weight=sample_weight)
    Xd, yd = chunked(X, labels, UNEVEN)
    sw = None if sample_weight is None else da.from_array(sample_weight, chunks=(Xd.chunks[0],))
    ours = LogisticRegression(**kwargs).fit(Xd, yd, sample_weight=sw)
    assert_same_model(ours, ref)
    assert ours.solver_ == ref.solver_ and ours.n_iter_ == ref.n_iter_
    assert ours.n_passes_ == ref.n_passes_  # newton-cholesky: gradient and XᵀDX in one pass


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_unstandardised_features_get_the_change_of_variables(client, solver):
    """The block summaries' sample moments give the dask fit the solvers' change of
    variables too: few iterations (lbfgs without it: 114), the in-memory model."""
    X, y = make_data(m=5000, n=6, seed=4)
    X = X * np.logspace(-2, 2, 6) + np.linspace(-20, 30, 6)
    kwargs = dict(solver=solver, tol=1e-8, max_iter=1000)
    ref = LogisticRegression(**kwargs).fit(X, y)
    ours = LogisticRegression(**kwargs).fit(*chunked(X, y, UNEVEN))
    assert ours.n_iter_[0] <= 40 and ref.n_iter_[0] <= 40
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-5)
    assert_allclose(ours.objective_, ref.objective_, rtol=1e-12)


def test_balanced_classes_numpy_y_and_tight_tol(client):
    X, y = make_data(m=4000, n=6, seed=3)
    kwargs = dict(class_weight="balanced", tol=1e-10, fit_intercept=False)
    ref = LogisticRegression(**kwargs).fit(X, y)
    ours = LogisticRegression(**kwargs).fit(da.from_array(X, chunks=(900, 6)), y)  # y: numpy, cut like X
    assert_same_model(ours, ref)


def test_chunked_feature_axis_is_rechunked(client):
    X, y = make_data(m=3000, n=10, seed=4)
    ref = LogisticRegression().fit(X, y)
    Xd, yd = chunked(X, y, 1000, cols=(3, 3, 4))
    assert_same_model(LogisticRegression().fit(Xd, yd), ref)


def test_column_major_blocks_and_integer_X(client):
    X, y = make_data(m=2000, n=5, seed=5)
    Xi = np.round(X * 10).astype(np.int64)
    ref = LogisticRegression().fit(Xi, y)
    ours = LogisticRegression().fit(da.from_array(np.asfortranarray(Xi), chunks=(500, 5)), y)
    assert_same_model(ours, ref)
    assert ours.coef_.dtype == np.float64


def test_warm_start_and_unpenalised(client):
    X, y = make_data(m=3000, n=5, seed=6)
    Xd, yd = chunked(X, y, 800)
    ref = LogisticRegression(C=np.inf, solver="lbfgs").fit(X, y)
    ours = LogisticRegression(C=np.inf, solver="lbfgs").fit(Xd, yd)
    assert_same_model(ours, ref)
    ours.set_params(warm_start=True, max_iter=5)
    assert_allclose(ours.fit(Xd, yd).coef_, ref.coef_, rtol=1e-6)  # starts at the optimum


def test_one_call_per_worker_per_evaluation(client):
    """The design: an evaluation is one call per worker, over the blocks it holds."""
    from fastlogreg._problem import Problem
    from fastlogreg._solvers import Objective

    X, y = make_data(m=4000, n=5, seed=7)
    Xd, yd = chunked(X, y, 250)  # 16 blocks
    blocks = _dask._persist_blocks(Xd, yd, None, 1.0, None, np.dtype(np.float64), None)
    try:
        summary = blocks.sum_rows(_dask._summaries, 14, "float64", 250)  # the first call: tasks, warm-up
        assert summary[0] == 4000 and blocks.calls == {"direct": 0, "task": 2}
        # every row sampled (250 per block): the moments of all of X
        assert_allclose(summary[3:], Problem(X, y).sample_moments(4000), rtol=1e-12)
        objective = _dask.DaskObjective(blocks, 5, summary[1], summary[2], 1.0, True)
        assert_allclose(objective.initial_theta(), Objective(Problem(X, y), 1.0, True).initial_theta())
        theta = np.full(6, 0.1)
        objective.value_and_gradient(theta)  # places the actors
        with distributed.get_task_stream(client) as stream:
            value, grad = objective.value_and_gradient(theta)
        assert blocks.calls == {"direct": 4, "task": 2}  # straight to the workers' actors
        assert not [t for t in stream.data if "fastlogreg" in str(t["key"])]  # no task, no scheduler
        held = client.who_has(blocks.futures)
        assert {len(v) for v in held.values()} == {1}  # each block on one worker: persisted, not copied
        assert len({v[0] for v in held.values()}) == 2
    finally:
        blocks.close()
    ref_value, ref_grad = Objective(Problem(X, y), 1.0, True).value_and_gradient(theta)
    assert_allclose(value, ref_value, rtol=1e-14)
    assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-16)


def test_blocks_balanced_across_workers_once_per_fit(client):
    """X persisted on one worker: half of the blocks move to the other, once."""
    X, y = make_data(m=4000, n=5, seed=18)
    first = sorted(client.scheduler_info()["workers"])[0]
    Xd, yd = client.persist(list(chunked(X, y, 500)), workers=[first], allow_other_workers=True)
    distributed.wait([Xd, yd])
    blocks = _dask._persist_blocks(Xd, yd, None, 1.0, None, np.dtype(np.float64), None)
    try:
        blocks.sum_rows(_dask._summaries, 14, "float64", 16)
        held = client.who_has(blocks.futures)
        assert sorted(len(indices) for _, indices in blocks._plan()) == [4, 4]
        assert {len(v) for v in held.values()} == {1}  # moved, not copied
        objective = _dask.DaskObjective(blocks, 5, 4000.0, float(y.sum()), 1.0, True)
        value, _ = objective.value_and_gradient(np.full(6, 0.1))
    finally:
        blocks.close()
    from fastlogreg._problem import Problem
    from fastlogreg._solvers import Objective

    assert_allclose(value, Objective(Problem(X, y), 1.0, True).value_and_gradient(np.full(6, 0.1))[0],
                    rtol=1e-14)


def test_dask_dataframe_input(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y = make_data(m=2000, n=4, seed=8)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=np.where(y == 1, "pos", "neg"))
    ddf = dd.from_pandas(frame, npartitions=3)
    ref = LogisticRegression().fit(frame[["a", "b", "c", "d"]], frame["label"])
    ours = LogisticRegression().fit(ddf[["a", "b", "c", "d"]], ddf["label"])
    assert_same_model(ours, ref)
    assert_array_equal(ours.feature_names_in_, ["a", "b", "c", "d"])
    features = ["a", "b", "c", "d"]
    assert_array_equal(ours.predict(ddf[features]).compute(), ref.predict(frame[features]))
    assert ours.score(ddf[features], ddf["label"]) == pytest.approx(
        ref.score(frame[features], frame["label"]), abs=1e-12)


def test_predictions_are_dask_arrays(client):
    X, y = make_data(m=3000, n=6, seed=9)
    ref = LogisticRegression().fit(X, y)
    Xd, yd = chunked(X, y, (1000, 1500, 500))
    ours = LogisticRegression().fit(Xd, yd)
    for method in ("decision_function", "predict", "predict_proba", "predict_log_proba"):
        lazy = getattr(ours, method)(Xd)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == Xd.chunks[0]
        assert_allclose(lazy.compute(), getattr(ref, method)(X), rtol=1e-9, atol=1e-12, err_msg=method)
    weights = np.random.default_rng(1).uniform(0.5, 2, len(y))
    assert ours.score(Xd, yd) == pytest.approx(ref.score(X, y), abs=1e-12)
    assert ours.score(Xd, y, sample_weight=weights) == pytest.approx(ref.score(X, y, sample_weight=weights))
    # numpy input to a model fitted on dask: the in-memory path
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-9, atol=1e-12)


def test_local_scheduler_without_client(client, problem_passes):
    X, y = make_data(m=3000, n=5, seed=10)
    ref = LogisticRegression(solver="newton-cholesky").fit(X, y)
    Xd, yd = chunked(X, y, 700)  # 5 blocks
    calls = problem_passes  # the blocks' passes over their rows (here, in this process)
    calls.clear()  # not the in-memory reference's
    with dask.config.set(scheduler="threads"):
        assert _dask._client() is None
        ours = LogisticRegression(solver="newton-cholesky", n_threads=1).fit(Xd, yd)
        assert_allclose(ours.predict_proba(Xd).compute(), ref.predict_proba(X), rtol=1e-9)
    assert_same_model(ours, ref)
    # one pass over each block per Newton evaluation: the gradient and XᵀDX together
    assert calls == ["loss_grad_gram"] * (5 * ours.n_passes_) and ours.n_passes_ == ref.n_passes_


# --- bad input ------------------------------------------------------------------------

def test_nan_in_a_block_names_the_row(client):
    X, y = make_data(m=3000, n=4, seed=11)
    X[2345, 2] = np.nan
    Xd, yd = chunked(X, y, 1000)
    with pytest.raises(ValueError, match=r"X contains NaN or inf.*\(1 entries; first at row 2345, column 2"):
        LogisticRegression().fit(Xd, yd)
    good = LogisticRegression().fit(*chunked(*make_data(m=3000, n=4, seed=11), 1000))
    with pytest.raises(ValueError, match="first at row 2345"):
        good.predict(Xd).compute()


def test_y_chunks_must_match_X(client):
    X, y = make_data(m=3000, n=4, seed=12)
    Xd = da.from_array(X, chunks=(1000, 4))
    with pytest.raises(ValueError, match=r"y's row chunks \(1500, 1500\) do not match X's \(1000, 1000, 10"):
        LogisticRegression().fit(Xd, da.from_array(y, chunks=1500))
    sw = da.from_array(np.ones(3000), chunks=750)
    with pytest.raises(ValueError, match="sample_weight's row chunks"):
        LogisticRegression().fit(Xd, y, sample_weight=sw)


@pytest.mark.parametrize("bad, message", [
    (lambda X, y: (X[:, 0], y), "2-D array"),
    (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
    (lambda X, y: (X.astype(complex), y), "Complex data"),
    (lambda X, y: (X[X[:, 0] > 0], y[X[:, 0] > 0]), "unknown row chunk sizes"),
    (lambda X, y: (X, y * 0.5), "continuous"),
    (lambda X, y: (X, y * 0), "only one class"),
])
def test_bad_input(client, bad, message):
    X, y = make_data(m=1000, n=3, seed=13)
    Xd, yd = chunked(X, y, 400)
    Xb, yb = bad(Xd, yd)
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(Xb, yb)


def test_bad_sample_weight_in_a_block(client):
    X, y = make_data(m=1000, n=3, seed=14)
    Xd, yd = chunked(X, y, 400)
    sw = np.ones(1000)
    sw[900] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to sample_weight"):
        LogisticRegression().fit(Xd, yd, sample_weight=da.from_array(sw, chunks=(Xd.chunks[0],)))
    with pytest.raises(ValueError, match="sums to zero"):
        LogisticRegression().fit(Xd, yd, sample_weight=da.zeros(1000, chunks=(Xd.chunks[0],)))
    model = LogisticRegression().fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        model.decision_function(Xd[:, :2])


# --- faults ---------------------------------------------------------------------------

def _block_holders(client):
    held = client.who_has()
    blocks = ("fastlogreg-block", "fastlogreg-moved")
    return sorted({w for key, workers in held.items() if str(key).startswith(blocks) for w in workers})


def _kill_at(client, iteration, victims, which=0):
    """A callback that SIGKILLs a worker holding blocks of the fit (the first or the
    last, by address), at ``iteration``."""
    pids = client.run(os.getpid)

    def callback(i, _value):
        if i == iteration:
            victim = _block_holders(client)[-which]
            victims.append(victim)
            os.kill(pids[victim], signal.SIGKILL)

    return callback


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cholesky"])
def test_worker_killed_mid_fit_gives_the_same_model(client, solver):
    X, y = make_data(m=20000, n=8, seed=15)
    Xd, yd = chunked(X, y, 2500)
    ref = LogisticRegression(solver=solver, tol=1e-8).fit(Xd, yd)
    victims = []
    ours = LogisticRegression(solver=solver, tol=1e-8, callback=_kill_at(client, 2, victims)).fit(Xd, yd)
    assert len(victims) == 1 and victims[0] not in client.scheduler_info()["workers"]
    # the lost blocks were recomputed from X's graph: the partials have the same bits
    assert_array_equal(ours.coef_, ref.coef_)
    assert_array_equal(ours.intercept_, ref.intercept_)
    assert_allclose(ours.coef_, LogisticRegression(solver=solver, tol=1e-8).fit(X, y).coef_, rtol=RTOL)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the worker


@pytest.mark.parametrize("which", [0, 1])
def test_worker_killed_after_blocks_moved(client, which):
    # the moved blocks, or those that stayed (and X's chunks), are recomputed from X's graph
    X, y = make_data(m=12000, n=6, seed=19)
    first = sorted(client.scheduler_info()["workers"])[0]
    # (a loose restriction: X's chunks lost with that worker can be recomputed on another)
    Xd, yd = client.persist(list(chunked(X, y, 1500)), workers=[first], allow_other_workers=True)
    distributed.wait([Xd, yd])
    ref = LogisticRegression(solver="lbfgs").fit(X, y)
    victims = []
    ours = LogisticRegression(solver="lbfgs", callback=_kill_at(client, 2, victims, which)).fit(Xd, yd)
    assert len(victims) == 1 and (victims[0] == first) == (which == 0)
    assert_allclose(ours.coef_, ref.coef_, rtol=RTOL)
    client.wait_for_workers(2, timeout=60)


def test_worker_killed_with_unrecoverable_data_raises(client):
    X, y = make_data(m=4000, n=4, seed=16)
    first = sorted(client.scheduler_info()["workers"])[0]
    scattered = client.scatter(X, workers=[first])  # no task graph: cannot be recomputed
    Xd = da.from_delayed(scattered, shape=X.shape, dtype=X.dtype)
    model = LogisticRegression(solver="lbfgs", callback=_kill_at(client, 1, []))
    with pytest.raises(RuntimeError, match="lost with its worker and could not be recomputed"):
        model.fit(Xd, y)
    assert not hasattr(model, "coef_")  # no model, not a wrong one
    del scattered, Xd
    client.wait_for_workers(2, timeout=60)


def test_dask_is_imported_only_for_dask_input():
    code = (
        "import sys, numpy as np\n"
        "from fastlogreg import LogisticRegression\n"
        "X = np.random.default_rng(0).standard_normal((50, 2)); y = X[:, 0] > 0\n"
        "m = LogisticRegression().fit(X, y); m.predict(X)\n"
        "assert 'dask' not in sys.modules and 'distributed' not in sys.modules, 'dask imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_hessian_summed_on_the_workers_when_large(client, monkeypatch):
    # above _GRAM_ROWS_BYTES each worker sends the sum of its blocks' Gram matrices
    monkeypatch.setattr(_dask, "_GRAM_ROWS_BYTES", 0)
    X, y = make_data(m=3000, n=6, seed=17)
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    ours = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(*chunked(X, y, 400))
    assert_same_model(ours, ref)
    assert ours.n_passes_ == ref.n_passes_  # the per-worker sums come from one pass too


def test_newton_cholesky_on_workers_with_the_gram_kernel(client):
    """Row blocks of 640 KB: the workers build their Gram matrices with our kernel (X of
    at least _config.GRAM_KERNEL_MIN_BYTES), as does the in-memory reference."""
    from fastlogreg import _config

    X, y = make_data(m=40_000, n=8, seed=23)
    assert 10_000 * 8 * 8 >= _config.GRAM_KERNEL_MIN_BYTES
    ref = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(X, y)
    ours = LogisticRegression(solver="newton-cholesky", tol=1e-10).fit(*chunked(X, y, 10_000))
    assert_same_model(ours, ref)
