"""Fitting and predicting on Dask collections (``pip install "fastlogreg[dask]"``).

The estimator imports this module only when a dask array or DataFrame reaches it.

What runs where
---------------
* Client: the checks that the collections' metadata allow (shapes, chunks, dtypes),
  the classes (one ``unique`` pass over y), the solver, and the sums of the partials.
* Workers: once per fit, each row block becomes a ``_Block`` (labels as 0/1, weights
  checked and multiplied by the class weights, X checked for NaN and infinity: the
  same checks as in memory) that stays in the worker's memory, a Dask future.  An
  objective evaluation is then one call per worker, straight to an actor that holds
  that worker's blocks (see ``_ClusterBlocks``): it runs the in-process fused kernel
  over them and returns one row of partial sums per block.  The client merges the
  rows in block order, so the value and the gradient have the same bits wherever the
  blocks live.  A Newton step's evaluation is one call per worker too: one pass over
  each block gives its partial sums and its (n+1)² Gram matrix (summed on the worker
  when they are too many to send).
* Without a ``distributed.Client``, Dask's local scheduler computes the blocks once
  into this process, and the same block functions run on them here.

Tasks and actors name module-level functions of this package, so workers import them
(and load numba's cache) rather than receive pickled code; the first call of a fit
warms the kernels on every worker.

Faults
------
When a worker dies, the call to its actor fails; that evaluation is redone as one task
per worker through the scheduler, which recomputes the lost blocks from their task
graph, and the actors are placed anew.  The blocks' partials are the same bits, so the
fit goes on to the same model.  If the scheduler gives up (``KilledWorker``:
the task's workers kept dying) or a block cannot be recomputed (its data had no
source, e.g. it was scattered), the fit raises a ``RuntimeError`` that names the
cause, and the estimator keeps no new model.
"""

import contextlib
import functools
import uuid
import warnings

import dask
import dask.array as da
import numba
import numpy as np

from . import _estimator, _kernels, _solvers
from ._kernels import plan
from ._problem import Problem, check_finite_matrix, margins
from ._threads import blas_thread_limit, thread_limit
from ._validation import _check_dtype, as_matrix

# Newton's Hessian: up to this many bytes of (n+1)² Gram matrices (with the partial
# sums), the workers send one per block and the client adds them in block order (the
# same bits wherever the blocks are); above it (thousands of features), one per worker,
# its blocks' sum.
_GRAM_ROWS_BYTES = 64 * 1024 * 1024


# --- client: the input collections ----------------------------------------------------

def _client():
    """The default distributed Client, or None: then Dask's local scheduler is used
    (also when ``dask.config.set(scheduler=...)`` names a local one)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    if dask.config.get("scheduler", None) not in (None, "dask.distributed", "distributed"):
        return None
    try:
        return default_client()
    except ValueError:  # no client started
        return None


def _as_dask_array(data, name, lengths=True):
    """A dask array, DataFrame or Series as a dask array (a DataFrame's partition
    lengths computed, or taken from ``lengths``)."""
    if isinstance(data, da.Array):
        return data
    if hasattr(data, "to_dask_array"):  # a dask DataFrame or Series
        if not isinstance(lengths, bool) and data.npartitions != len(lengths):
            lengths = True
        with warnings.catch_warnings():
            # pandas' extension dtypes (string labels, nullable numbers) become object
            # arrays, which is all the blocks need: checked and converted there
            warnings.filterwarnings("ignore", "Dask currently has limited support for converting pandas "
                                    "extension dtypes", UserWarning)
            return data.to_dask_array(lengths=lengths)
    raise TypeError(
        f"{name}: a {type(data).__name__} is not supported; pass a dask array, DataFrame or Series"
    )


def _as_row_blocks(X):
    """(X, feature names, dtype of the coefficients): X as a 2-D dask array whose
    chunks hold whole rows (a chunked feature axis is rechunked)."""
    names = _estimator._feature_names(X)
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (m, n), got {X.ndim} dimension(s)")
    # complex and non-numeric X are rejected here; other dtypes become float64 (on the workers)
    dtype = np.dtype(_check_dtype(X, "X") or X.dtype)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})  # the kernels need whole rows in a block
    return X, names, dtype


def _check_known_rows(X):
    m, n = X.shape
    if np.isnan(m):
        raise ValueError(
            "X has unknown row chunk sizes (NaN in X.chunks): call X.compute_chunk_sizes() first"
        )
    if m == 0 or n == 0:
        raise ValueError(f"X is empty: found array with shape {X.shape} while a minimum of 1 is required.")


def _rows_like(v, chunks, name, rechunk=False):
    """v (numpy or dask, 1-D of length sum(chunks)) as a dask array with the row
    chunks ``chunks``: a numpy array is cut into them; a dask array must have them
    (or is rechunked, if asked)."""
    if not dask.is_dask_collection(v):
        return da.from_array(np.asarray(v), chunks=(chunks,))
    if v.chunks[0] != chunks:
        if rechunk:
            return v.rechunk((chunks,))
        raise ValueError(
            f"{name}'s row chunks {_short(v.chunks[0])} do not match X's {_short(chunks)}: every "
            f"row block of X needs its {name} in the same block; use {name}.rechunk(X.chunks[0])"
        )
    return v


def _short(chunks, keep=6):
    chunks = tuple(chunks)
    if len(chunks) <= keep:
        return str(chunks)
    return f"({', '.join(map(str, chunks[:keep]))}, ... {len(chunks)} chunks)"


def _labels(y, X):
    """y as a 1-D dask array with X's row chunks."""
    if dask.is_dask_collection(y):
        y = _as_dask_array(y, "y", lengths=X.chunks[0])
    y = _estimator._labels_1d(y, X.shape[0])
    return _rows_like(y, X.chunks[0], "y")


def _sample_weights(sample_weight, X):
    """None, a scalar, or a 1-D dask array with X's row chunks (values checked on the workers)."""
    m = X.shape[0]
    if sample_weight is None:
        return None
    if dask.is_dask_collection(sample_weight):
        s = _as_dask_array(sample_weight, "sample_weight", lengths=X.chunks[0])
        if s.ndim != 1 or s.shape[0] != m:
            raise ValueError(f"sample_weight.shape == {s.shape}, expected ({m},)!")
        return _rows_like(s, X.chunks[0], "sample_weight")
    s = _estimator._checked_sample_weight(sample_weight, m)
    return _rows_like(s, X.chunks[0], "sample_weight")


# --- fit ------------------------------------------------------------------------------

def fit(estimator, X, y, sample_weight=None):
    """LogisticRegression.fit for a dask X (parameters already checked)."""
    X, names, dtype = _as_row_blocks(X)
    _check_known_rows(X)
    m, n = X.shape
    estimator._check_features(names, n, reset=True)
    y = _labels(y, X)
    sample_weight = _sample_weights(sample_weight, X)
    classes, counts = dask.compute(*da.unique(y, return_counts=True))
    _estimator._check_label_values(classes)
    _estimator._check_classes(classes)
    estimator.classes_ = classes
    class_weight = estimator._class_weights(counts)

    blocks = _persist_blocks(X, y, sample_weight, classes[1], class_weight, dtype, estimator.n_threads)
    try:
        # [rows, Σ weights, Σ weights of the positive labels, sample moments of the
        # columns (see _summaries)]; warms the kernels
        sample_rows = -(-_solvers.sample_rows(n) // blocks.n_blocks)
        summary = blocks.sum_rows(_summaries, 2 * n + 4, dtype.name, sample_rows)
        if not summary[1] > 0:
            raise ValueError(_estimator.WEIGHTS_SUM_TO_ZERO)
        objective = DaskObjective(
            blocks, n, summary[1], summary[2], float(estimator.C), bool(estimator.fit_intercept),
            sample_moments=summary[3:],
        )
        solver, result = estimator._solve(objective, m, n)
        estimator._set_fitted(result, solver, dtype, blocks.all_separated, objective)
    finally:
        blocks.close()
    return estimator


def _persist_blocks(X, y, sample_weight, positive_class, class_weight, dtype, n_threads):
    """The row blocks as ``_Block`` objects: futures on the cluster, or in this process."""
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    keep = [k for k, rows in enumerate(X.chunks[0]) if rows > 0]
    parts = [X.to_delayed().ravel(), y.to_delayed().ravel()]
    parts.append(
        sample_weight.to_delayed().ravel() if dask.is_dask_collection(sample_weight)
        else [sample_weight] * len(starts)
    )
    # unique keys: two fits never share (and mutate) the same block objects
    fit_id = uuid.uuid4().hex
    make = dask.delayed(_make_block, pure=False)
    tasks = [
        make(int(starts[k]), parts[0][k], parts[1][k], parts[2][k], positive_class, class_weight,
             dask_key_name=f"fastlogreg-block-{fit_id}-{k}")
        for k in keep
    ]
    client = _client()
    if client is None:
        return _LocalBlocks(list(dask.compute(*tasks)), n_threads)
    return _ClusterBlocks(client, client.compute(tasks), [X.chunks[0][k] for k in keep], dtype)


class DaskObjective(_solvers.ScaledObjective):
    """The scaled objective of data held in row blocks (see the module docstring).

    Each value-and-gradient and each Hessian-vector product is one call per worker
    and one round trip; so is a Newton step's value, gradient and Hessian, made in
    one pass over each block.  Hessian weights s σ'(z) stay on the
    workers, next to their blocks.
    """

    def __init__(self, blocks, n_features, weight_sum, label_sum, C, fit_intercept, sample_moments=None):
        """sample_moments: [Σ s, Σ s x, Σ s x²] over a sample of the blocks' rows (see
        Problem.sample_moments), for L-BFGS's change of variables."""
        super().__init__(n_features, weight_sum, label_sum, C, fit_intercept)
        self.blocks = blocks
        self.sample_moments = sample_moments
        self._point = None  # (id, w, b): the last point evaluated with want_hessian

    def _sample_moments(self):
        return self.sample_moments

    def _loss_grad_sums(self, w, b, want_hessian):
        point = None
        if want_hessian:
            point = self._point = (uuid.uuid4().hex, np.array(w, dtype=np.float64), float(b))
        sums = self.blocks.sum_rows(_loss_grad_rows, self.n_features + 2, w, float(b), point)
        return sums[-1], sums[:-1]

    def _hessp_sums(self, v, vb):
        return self.blocks.sum_rows(_hessp_rows, self.n_features + 1, v, float(vb), self._point)

    def _loss_grad_gram_sums(self, w, b):
        n = self.n_features
        point = self._point = (uuid.uuid4().hex, np.array(w, dtype=np.float64), float(b))
        width = n + 2 + (n + 1) ** 2
        if width * self.blocks.n_blocks * 8 <= _GRAM_ROWS_BYTES:  # one row per block, block order
            sums = self.blocks.sum_rows(_loss_grad_gram_rows, width, point)
        else:
            sums = self.blocks.sum_per_worker(_loss_grad_gram_sum, point)
        return sums[n + 1], sums[: n + 1], sums[n + 2:].reshape(n + 1, n + 1)


class _BlockSet:
    """Runs ``func(blocks, *args)`` on the blocks, one call per worker (``_map``:
    a list of (block indices, result)), and combines the results."""

    n_blocks = 0

    def sum_rows(self, func, width, *args):
        """Σ over blocks, in block order, of the rows that func returns per block."""
        partials = np.empty((self.n_blocks, width))
        for indices, rows in self._map(func, *args):
            partials[indices] = rows
        out = np.empty(width)
        _kernels.merge_partials(partials, out)
        return out

    def sum_per_worker(self, func, *args):
        """Σ of func's per-worker results, in the order of their first block."""
        results = sorted((r for r in self._map(func, *args) if r[0]), key=lambda r: r[0][0])
        total = results[0][1].copy()
        for _, result in results[1:]:
            total += result
        return total

    def all_separated(self, w, b):
        return all(bool(r.all()) for _, r in self._map(_separated, np.asarray(w, dtype=np.float64), b))


class _LocalBlocks(_BlockSet):
    """The blocks in this process (no distributed Client): one 'worker', here."""

    def __init__(self, blocks, n_threads):
        self.blocks = blocks
        self.n_blocks = len(blocks)
        self.n_threads = n_threads

    def _map(self, func, *args):
        with thread_limit(self.n_threads):
            return [(list(range(self.n_blocks)), func(self.blocks, *args))]

    def close(self):
        self.blocks = None


class _ClusterBlocks(_BlockSet):
    """Futures of the blocks on a distributed cluster; one call per worker per map.

    A call goes straight to an actor (``_Evaluator``) that this fit placed on each
    worker holding blocks, and which holds that worker's blocks: one round trip, no
    scheduler in between.  The first call of a fit (which also warms the kernels on
    every worker), and a call whose actor's worker died, is one task per worker
    through the scheduler instead, which recomputes lost blocks; the blocks are then
    grouped anew and the actors placed again.
    """

    def __init__(self, client, futures, rows, dtype):
        self.client = client
        self.futures = futures
        self.rows = rows
        self.n_blocks = len(futures)
        self._groups = None  # [(worker address, [block indices])], from who_has
        self._actors = None  # [(actor, [block indices])], one actor per worker with blocks
        self._actor_futures = None  # the actors live as long as these
        self._warm_dtype = dtype.name
        self.calls = {"direct": 0, "task": 0}  # per worker, for the tests and benchmarks

    def _map(self, func, *args):
        with _cluster_errors():
            if self._warm_dtype is None:
                if self._actors is None:
                    self._actors = self._place_actors()
                if self._actors:
                    out = self._map_direct(func, args)
                    if out is not None:
                        return out
                    self._groups = self._actors = None
            return self._map_tasks(func, args)

    def _plan(self):
        """Group the blocks by the worker that holds them, after moving blocks from
        the workers with the most rows per thread to those with the fewest (once, here:
        an evaluation lasts as long as its slowest worker).  A block being recomputed
        forms a group without a worker."""
        if self._groups is None:
            from distributed import wait

            wait(self.futures)  # all placed (or failed: the error comes with the results)
            threads = {a: w["nthreads"] for a, w in self.client.scheduler_info()["workers"].items()}
            holders = self._holders(threads)
            targets = _balanced(holders, self.rows, threads)
            moved = [k for k, (h, t) in enumerate(zip(holders, targets, strict=True)) if h != t]
            if moved:
                for k in moved:  # the old future is dropped: its copy on the old worker too
                    self.futures[k] = self.client.submit(
                        _same, self.futures[k], workers=[targets[k]], allow_other_workers=True,
                        pure=False, key=f"fastlogreg-moved-{uuid.uuid4().hex}",
                    )
                wait(self.futures)
                holders = self._holders(threads)
            groups = {}
            for k, holder in enumerate(holders):
                groups.setdefault(holder, []).append(k)
            if self._warm_dtype is not None:  # the first call: every worker warms the kernels
                for address in threads:
                    groups.setdefault(address, [])
            self._groups = list(groups.items())
        return self._groups

    def _holders(self, threads):
        """Each block's worker (of several that hold it: the one with fewest rows so far)."""
        who_has = self.client.who_has(self.futures)
        load, holders = dict.fromkeys(threads, 0), []
        for future, rows in zip(self.futures, self.rows, strict=True):
            holder = min(who_has.get(future.key) or [None], key=lambda a: load.get(a, 0))
            load[holder] = load.get(holder, 0) + rows
            holders.append(holder)
        return holders

    def _place_actors(self):
        """[(actor, block indices)] for the current grouping; [] if a block has no
        holder right now (then tasks are used)."""
        groups = [(address, indices) for address, indices in self._plan() if indices]
        if any(address is None for address, _ in groups):
            return []
        futures = [
            self.client.submit(
                _Evaluator, *[self.futures[k] for k in indices], workers=[address], allow_other_workers=True,
                actor=True, pure=False, key=f"fastlogreg-evaluator-{uuid.uuid4().hex}",
            )
            for address, indices in groups
        ]
        actors = [future.result() for future in futures]
        if any(actor._address != address for actor, (address, _) in zip(actors, groups, strict=True)):
            return []  # a worker went away meanwhile (these actors, and copies of blocks, are dropped)
        self._actor_futures = futures
        return [(actor, indices) for actor, (_, indices) in zip(actors, groups, strict=True)]

    def _map_direct(self, func, args):
        """[(indices, result)] from the actors, or None if an actor's worker is gone
        (known once every call has ended: no call may still be using a block when a
        task starts on it)."""
        calls, out, repairable = [], [], False
        for actor, indices in self._actors:
            try:
                calls.append((indices, actor.run(func, args)))
            except Exception as exc:  # the client knows already that the worker is gone
                if not _lost_worker(exc):
                    raise
                repairable = True
        for indices, call in calls:
            try:
                out.append((indices, call.result()))
            except Exception as exc:
                if not _lost_worker(exc):
                    raise
                repairable = True
        self.calls["direct"] += len(calls)
        return None if repairable else out

    def _map_tasks(self, func, args):
        groups = self._plan()
        tasks = []
        for address, indices in groups:
            # a loose restriction: if that worker is gone, the task runs where its blocks are
            where = {} if address is None else {"workers": [address], "allow_other_workers": True}
            tasks.append(self.client.submit(
                _on_worker, func, args, self._warm_dtype, *[self.futures[k] for k in indices],
                pure=False, key=f"fastlogreg-{func.__name__.strip('_')}-{uuid.uuid4().hex}", **where,
            ))
        try:
            results = self.client.gather(tasks)
        finally:
            del tasks
        self.calls["task"] += len(groups)
        self._warm_dtype = None
        out = []
        for (address, indices), (ran_on, result) in zip(groups, results, strict=True):
            if ran_on != address:  # a worker died or the blocks moved: group them anew next time
                self._groups = self._actors = None
            if indices:
                out.append((indices, result))
        return out

    def close(self):
        self._actors = self._actor_futures = None
        for future in self.futures:
            future.release()
        self.futures = []


def _balanced(holders, rows, threads, min_gain=0.02):
    """Each block's worker: its holder, but for blocks moved, one at a time, from the
    worker with the most rows per thread to the one with the fewest, while that lowers
    the largest load by more than ``min_gain`` (a move copies a block once per fit)."""
    targets = list(holders)
    if not threads or any(h not in threads for h in holders):  # a block being recomputed
        return targets
    load = dict.fromkeys(threads, 0.0)
    for holder, r in zip(holders, rows, strict=True):
        load[holder] += r / threads[holder]
    for _ in range(len(rows)):
        high, low = max(load, key=load.get), min(load, key=load.get)
        candidates = [k for k, t in enumerate(targets) if t == high]
        if not candidates:
            break
        k = min(candidates, key=lambda k: max(load[high] - rows[k] / threads[high],
                                             load[low] + rows[k] / threads[low]))
        new_high = max(load[high] - rows[k] / threads[high], load[low] + rows[k] / threads[low])
        if new_high >= (1.0 - min_gain) * load[high]:
            break
        load[high] -= rows[k] / threads[high]
        load[low] += rows[k] / threads[low]
        targets[k] = low
    return targets


def _same(block):
    """A block, as a task's result on the worker that runs it (the block moves there)."""
    return block


@contextlib.contextmanager
def _cluster_errors():
    """The cluster's ways of failing a fit, as errors that name the cause."""
    from distributed import CancelledError, KilledWorker

    try:
        yield
    except KilledWorker as exc:
        raise RuntimeError(
            f"fastlogreg: the Dask workers running this fit kept dying ({exc}); the fit was "
            "stopped and no model was produced"
        ) from exc
    except CancelledError as exc:
        raise RuntimeError(
            f"fastlogreg: a row block of X was lost with its worker and could not be recomputed "
            f"({type(exc).__name__}: {' '.join(str(exc).split())}); data without a task graph to "
            "recompute it from (for example scattered data) does not survive a worker's death. "
            "No model was produced"
        ) from exc


def _lost_worker(exc):
    """True for the errors of a call to an actor whose worker is gone."""
    from distributed import CancelledError

    if isinstance(exc, (OSError, CancelledError, TimeoutError)):  # CommClosedError is an OSError
        return True
    # raised by distributed's Actor when its future tells that the worker was lost
    return isinstance(exc, RuntimeError) and "Worker holding Actor was lost" in str(exc)


# --- worker side ----------------------------------------------------------------------

class _Block:
    """One row block, ready for the kernels, in a worker's memory.

    ``start`` is the block's first row in X.  The Hessian weights s σ'(z) at the
    solver's last Newton point are kept with the block; a block that was recomputed
    or moved to another worker computes them again when asked.
    """

    def __init__(self, start, X, y01, sample_weight):
        self.start = start
        self.problem = Problem(X, y01, sample_weight)
        self._hess_point = None  # id of the point whose weights _hess_weights holds
        self._hess_weights = None

    def __getstate__(self):  # moved or spilled: the data, not the scratch buffers
        p = self.problem
        return self.start, p.X, p.y, p.sample_weight if p.sample_weight.size else None

    def __setstate__(self, state):
        self.__init__(*state)

    def __sizeof__(self):  # what Dask counts as this block's memory
        p = self.problem
        extra = 0 if self._hess_weights is None else self._hess_weights.nbytes
        return p.X.nbytes + p.y.nbytes + p.sample_weight.nbytes + extra

    def loss_grad_sums(self, w, b, point=None):
        """The Problem's (Σ s L, g); with ``point`` (id, w, b) it keeps s σ'(z) there."""
        if point is None:
            return self.problem.loss_grad_sums(w, b)
        return self._keeping_hess_weights(point, lambda d: self.problem.loss_grad_sums(w, b, d))

    def loss_grad_gram(self, point, gram_out):
        """The Problem's (Σ s L, g, gram_out) at ``point`` (id, w, b), in one pass,
        keeping s σ'(z) there."""
        return self._keeping_hess_weights(
            point, lambda d: self.problem.loss_grad_gram(point[1], point[2], d, gram_out)
        )

    def _keeping_hess_weights(self, point, run_pass):
        """run_pass(d), a pass that writes the Hessian weights at ``point`` into d: the
        block's buffer, marked as holding ``point``'s weights once the pass is done."""
        if self._hess_weights is None:
            self._hess_weights = np.empty(self.problem.n_samples)
        self._hess_point = None  # a pass that fails leaves no stale weights behind
        result = run_pass(self._hess_weights)
        self._hess_point = point[0]
        return result

    def hess_weights(self, point):
        if self._hess_point != point[0]:
            self.loss_grad_sums(point[1], point[2], point)
        return self._hess_weights


def _make_block(start, X, y, sample_weight, positive_class, class_weight):
    """A row block's _Block, with the in-memory fit's checks (errors name X's rows)."""
    with thread_limit(1):  # an ordinary task: the worker runs one per thread
        X = np.asarray(X)
        y = np.asarray(y).ravel()
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"the row block of X starting at row {start} has {X.shape[0]} rows but y's block "
                f"has {y.shape[0]}: y must be chunked like X"
            )
        y01 = (y == positive_class).astype(np.uint8)  # one byte per label: see as_labels
        s = None
        if sample_weight is not None:
            s = _estimator._checked_sample_weight(sample_weight, X.shape[0])
        s = _estimator._apply_class_weight(s, y01, class_weight)
        block = _Block(start, X, y01, s)
        block.problem.check_finite_X("X", row_offset=start)
    return block


def _run_on_worker(worker, func, args, warm_dtype, blocks):
    """(the worker's address, func(blocks, *args)), with the kernels using the
    worker's thread count: one such call runs per worker at a time."""
    threads = max(1, min(worker.state.nthreads, numba.config.NUMBA_NUM_THREADS))
    with thread_limit(threads):
        if warm_dtype is not None:
            _warm_kernels(warm_dtype)
        return worker.address, func(blocks, *args)


def _on_worker(func, args, warm_dtype, *blocks):
    """The task path: the blocks arrive as the task's dependencies."""
    from distributed import get_worker

    return _run_on_worker(get_worker(), func, args, warm_dtype, blocks)


class _Evaluator:
    """A Dask actor, one per worker with blocks, per fit, made from the blocks that
    worker holds (the same objects: no copy).  The client calls ``run`` directly."""

    def __init__(self, *blocks):
        from distributed import get_worker

        self.worker = get_worker()
        self.blocks = blocks

    def run(self, func, args):
        return _run_on_worker(self.worker, func, args, None, self.blocks)[1]


def _warm_kernels(dtype_name):
    """Compile, or load from numba's cache, the kernels a fit on this dtype calls."""
    X = np.zeros((2, 1), dtype=dtype_name)
    problem = Problem(X, np.array([0.0, 1.0]), np.ones(2))
    d = np.empty(2)
    problem.loss_grad_sums(np.zeros(1), 0.0, d)
    problem.hessp_sums(d, np.zeros(1), 0.0)
    problem.separates(np.zeros(1), 0.0)
    _kernels.merge_partials(np.zeros((1, 1)), np.empty(1))


def _summaries(blocks, dtype_name, sample_rows):
    """Per block: [rows, Σ weights, Σ weights of the positive labels, then the sample
    moments of at most sample_rows of its rows (Problem.sample_moments)]."""
    _warm_kernels(dtype_name)  # in this process too (local scheduler)
    rows = [
        np.concatenate([
            [b.problem.n_samples, b.problem.weight_sum, b.problem.label_sum],
            b.problem.sample_moments(sample_rows),
        ])
        for b in blocks
    ]
    return np.array(rows) if rows else np.empty((0, 0))  # a worker without blocks: dropped


def _loss_grad_rows(blocks, w, b, point):
    """Per block: [Σ s r x (n values), Σ s r, Σ s L]."""
    rows = np.empty((len(blocks), w.shape[0] + 2))
    for row, block in zip(rows, blocks, strict=True):
        loss, g = block.loss_grad_sums(w, b, point)
        row[:-1] = g
        row[-1] = loss
    return rows


def _hessp_rows(blocks, v, vb, point):
    rows = np.empty((len(blocks), v.shape[0] + 1))
    for row, block in zip(rows, blocks, strict=True):
        row[:] = block.problem.hessp_sums(block.hess_weights(point), v, vb)
    return rows


def _loss_grad_gram_rows(blocks, point):
    """Per block: [Σ s r x (n values), Σ s r, Σ s L, its (n+1)² Gram matrix], from one
    pass over the block (the Hessian weights at ``point`` kept for H·v)."""
    n = point[1].shape[0]
    rows = np.empty((len(blocks), n + 2 + (n + 1) ** 2))
    with blas_thread_limit(numba.get_num_threads()):
        for row, block in zip(rows, blocks, strict=True):
            loss, g, _ = block.loss_grad_gram(point, row[n + 2:].reshape(n + 1, n + 1))
            row[: n + 1] = g
            row[n + 1] = loss
    return rows


def _loss_grad_gram_sum(blocks, point):
    """Σ over this worker's blocks, in block order, of _loss_grad_gram_rows' rows."""
    n = point[1].shape[0]
    total = np.zeros(n + 2 + (n + 1) ** 2)
    for block in blocks:
        total += _loss_grad_gram_rows([block], point)[0]
    return total


def _separated(blocks, w, b):
    return np.array([block.problem.separates(w, b) for block in blocks], dtype=bool)


# --- predictions ----------------------------------------------------------------------

def decision_function(estimator, X):
    """The margins of a dask X: a lazy float64 dask array with X's row chunks."""
    X, names, _ = _as_row_blocks(X)
    estimator._check_features(names, X.shape[1], reset=False)
    return X.map_blocks(
        _block_margins, drop_axis=1, dtype=np.float64, meta=np.empty(0),
        w=estimator.coef_.ravel().astype(np.float64), b=float(estimator.intercept_[0]),
    )


def _block_margins(X, w, b, block_info=None):
    start = block_info[0]["array-location"][0][0] if block_info else 0
    if X.shape[0] == 0:
        return np.empty(0)
    with thread_limit(1):  # an ordinary task: the worker runs one per thread
        X, kernel_X, colmajor = as_matrix(X, "X")
        _, block_rows, n_blocks = plan(X.shape[0], X.shape[1], X.itemsize, colmajor)
        check_finite_matrix(kernel_X, colmajor, block_rows, n_blocks, "X", row_offset=start)
        return margins(kernel_X, colmajor, w, b, False, np.empty(X.shape[0]))


def map_margins(z, func, *args):
    """func(margins, *args) block by block on the dask array of margins z."""
    func = functools.partial(_margins_first, func, args)
    meta = func(np.zeros(1))
    if meta.ndim == 1:
        return z.map_blocks(func, dtype=meta.dtype, meta=meta[:0])
    return z.map_blocks(
        func, dtype=meta.dtype, meta=meta[:0], new_axis=1, chunks=(z.chunks[0], meta.shape[1:]),
    )


def _margins_first(func, args, z):
    return func(z, *args)


def score(estimator, X, y, sample_weight=None):
    """Mean accuracy on dask X (weighted by sample_weight), reduced on the cluster."""
    predicted = estimator.predict(X)
    chunks = predicted.chunks[0]
    if dask.is_dask_collection(y):
        y = _as_dask_array(y, "y", lengths=chunks)
    correct = predicted == _rows_like(y, chunks, "y", rechunk=True)
    if sample_weight is None:
        return float(correct.mean().compute())
    if dask.is_dask_collection(sample_weight):
        sample_weight = _as_dask_array(sample_weight, "sample_weight", lengths=chunks)
    s = _rows_like(sample_weight, chunks, "sample_weight", rechunk=True)
    hits, total = dask.compute((correct * s).sum(), s.sum())
    return float(hits / total)
