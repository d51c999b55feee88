"""fastlogreg: logistic regression as fast as the hardware allows.

The margin, the sigmoid, the loss and the gradient are computed by fused Numba
kernels in one parallel pass over X.

Public API
----------
Functional layer: ``sigmoid``, ``cost``, ``cost_and_gradient``, ``gradient_descent``.
Estimator: ``LogisticRegression`` (scikit-learn compatible).
Kernels for your own ``@numba.njit`` code: ``fastlogreg.kernels``.
"""

from ._persistence import load
from .functional import GradientDescentResult, cost, cost_and_gradient, gradient_descent, sigmoid

__version__ = "0.1.0"


def __getattr__(name):
    # Resolved on first use: they involve scikit-learn's classes when it is installed,
    # and importing scikit-learn at ``import fastlogreg`` would cost most of a second.
    if name in ("ConvergenceWarning", "NotFittedError"):
        from ._sklearn_compat import exception_class

        return exception_class(name)
    if name == "LogisticRegression":  # built on first use, see _estimator
        from . import _estimator

        return _estimator.LogisticRegression
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ConvergenceWarning",
    "GradientDescentResult",
    "LogisticRegression",
    "NotFittedError",
    "cost",
    "cost_and_gradient",
    "gradient_descent",
    "load",
    "sigmoid",
    "__version__",
]
