"""fastlogreg: logistic regression as fast as the hardware allows.

The margin, the sigmoid, the loss and the gradient are computed by fused Numba
kernels in one parallel pass over X.

Public API
----------
Functional layer: ``sigmoid``, ``cost``, ``cost_and_gradient``, ``gradient_descent``.
Estimator: ``LogisticRegression`` (scikit-learn compatible).
Kernels for your own ``@numba.njit`` code: ``fastlogreg.kernels``.
"""

from ._estimator import LogisticRegression
from ._sklearn_compat import ConvergenceWarning, NotFittedError
from .functional import GradientDescentResult, cost, cost_and_gradient, gradient_descent, sigmoid

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "GradientDescentResult",
    "LogisticRegression",
    "NotFittedError",
    "cost",
    "cost_and_gradient",
    "gradient_descent",
    "sigmoid",
    "__version__",
]
