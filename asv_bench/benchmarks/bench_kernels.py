"""The fused kernels: time, fraction of read bandwidth, speed-up over NumPy, threads."""

import numpy as np

import fastlogreg
from fastlogreg._problem import Problem

from .common import SHAPES, Threads, classification_data, make_numpy_form, make_read_pass, median_ratio

SHAPE_NAMES = list(SHAPES)


class _KernelData:
    """Data and a Problem (validated once, scratch reused) per parameter set."""

    def setup(self, shape, dtype, order):
        self.X, self.y, w_true = classification_data(shape, dtype, order)
        self.w = 0.5 * w_true
        self.b = 0.1
        self.problem = Problem(self.X, self.y)
        self.hess_weights = np.empty(self.X.shape[0])
        self.problem.loss_grad_sums(self.w, self.b, self.hess_weights)  # compiles, and d for H v
        self.v = np.linspace(-1.0, 1.0, self.X.shape[1])
        self.gram_out = np.empty((self.X.shape[1] + 1,) * 2)
        # compile the public entry point too
        fastlogreg.cost_and_gradient(self.X, self.y, self.w, self.b)

    def cost_and_gradient(self):
        return fastlogreg.cost_and_gradient(self.X, self.y, self.w, self.b)

    def hessp(self):
        return self.problem.hessp_sums(self.hess_weights, self.v, 0.5)


class CostAndGradient(_KernelData):
    """fastlogreg.cost_and_gradient, one pass over X (validation included)."""

    params = (SHAPE_NAMES, ["float64", "float32"], ["C", "F"])
    param_names = ["shape", "dtype", "order"]
    timeout = 600

    def time_cost_and_gradient(self, shape, dtype, order):
        self.cost_and_gradient()

    def track_fraction_of_read_bandwidth(self, shape, dtype, order):
        """Kernel speed ÷ speed of a read-only parallel pass over the same X (1.0 = at the
        memory-bandwidth limit)."""
        return median_ratio(make_read_pass(self.X), self.cost_and_gradient)

    track_fraction_of_read_bandwidth.unit = "fraction"

    def track_speedup_over_numpy(self, shape, dtype, order):
        """Time of the NumPy form (X@w, σ, loss, X.T@(a-y)) ÷ time of the kernel."""
        return median_ratio(
            make_numpy_form(self.X, self.y, self.w, self.b), self.cost_and_gradient, 3, uses_blas=True
        )

    track_speedup_over_numpy.unit = "x"


class CostAndGradientByteLabels(_KernelData):
    """CostAndGradient with the same labels as uint8, one byte per example beside X
    instead of eight: the labels of LogisticRegression.fit, and of every call given
    boolean or integer labels (see fastlogreg._validation.as_labels)."""

    params = (SHAPE_NAMES, ["float64", "float32"], ["C", "F"])
    param_names = ["shape", "dtype", "order"]
    timeout = 600

    def setup(self, shape, dtype, order):
        super().setup(shape, dtype, order)
        self.y = self.y.astype(np.uint8)
        self.cost_and_gradient()  # compiles the uint8-label variant

    def time_cost_and_gradient(self, shape, dtype, order):
        self.cost_and_gradient()

    def track_fraction_of_read_bandwidth(self, shape, dtype, order):
        return median_ratio(make_read_pass(self.X), self.cost_and_gradient)

    track_fraction_of_read_bandwidth.unit = "fraction"


class HessianVectorProduct(_KernelData):
    """H v, one pass over X, with the Hessian weights from the last gradient pass."""

    params = (SHAPE_NAMES, ["float64", "float32"], ["C", "F"])
    param_names = ["shape", "dtype", "order"]
    timeout = 600

    def time_hessian_vector_product(self, shape, dtype, order):
        self.hessp()

    def track_fraction_of_read_bandwidth(self, shape, dtype, order):
        return median_ratio(make_read_pass(self.X), self.hessp)

    track_fraction_of_read_bandwidth.unit = "fraction"


class GradientAndGram(_KernelData):
    """The Newton step's pass: loss, gradient and the Gram matrix XᵀDX, X read once."""

    params = (SHAPE_NAMES, ["float64", "float32"], ["C", "F"])
    param_names = ["shape", "dtype", "order"]
    timeout = 900

    def setup(self, shape, dtype, order):
        super().setup(shape, dtype, order)
        self.gradient_and_gram()  # compiles

    def gradient_and_gram(self):
        self.problem.loss_grad_gram(self.w, self.b, self.hess_weights, self.gram_out)

    def time_gradient_and_gram(self, shape, dtype, order):
        self.gradient_and_gram()

    def track_fraction_of_matmul_speed(self, shape, dtype, order):
        """Time of XᵀX through NumPy (float64, the machine's matrix-multiply speed) ÷
        time of gradient + XᵀDX."""
        X64 = self.X if self.X.dtype == np.float64 else None
        if X64 is None:
            return float("nan")  # the yardstick is float64 matrix multiply
        return median_ratio(lambda: X64.T @ X64, self.gradient_and_gram, 3, uses_blas=True)

    track_fraction_of_matmul_speed.unit = "fraction"


class ThreadScaling(_KernelData):
    """The same kernel at 1 and 2 threads (2 threads ÷ 1 thread shows the scaling);
    float32 too, whose passes do the same work per example on half the bytes (on
    4e6 x 10, the shape most bound by the per-example work)."""

    params = (SHAPE_NAMES, ["float64", "float32"], ["C"], [1, 2])
    param_names = ["shape", "dtype", "order", "threads"]
    timeout = 600

    def setup(self, shape, dtype, order, threads):
        super().setup(shape, dtype, order)

    def time_cost_and_gradient(self, shape, dtype, order, threads):
        with Threads(threads):
            self.cost_and_gradient()

    def track_speedup_of_2_threads_over_1(self, shape, dtype, order, threads):
        if threads == 1:
            return 1.0

        def one():
            with Threads(1):
                self.cost_and_gradient()

        def two():
            with Threads(2):
                self.cost_and_gradient()

        return median_ratio(one, two)

    track_speedup_of_2_threads_over_1.unit = "x"
