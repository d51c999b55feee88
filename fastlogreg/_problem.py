"""A validated data set plus the scratch buffers its kernel calls reuse.

Every public entry point that evaluates the objective builds one ``Problem`` and
calls its methods; the solvers call them once per iteration without allocating.
"""

import functools

import numpy as np

from . import _config, _kernels
from ._threads import run_kernel
from ._validation import as_labels, as_matrix, as_sample_weight, check_label_values

_NO_ARRAY = np.empty(0, dtype=np.float64)
_GRAM_CHUNK_BYTES = 4 * 1024 * 1024
_SAMPLE_RUN_ROWS = 64  # Problem.sample_moments: runs of at most this many rows,
_SAMPLE_MIN_RUNS = 16  # and at least this many runs


class Problem:
    """X, y and sample weights checked once; kernel calls return sums over examples.

    Two checks are left to the passes, which read the data anyway: NaN or infinity in
    X, and labels outside [0, 1], make a pass's loss sum non-finite, and the caller
    then calls check_inputs for the error that names the bad entry."""

    def __init__(self, X, y, sample_weight=None):
        self.X, self._kernel_X, self._colmajor = as_matrix(X)
        m, n = self.X.shape
        self.n_samples, self.n_features = m, n
        self.y = as_labels(y, m)
        self.sample_weight = as_sample_weight(sample_weight, m)
        self.weight_sum = float(self.sample_weight.sum()) if self.sample_weight.size else float(m)
        self._tile, self._block_rows, n_blocks = _kernels.plan(m, n, self.X.itemsize, self._colmajor)
        self._z, self._partials = _kernels.allocate_workspace(n, n_blocks, self._tile)
        self._sums = np.empty(n + 2, dtype=np.float64)
        self._gram_workspace = None

    @property
    def dtype(self):
        return self.X.dtype

    @functools.cached_property
    def label_sum(self):
        """Σ s_i y_i: with weight_sum, the mean label that the solvers' start uses.
        Summed on first use: one more pass over y, which a single evaluation of the
        cost does not need (4e6 x 10: 2 ms, beside a pass over X of about 20 ms)."""
        s = self.sample_weight
        return float(self.y @ s) if s.size else float(self.y.sum())

    def loss_grad_sums(self, w, b, hess_weights_out=_NO_ARRAY):
        """(Σ s_i L_i, g) with g = [Σ s_i r_i x_i, Σ s_i r_i] (length n + 1, float64).

        ``g`` is a view of a buffer that the next call overwrites.  If
        ``hess_weights_out`` has m entries it receives s_i σ'(z_i).
        """
        self._run_pass(w, b, _kernels.LOSS_GRAD, hess_weights_out)
        _kernels.merge_partials(self._partials, self._sums)
        return self._sums[self.n_features + 1], self._sums[: self.n_features + 1]

    def hessp_sums(self, hess_weights, v, vb):
        """[Σ d_i (x_i·v + vb) x_i, Σ d_i (x_i·v + vb)] (length n + 1; a reused buffer)."""
        self._run_pass(v, vb, _kernels.HESSP, hess_weights)
        _kernels.merge_partials(self._partials, self._sums)
        return self._sums[: self.n_features + 1]

    def gram(self, d, out):
        """out = [[Xᵀ D X, Xᵀ d], [dᵀ X, Σ d]] ((n + 1)², float64), D = diag(d)."""
        if self._gram_in_kernel():
            _, grams = self._run_gram_pass(np.zeros(self.n_features), 0.0, False, d)
            _kernels.merge_grams(grams, out)
        else:
            self._chunked_gram(out, d=d)
        return out

    def loss_grad_gram(self, w, b, hess_weights_out, gram_out):
        """(Σ s_i L_i, g, gram_out) in ONE pass over X: as ``loss_grad_sums`` (g a new
        array of length n + 1, hess_weights_out receives d_i = s_i σ'(z_i)) and as
        ``gram(d, gram_out)``, each row chunk of X read from memory once."""
        if self._gram_in_kernel():
            partials, grams = self._run_gram_pass(w, b, True, hess_weights_out)
            _kernels.merge_grams(grams, gram_out)
            _kernels.merge_partials(partials, self._sums)
            return self._sums[self.n_features + 1], self._sums[: self.n_features + 1].copy(), gram_out
        grad = np.zeros(self.n_features + 1)
        # NaN/inf in X (not scanned before a fit) give non-finite sums here, which the
        # caller reports (_solvers.Objective): no NumPy warnings on the way.
        with np.errstate(invalid="ignore", over="ignore"):
            loss = self._chunked_gram(gram_out, w=w, b=float(b), d_out=hess_weights_out, grad_out=grad)
        return loss, grad, gram_out

    def _gram_in_kernel(self):
        """Few features and enough rows: the Gram matrix from our kernel (see _kernels
        and _config), else from BLAS."""
        return (
            self.n_features <= _config.GRAM_KERNEL_MAX_FEATURES
            and self.X.nbytes >= _config.GRAM_KERNEL_MIN_BYTES
        )

    def _run_gram_pass(self, u, u0, fused, d):
        if self._gram_workspace is None:  # allocated on first use
            self._gram_workspace = _gram_workspace(
                self.n_samples, self.n_features, self.X.itemsize, self._colmajor
            )
        tile, block_rows, z, partials, grams, transposed_tiles = self._gram_workspace
        run_kernel(
            _kernels.gram_parallel, _kernels.gram_serial,
            self._kernel_X, self._colmajor, u, float(u0), fused, self.y, self.sample_weight, d,
            tile, block_rows, z, partials, grams, transposed_tiles, data_bytes=self.X.nbytes,
        )
        return partials, grams

    def _chunked_gram(self, out, d=None, w=None, b=0.0, d_out=None, grad_out=None):
        """The Gram matrix for many features (see _gram_in_kernel), chunk by chunk:
        each chunk of X is copied (in float64) into a scratch of a few MiB that stays
        in cache, and multiplied there by BLAS (syrk: half the flops of a general
        product).  With ``w``, the chunk's margins, losses, residuals and Hessian
        weights are computed first from the same scratch (the fused gradient + Gram
        pass); the loss sum is returned."""
        import scipy.linalg.blas  # imported on first use: keeps ``import fastlogreg`` cheap

        n = self.n_features
        m = self.n_samples
        chunk = max(1, _GRAM_CHUNK_BYTES // (8 * n))
        scratch = np.empty((min(chunk, m), n), dtype=np.float64)
        xtx = np.zeros((n, n), dtype=np.float64, order="F")  # upper triangle, by syrk
        cross = np.zeros(n)
        d_total = 0.0
        loss = 0.0
        for a in range(0, m, chunk):
            stop = min(a + chunk, m)
            X_chunk = scratch[: stop - a]
            np.copyto(X_chunk, self.X[a:stop])
            if w is not None:
                d = d_out
                z = X_chunk @ w
                z += b
                losses = np.empty_like(z)
                _kernels.example_terms(z, losses, self.y, self.sample_weight, d, a, stop - a, self.X.dtype)
                loss += _kernels.loss_sum_checking_labels(losses, self.y, a, stop - a)
                grad_out[:n] += X_chunk.T @ z
                grad_out[n] += z.sum()
            d_chunk = d[a:stop]
            root = np.sqrt(d_chunk)
            X_chunk *= root[:, None]  # rows scaled by √d: (√D X)ᵀ(√D X) = Xᵀ D X
            xtx = scipy.linalg.blas.dsyrk(1.0, X_chunk.T, beta=1.0, c=xtx, trans=0, overwrite_c=True)
            cross += X_chunk.T @ root
            d_total += d_chunk.sum()
        # syrk filled the upper triangle (the lower one is still 0): mirror it
        np.add(xtx, xtx.T, out=out[:n, :n])
        out[np.arange(n), np.arange(n)] -= np.diagonal(xtx)
        out[n, :n] = cross
        out[:n, n] = cross
        out[n, n] = d_total
        return loss

    def sample_moments(self, max_rows):
        """[Σ s, Σ s x (n values), Σ s x² (n values)] (float64) over at most
        ``max_rows`` rows of X (all rows when m <= max_rows): the column means and
        spreads the solvers' change of variables is made from (see
        _solvers.VariableChange).  The rows are runs of up to 64 consecutive rows
        (at least 16 runs), evenly spaced through X: spread over all of X, yet read
        as whole cache lines from column-major X too (4096 rows of 1e6 x 100 F: 1.5
        ms, single rows 4.8 ms).  Reads only those rows, a few hundred at a time."""
        n = self.n_features
        rows = sample_row_indices(self.n_samples, max_rows)
        weights = self.sample_weight[rows] if self.sample_weight.size else np.ones(rows.size)
        out = np.zeros(2 * n + 1)
        out[0] = weights.sum()
        # NaN/inf in X (not scanned before a fit) give non-finite moments, which the
        # caller treats as "no change of variables"; the first pass reports them.
        with np.errstate(invalid="ignore", over="ignore"):
            for a in range(0, rows.size, 256):
                chunk = np.asarray(self.X[rows[a:a + 256]], dtype=np.float64)
                s = weights[a:a + 256]
                out[1:n + 1] += s @ chunk
                out[n + 1:] += s @ (chunk * chunk)
        return out

    def margins(self, w, b, out):
        """out = X w + b (float64, length m)."""
        return margins(self._kernel_X, self._colmajor, w, b, False, out)

    def _run_pass(self, u, u0, mode, d):
        run_kernel(
            _kernels.pass_parallel, _kernels.pass_serial,
            self._kernel_X, self._colmajor, u, float(u0), mode, self.y, self.sample_weight, d,
            self._tile, self._block_rows,
            self._z, self._partials, data_bytes=self.X.nbytes,
        )

    def check_inputs(self):
        """Raise a ValueError naming the first label outside [0, 1] or the first NaN/inf
        entry of X, if there is one: for a pass whose result is not finite."""
        check_label_values(self.y)
        self.check_finite_X()

    def check_finite_X(self, name="X", row_offset=0):
        """Raise a ValueError naming the first NaN/inf entry of X, if there is one
        (its row counted from ``row_offset``: X may be a row block of a larger X)."""
        check_finite_matrix(
            self._kernel_X, self._colmajor, self._block_rows, self._partials.shape[0], name, row_offset,
        )

    def separates(self, w, b):
        """True if every example with positive weight is strictly on its side of the plane."""
        z = self.margins(w, b, np.empty(self.n_samples))
        signed = np.where(self.y == 1.0, z, -z)
        if self.sample_weight.size:
            signed = signed[self.sample_weight > 0]
        return bool(np.all(signed > 0))


def sample_row_indices(m, max_rows):
    """The rows of an m-row X that Problem.sample_moments reads: all of them when
    m <= max_rows, else runs of up to 64 consecutive rows (at least 16 runs), evenly
    spaced through X."""
    max_rows = max(int(max_rows), 1)
    if m <= max_rows:
        return np.arange(m)
    run = max(1, min(_SAMPLE_RUN_ROWS, max_rows // _SAMPLE_MIN_RUNS))
    starts = np.linspace(0, m - run, max_rows // run).astype(np.int64)
    return (starts[:, None] + np.arange(run)).ravel()


def _gram_workspace(m, n, itemsize, colmajor):
    """(tile, block_rows, margins scratch, partials, per-block Gram matrices, scratch for
    transposed tiles) of the Gram kernel: at most GRAM_MAX_BLOCKS blocks (each block
    keeps an (n + 1)² matrix)."""
    tile, block_rows, n_blocks = _kernels.gram_plan(m, n, itemsize, colmajor)
    z, partials = _kernels.allocate_workspace(n, n_blocks, tile)
    grams = np.empty((n_blocks, n + 1, n + 1))
    transposed = _kernels.gram_transposes_tiles(n, colmajor)
    transposed_tiles = np.empty((n_blocks, n, tile) if transposed else (n_blocks, 0, 0))
    return tile, block_rows, z, partials, grams, transposed_tiles


def check_finite_matrix(kernel_X, colmajor, block_rows, n_blocks, name="X", row_offset=0):
    """One parallel read pass; on failure, the error names the first bad entry
    (its row counted from ``row_offset``)."""
    counts = np.empty(n_blocks, dtype=np.int64)
    bad = run_kernel(
        _kernels.count_nonfinite_parallel, _kernels.count_nonfinite_serial,
        kernel_X, colmajor, block_rows, counts, data_bytes=kernel_X.nbytes,
    )
    if bad:
        X = kernel_X.T if colmajor else kernel_X
        first_block = int(np.flatnonzero(counts)[0])
        rows = X[first_block * block_rows:(first_block + 1) * block_rows]
        i, j = np.argwhere(~np.isfinite(rows))[0]
        row = first_block * block_rows + int(i)
        raise ValueError(
            f"{name} contains NaN or infinity ({bad} entries; first at row {row_offset + row}, "
            f"column {int(j)}: {X[row, j]})"
        )


def margins(kernel_X, colmajor, w, b, apply_sigmoid, out):
    """out = X w + b (or σ of it), in one parallel pass."""
    m = out.shape[0]
    n = w.shape[0]
    tile, block_rows, n_blocks = _kernels.plan(m, n, kernel_X.itemsize, colmajor)
    run_kernel(
        _kernels._margins_parallel, _kernels._margins_serial,
        kernel_X, colmajor, w, float(b), tile, block_rows, n_blocks, out, apply_sigmoid,
        data_bytes=kernel_X.nbytes,
    )
    return out
