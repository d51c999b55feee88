"""Solvers for the penalised logistic regression objective.

The objective, scaled as in scikit-learn so that ``tol`` means the same for every
data size::

    f(θ) = Σ s_i L_i(θ) / Σ s_i + α/2 ‖w‖²,   α = 1 / (C Σ s_i)   (α = 0 for C = inf)

θ = [w, b] with the intercept b unpenalised (θ = w without intercept).  Minimising f
is minimising scikit-learn's ½‖w‖² + C Σ s_i L_i.

Every solver stops when max |∇f(θ)| <= tol (L-BFGS, which may run on other variables
u with θ = T u, checks the gradient in θ: see VariableChange), or after ``max_iter``
iterations.
Each objective evaluation is one fused pass over X; each Hessian-vector product too.
"""

from dataclasses import dataclass, field

import numpy as np

from ._threads import blas_thread_limit

_NO_ARRAY = np.empty(0, dtype=np.float64)


class ScaledObjective:
    """f, ∇f, Hessian-vector products and the Hessian of the scaled objective, from
    the data's sums over examples (see the module docstring).

    The penalty and the scaling live here, once; a subclass supplies the sums, each
    from one pass over X: ``_loss_grad_sums(w, b, want_hessian)`` -> (Σ s L,
    [Σ s r x, Σ s r]), ``_hessp_sums(v, vb)`` at the last point evaluated with
    ``want_hessian``, and ``_loss_grad_gram_sums(w, b)`` -> (Σ s L, sums, the (n+1)²
    Gram matrix Σ s σ' [x, 1][x, 1]ᵀ) (see ``Problem``).  ``Objective`` takes them from
    one in-memory ``Problem``; ``_dask.DaskObjective`` from the row blocks on a Dask
    cluster.
    """

    def __init__(self, n_features, weight_sum, label_sum, C, fit_intercept):
        """``label_sum``: Σ s_i y_i, the weight of the positive labels."""
        self.n_features = n_features
        self.fit_intercept = fit_intercept
        self.size = n_features + int(fit_intercept)
        self.inv_weight_sum = 1.0 / weight_sum
        self.label_mean = label_sum / weight_sum
        self.alpha = 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)
        self.n_passes = 0

    def initial_theta(self):
        """w = 0 and, with an intercept, b = log(ȳ / (1 - ȳ)) (ȳ the weighted mean
        label): the optimum among models with w = 0, since b is not penalised.  With
        imbalanced classes the solvers then need fewer passes (L-BFGS on 1e6 x 100,
        10% positives, to within 1e-9 of the optimum: 8 passes instead of 11); with
        balanced ones it is b = 0, the usual start."""
        theta = np.zeros(self.size)
        if self.fit_intercept and 0.0 < self.label_mean < 1.0:
            theta[self.n_features] = np.log(self.label_mean / (1.0 - self.label_mean))
        return theta

    def split(self, theta):
        n = self.n_features
        return theta[:n], (theta[n] if self.fit_intercept else 0.0)

    def value_and_gradient(self, theta, want_hessian=False):
        w, b = self.split(theta)
        loss, sums = self._loss_grad_sums(w, b, want_hessian)
        self.n_passes += 1
        return self._scaled_value_and_gradient(w, loss, sums)

    def value_gradient_hessian(self, theta):
        """(f, ∇f, ∇²f) at theta, in one pass (``_loss_grad_gram_sums``)."""
        w, b = self.split(theta)
        loss, sums, full = self._loss_grad_gram_sums(w, b)
        self.n_passes += 1
        value, grad = self._scaled_value_and_gradient(w, loss, sums)
        return value, grad, self._scaled_hessian(full)

    def _scaled_value_and_gradient(self, w, loss, sums):
        n = self.n_features
        value = loss * self.inv_weight_sum + 0.5 * self.alpha * float(w @ w)
        grad = np.empty(self.size)
        grad[:n] = sums[:n] * self.inv_weight_sum + self.alpha * w
        if self.fit_intercept:
            grad[n] = sums[n] * self.inv_weight_sum
        return value, grad

    def hessian_vector_product(self, v):
        """H v at the last point evaluated with want_hessian=True."""
        v_w, v_b = self.split(v)
        sums = self._hessp_sums(v_w, v_b)
        self.n_passes += 1
        n = self.n_features
        hv = np.empty(self.size)
        hv[:n] = sums[:n] * self.inv_weight_sum + self.alpha * v_w
        if self.fit_intercept:
            hv[n] = sums[n] * self.inv_weight_sum
        return hv

    def _scaled_hessian(self, full):
        n = self.n_features
        H = full[: self.size, : self.size] * self.inv_weight_sum
        H[np.arange(n), np.arange(n)] += self.alpha
        return H

    def _sample_moments(self):
        """[Σ s, Σ s x, Σ s x²] over a sample of rows (see Problem.sample_moments), or
        None: subclasses that hold the data supply them."""
        return None

    def variable_change(self):
        """The change of variables θ = T u that L-BFGS runs in (see VariableChange),
        made from the columns' sample moments; None where the problem is already
        well scaled or no moments are known."""
        moments = self._sample_moments()
        if moments is None:
            return None
        return VariableChange.from_moments(moments, self.label_mean, self.alpha, self.fit_intercept)


class Objective(ScaledObjective):
    """The scaled objective of one in-memory ``Problem``."""

    def __init__(self, problem, C, fit_intercept):
        super().__init__(problem.n_features, problem.weight_sum, problem.label_sum, C, fit_intercept)
        self.problem = problem
        self._hess_weights = None  # s_i σ'(z_i) at the last point asked with want_hessian
        self._input_checked = False

    def _check_input_once(self, loss, sums):
        """X is not scanned for NaN/inf before the fit (one more pass over X): a NaN or
        an infinity in X makes the first pass's sums non-finite at any θ (r·inf and
        r·NaN are never finite, nor is w·x when x holds one), and then X is scanned for
        the error message (and the labels, which a pass checks too: see Problem).
        Non-finite sums from finite X (overflow) pass through."""
        if not self._input_checked:
            self._input_checked = True
            if not (np.isfinite(loss) and np.isfinite(sums).all()):
                self.problem.check_inputs()

    def _loss_grad_sums(self, w, b, want_hessian):
        hess_out = _NO_ARRAY
        if want_hessian:
            if self._hess_weights is None:
                self._hess_weights = np.empty(self.problem.n_samples)
            hess_out = self._hess_weights
        loss, sums = self.problem.loss_grad_sums(w, b, hess_out)
        self._check_input_once(loss, sums)
        return loss, sums

    def _hessp_sums(self, v, vb):
        return self.problem.hessp_sums(self._hess_weights, v, vb)

    def hessian(self):
        """The full Hessian at the last point evaluated with want_hessian=True, from a
        Gram pass of its own (value_gradient_hessian makes it with the gradient)."""
        n = self.n_features
        full = self.problem.gram(self._hess_weights, np.empty((n + 1, n + 1)))
        self.n_passes += 1
        return self._scaled_hessian(full)

    def _sample_moments(self):
        return self.problem.sample_moments(sample_rows(self.n_features))

    def _loss_grad_gram_sums(self, w, b):
        if self._hess_weights is None:
            self._hess_weights = np.empty(self.problem.n_samples)
        n = self.n_features
        loss, sums, gram = self.problem.loss_grad_gram(w, b, self._hess_weights, np.empty((n + 1, n + 1)))
        self._check_input_once(loss, sums)
        return loss, sums, gram


@dataclass
class SolverResult:
    theta: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    message: str = ""
    objective_curve: list = field(default_factory=list)


def _notify(callback, curve, iteration, value):
    curve.append(float(value))
    if callback is not None:
        callback(iteration, float(value))


# The change of variables for L-BFGS is made from at most this many rows, spread
# through X, and at most SAMPLE_ELEMENTS elements (1e5 x 1000: 1024 rows, 2.8 ms C,
# 4.7 ms F; 1e6 x 100: 4096 rows, 0.8 and 1.5 ms).  A preconditioner needs the
# columns' scales to a few per cent, not exactly: 1000 rows give them to about 5%.
SAMPLE_ROWS = 4096
SAMPLE_ELEMENTS = 1 << 20
# ... and is used when the curvatures it evens out differ by more than this factor,
# or a column's mean exceeds MAX_MEAN_TO_RMS times its root mean square (the
# intercept and that feature are then strongly coupled).  Below that, L-BFGS runs
# on θ itself: it converges as fast there, and a sample's noise would only move it.
MAX_CURVATURE_SPREAD = 4.0
MAX_MEAN_TO_RMS = 0.5


def sample_rows(n_features):
    """How many rows of X the change of variables is made from."""
    return max(16, min(SAMPLE_ROWS, SAMPLE_ELEMENTS // max(n_features, 1)))


class VariableChange:
    """θ = T u: L-BFGS minimises f(T u) over u instead of f(θ).

    L-BFGS starts from the identity as its guess of the inverse Hessian; where the
    features have very different scales, or means far from zero (the intercept and
    those features then move together), that guess is poor by orders of magnitude
    and L-BFGS needs hundreds or thousands of passes.  With u_j = c_j w_j and
    u_b = c_b (b + μ·w), c_j the square root of the Hessian's diagonal at the start
    after centring (ȳ(1-ȳ) var_j + α; c_b² = ȳ(1-ȳ)) and μ the column means,
    the Hessian in u is close to a multiple of the identity at the start.  The
    scales are normalised to a geometric mean of 1, so that T is the identity for
    features that are already standardised (and L-BFGS then takes the same steps).
    Measured on 2e5 x 100 standard normal features (passes to within 1e-9 of the
    optimum): columns scaled by factors from 0.1 to 10 took 560 passes on θ and 7 on
    u; from 0.01 to 100, 15001 and 7; shifted by up to 20 and scaled, 5078 and 6.
    The stopping test stays on ∇f(θ) (see lbfgs).
    """

    def __init__(self, scale, mean):
        """scale: c (length of θ); mean: μ (length n, zeros without an intercept)."""
        self.scale = scale
        self.mean = mean
        self.n_features = mean.shape[0]
        self.fit_intercept = scale.shape[0] > self.n_features

    @classmethod
    def identity(cls, n_features, fit_intercept):
        """u = θ (c = 1, μ = 0): the solvers then take exactly the steps they take on θ."""
        return cls(np.ones(n_features + int(fit_intercept)), np.zeros(n_features))

    @classmethod
    def from_moments(cls, moments, label_mean, alpha, fit_intercept):
        """The change for the sample moments [Σ s, Σ s x, Σ s x²]; None where the
        problem is well scaled already (see MAX_CURVATURE_SPREAD) or the moments are
        not usable (no weight, NaN or infinity in the sample)."""
        n = (moments.shape[0] - 1) // 2
        weight = moments[0]
        if not (weight > 0 and np.isfinite(moments).all()):
            return None
        second = moments[n + 1:] / weight
        mean = moments[1:n + 1] / weight if fit_intercept else np.zeros(n)
        variance = np.maximum(second - mean * mean, 0.0)
        q = label_mean * (1.0 - label_mean)
        if not q > 0:
            q = 0.25
        curvature = q * variance + alpha
        if fit_intercept:
            curvature = np.append(curvature, q)
        usable = curvature > 0
        if not usable.any():
            return None
        # a constant column without a penalty: no curvature of its own; any scale does
        curvature[~usable] = _geometric_mean(curvature[usable])
        coupled = fit_intercept and bool(np.any(mean * mean > MAX_MEAN_TO_RMS**2 * second))
        if curvature.max() <= MAX_CURVATURE_SPREAD * curvature.min() and not coupled:
            return None
        scale = np.sqrt(curvature)
        return cls(scale / _geometric_mean(scale), mean)

    def to_theta(self, u):
        theta = u / self.scale
        if self.fit_intercept:
            theta[-1] -= self.mean @ theta[:-1]
        return theta

    def to_u(self, theta):
        u = np.array(theta, dtype=np.float64)
        if self.fit_intercept:
            u[-1] += self.mean @ u[:-1]
        return u * self.scale

    def gradient_to_u(self, grad):
        """∇_u f(T u) = Tᵀ ∇f(θ)."""
        g = np.array(grad, dtype=np.float64)
        if self.fit_intercept:
            g[:-1] -= self.mean * g[-1]
        return g / self.scale


def _geometric_mean(values):
    return np.exp(np.mean(np.log(values)))


def _variable_change(objective, change_variables):
    """The solvers' change of variables (see VariableChange): the objective's, or the
    identity where it has none or change_variables is False."""
    change = objective.variable_change() if change_variables else None
    return change or VariableChange.identity(objective.n_features, objective.fit_intercept)


class _ToleranceReached(Exception):
    """Raised inside scipy's L-BFGS-B when max |∇f(θ)| <= tol (see lbfgs)."""


def lbfgs(objective, theta0, tol, max_iter, callback=None, change_variables=True, **_):
    """scipy's L-BFGS-B, one fused pass over X per function evaluation, on the
    variables u of ``objective.variable_change()`` where it gives one (see
    VariableChange; ``change_variables=False``: on θ).  It stops when
    max |∇f(θ)| <= tol: the gradient in θ, whatever the variables (scipy's own
    test, on the gradient in u, is switched off), so ``tol`` means what it means for
    the other solvers."""
    import scipy.optimize  # imported on first use: keeps ``import fastlogreg`` cheap

    change = _variable_change(objective, change_variables)
    curve = []
    last = {}  # the last point evaluated: L-BFGS-B's iterate when it calls back

    def value_and_gradient(u):
        first = not last
        u = np.array(u, dtype=np.float64)
        theta = change.to_theta(u)
        value, grad = objective.value_and_gradient(theta)
        last.update(u=u, theta=theta, value=value, grad=grad)
        if first and np.max(np.abs(grad)) <= tol:  # the start is optimal already
            raise _ToleranceReached
        return value, change.gradient_to_u(grad)

    def on_iteration(u):
        _notify(callback, curve, len(curve) + 1, last["value"])
        if np.array_equal(u, last["u"]) and np.max(np.abs(last["grad"])) <= tol:
            raise _ToleranceReached

    u0 = change.to_u(theta0)
    # L-BFGS-B's own linear algebra is tiny: one BLAS thread, so that no spinning BLAS
    # thread competes with the kernels for the cores (see blas_thread_limit).
    with blas_thread_limit(1):
        try:
            result = scipy.optimize.minimize(
                value_and_gradient, u0, jac=True, method="L-BFGS-B", callback=on_iteration,
                options={"maxiter": max_iter, "maxls": 50, "gtol": 0.0, "ftol": 64 * np.finfo(float).eps},
            )
        except _ToleranceReached:
            return SolverResult(
                theta=last["theta"], n_iter=len(curve), converged=True, objective=float(last["value"]),
                message="CONVERGENCE: max |gradient| <= tol", objective_curve=curve,
            )
    message = result.message if isinstance(result.message, str) else str(result.message)
    return SolverResult(
        theta=change.to_theta(result.x), n_iter=int(result.nit),
        converged=result.status == 0, objective=float(result.fun), message=message, objective_curve=curve,
    )


def _line_search(evaluate, theta, value, grad, direction):
    """Backtracking (Armijo) along ``direction``, where ``evaluate(theta)`` returns
    (value, gradient, state): (theta, value, gradient, state) at the accepted step, or
    None.

    Near the optimum the decrease of f is below its rounding error; there a step is
    also accepted if f did not rise beyond rounding and the gradient got smaller
    (as scikit-learn's Newton solvers do), or Newton could not reach a tight tol.
    """
    slope = float(grad @ direction)
    if slope >= 0:  # not a descent direction (numerical trouble): use the gradient
        direction = -grad
        slope = -float(grad @ grad)
    rounding = 16 * np.finfo(np.float64).eps * abs(value)
    grad_size = np.max(np.abs(grad))
    step = 1.0
    for _ in range(60):
        candidate = theta + step * direction
        new_value, new_grad, state = evaluate(candidate)
        if new_value <= value + 1e-4 * step * slope or (
            new_value - value <= rounding and np.max(np.abs(new_grad)) < grad_size
        ):
            return candidate, new_value, new_grad, state
        step *= 0.5
    return None


def _conjugate_gradient(hessp, rhs, tol, max_iter):
    """Approximately solve H p = rhs (H positive definite) by conjugate gradients."""
    p = np.zeros_like(rhs)
    r = rhs.copy()
    d = r.copy()
    rr = float(r @ r)
    for _ in range(max_iter):
        if np.sqrt(rr) <= tol:
            break
        Hd = hessp(d)
        curvature = float(d @ Hd)
        if curvature <= 0:  # flat or negative curvature: stop with what we have
            break
        step = rr / curvature
        p += step * d
        r -= step * Hd
        rr_new = float(r @ r)
        d = r + (rr_new / rr) * d
        rr = rr_new
    return p if p.any() else rhs


def _newton(theta0, tol, max_iter, callback, evaluate, solve):
    """Damped Newton: ``evaluate(theta)`` -> (value, gradient, state) and
    ``solve(gradient, state)`` -> the Newton direction at the last evaluated point."""
    theta = np.array(theta0, dtype=np.float64)
    value, grad, state = evaluate(theta)
    curve = []
    for iteration in range(1, max_iter + 1):
        if np.max(np.abs(grad)) <= tol:
            return SolverResult(theta, iteration - 1, True, value, "converged", curve)
        step = _line_search(evaluate, theta, value, grad, solve(grad, state))
        if step is None:
            return SolverResult(theta, iteration - 1, False, value, "line search failed", curve)
        theta, value, grad, state = step
        _notify(callback, curve, iteration, value)
    converged = bool(np.max(np.abs(grad)) <= tol)
    return SolverResult(theta, max_iter, converged, value, "max_iter reached", curve)


def newton_cg(objective, theta0, tol, max_iter, callback=None, change_variables=True, **_):
    """Truncated Newton: each step solves H p = -g by conjugate gradients, each
    Hessian-vector product one fused pass over X.  Where ``objective.variable_change()``
    gives θ = T u, the conjugate gradients run on Tᵀ H T p_u = -Tᵀ g (preconditioned
    by T Tᵀ) and the step is T p_u: badly scaled or uncentred features then need far
    fewer products (see VariableChange)."""
    change = _variable_change(objective, change_variables)

    def evaluate(theta):
        return (*objective.value_and_gradient(theta, want_hessian=True), None)

    def hessp_u(v):
        return change.gradient_to_u(objective.hessian_vector_product(change.to_theta(v)))

    def solve(grad, _):
        rhs = -change.gradient_to_u(grad)
        norm = float(np.sqrt(rhs @ rhs))
        step = _conjugate_gradient(
            hessp_u, rhs, tol=min(0.5, np.sqrt(norm)) * norm, max_iter=max(20, objective.size),
        )
        return change.to_theta(step)

    return _newton(theta0, tol, max_iter, callback, evaluate, solve)


def newton_cholesky(objective, theta0, tol, max_iter, callback=None, **_):
    """Newton with the full Hessian, solved by Cholesky.  Each evaluation computes the
    value, the gradient and XᵀDX in one pass over X (``value_gradient_hessian``).

    A singular Hessian (C = inf on separable or collinear data) falls back to a
    least-squares solve.
    """
    import scipy.linalg  # imported on first use: keeps ``import fastlogreg`` cheap
    from scipy.linalg.lapack import dpotrf, dpotrs

    def solve(grad, hessian):
        # LAPACK directly: for small problems scipy's wrappers cost more than the solve
        factor, info = dpotrf(hessian, lower=0, clean=0)
        if info == 0:
            direction, info = dpotrs(factor, -grad, lower=0)
            if info == 0:
                return direction
        return scipy.linalg.lstsq(hessian, -grad, check_finite=False)[0]

    return _newton(theta0, tol, max_iter, callback, objective.value_gradient_hessian, solve)


def gradient_descent(objective, theta0, tol, max_iter, callback=None, learning_rate=0.1, **_):
    """The textbook's batch gradient descent with a fixed learning rate."""
    theta = np.array(theta0, dtype=np.float64)
    curve = []
    value, grad = objective.value_and_gradient(theta)
    for iteration in range(1, max_iter + 1):
        if np.max(np.abs(grad)) <= tol:
            return SolverResult(theta, iteration - 1, True, value, "converged", curve)
        theta -= learning_rate * grad
        value, grad = objective.value_and_gradient(theta)
        if not np.isfinite(value):
            raise FloatingPointError(
                f"gradient descent diverged at iteration {iteration}: learning_rate "
                f"{learning_rate} is too large for this problem"
            )
        _notify(callback, curve, iteration, value)
    converged = bool(np.max(np.abs(grad)) <= tol)
    return SolverResult(theta, max_iter, converged, value, "max_iter reached", curve)


SOLVERS = {
    "lbfgs": lbfgs,
    "newton-cg": newton_cg,
    "newton-cholesky": newton_cholesky,
    "gd": gradient_descent,
}

# "auto": Newton with the full Hessian when XᵀDX costs little next to a pass over X:
# few features, or a small problem (its ~5 iterations then beat L-BFGS's dozens of
# passes).  Measured on 1e6 x 100: one XᵀDX (1e10 flops) costs more than L-BFGS's
# whole fit.  L-BFGS otherwise, and without a penalty (where the Hessian of separable
# data is singular).  Measured on 4e6 x 10, each solver at its loosest tolerance within
# 1e-9 of the optimum (AMD EPYC Zen 5, one process, medians of 5, after _llvm.gram_rows):
# well-conditioned features, Newton-Cholesky 53.5 ms (float64 C) and 60.0 ms (float32
# C) against L-BFGS's 59.0 and 40.1 ms, F order 93.1 against 74.3 ms; correlated ones
# (x_j = z_0 + 0.05 z_j), 83.3 ms against 252.5 ms (L-BFGS: 21 iterations), 1e6 x 10
# 20.2 against 73.3 ms, 1e6 x 3 6.7 against 32.0 ms.  F order after _kernels'
# 4 x 4-blocked Gram update (benchmarks/fit_speed.py --shape 4000000 10 --order F
# --only-fastlogreg --repeat 11; a noisy spell: auto and newton-cholesky, the same fits,
# differed by up to 18%): float64 78.5-79.6 ms against L-BFGS's 85.0; float32, where
# Newton-Cholesky needs 4 iterations, 92.9-109.7 against 77.4 ms.
NEWTON_CHOLESKY_MAX_FEATURES = 10
NEWTON_CHOLESKY_MAX_FLOPS = 5e7  # m n² of one XᵀDX


def choose_solver(n_samples, n_features, C):
    cheap_hessian = (
        n_features <= NEWTON_CHOLESKY_MAX_FEATURES or n_samples * n_features**2 <= NEWTON_CHOLESKY_MAX_FLOPS
    )
    if np.isfinite(C) and cheap_hessian:
        return "newton-cholesky"
    return "lbfgs"
