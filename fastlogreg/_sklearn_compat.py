"""scikit-learn integration without requiring scikit-learn, and without importing it
at ``import fastlogreg`` (that alone costs most of a second).

* ``estimator_bases()``: scikit-learn's ``ClassifierMixin`` and ``BaseEstimator`` when
  it is installed, else the stand-ins below, which implement the same protocol
  (``get_params``/``set_params`` from the constructor's signature, ``score``).
* ``exception_class(name)``: scikit-learn's ``ConvergenceWarning``, ``NotFittedError``
  or ``DataConversionWarning`` when installed, so that code filtering them keeps
  working; stand-ins otherwise.

Both are resolved on first use.
"""

import functools
import inspect

import numpy as np


class _ConvergenceWarning(UserWarning):
    """The solver stopped before reaching tol (stand-in for scikit-learn's)."""


class _DataConversionWarning(UserWarning):
    """The input was converted, e.g. a column vector y raveled (stand-in)."""


class _NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (stand-in for scikit-learn's)."""


@functools.cache
def exception_class(name):
    """scikit-learn's exception class ``name`` if installed, else the stand-in."""
    try:
        import sklearn.exceptions
    except ImportError:
        return {"ConvergenceWarning": _ConvergenceWarning, "DataConversionWarning": _DataConversionWarning,
                "NotFittedError": _NotFittedError}[name]
    return getattr(sklearn.exceptions, name)


class BaseEstimator:
    """get_params / set_params / repr from the constructor's signature, as scikit-learn's."""

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
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = []
        for key, value in self.get_params().items():
            default = defaults.get(key, inspect.Parameter.empty)
            same = value is default or (
                not isinstance(value, np.ndarray) and type(value) is type(default) and value == default
            )
            if not same:
                changed.append(f"{key}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


class ClassifierMixin:
    """score(), as scikit-learn's ClassifierMixin."""

    _estimator_type = "classifier"

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against y (weighted by sample_weight)."""
        return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))


@functools.cache
def estimator_bases():
    """(ClassifierMixin, BaseEstimator): scikit-learn's if installed, else the stand-ins."""
    try:
        from sklearn.base import BaseEstimator as SkBaseEstimator
        from sklearn.base import ClassifierMixin as SkClassifierMixin
    except ImportError:
        return ClassifierMixin, BaseEstimator
    return SkClassifierMixin, SkBaseEstimator
