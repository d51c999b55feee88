"""scikit-learn integration without requiring scikit-learn.

With scikit-learn installed, the estimator derives from its ``BaseEstimator`` and
``ClassifierMixin`` (clone, tags, repr, pipelines) and raises its warning and error
classes.  Without it, small stand-ins give the same public behaviour
(``get_params``/``set_params``, ``score``).
"""

import inspect

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning, NotFittedError

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised in environments without scikit-learn
    HAVE_SKLEARN = False

    class ConvergenceWarning(UserWarning):
        """The solver stopped at max_iter before reaching tol."""

    class DataConversionWarning(UserWarning):
        """The input was converted (a column vector y was raveled)."""

    class NotFittedError(ValueError, AttributeError):
        """The estimator is used before ``fit``."""

    class BaseEstimator:
        """get_params / set_params from the constructor's signature, as in scikit-learn."""

        @classmethod
        def _get_param_names(cls):
            signature = inspect.signature(cls.__init__)
            return sorted(p.name for p in signature.parameters.values() if p.name != "self")

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}")
                setattr(self, key, value)
            return self

        def __repr__(self):
            params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({params})"

    class ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None):
            """Mean accuracy of ``predict(X)`` against y (weighted by sample_weight)."""
            return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))


__all__ = [
    "HAVE_SKLEARN",
    "BaseEstimator",
    "ClassifierMixin",
    "ConvergenceWarning",
    "DataConversionWarning",
    "NotFittedError",
]
