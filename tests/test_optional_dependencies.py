"""fastlogreg without scikit-learn, and what ``import fastlogreg`` loads."""

import subprocess
import sys
import textwrap


def _run(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_is_light():
    out = _run(
        """
        import sys
        import fastlogreg
        heavy = [m for m in ("sklearn", "scipy.optimize", "scipy.linalg", "pandas") if m in sys.modules]
        print(heavy)
        """
    )
    assert out.strip() == "[]"


def test_estimator_works_without_sklearn():
    out = _run(
        """
        import sys
        sys.modules["sklearn"] = None  # makes `import sklearn` fail, as if not installed
        import pickle, warnings
        import numpy as np
        import fastlogreg
        from fastlogreg import LogisticRegression
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 3))
        y = np.where(X @ [1.0, -2.0, 0.5] + rng.standard_normal(200) > 0, "yes", "no")
        model = LogisticRegression(C=2.0).fit(X, y)
        assert model.get_params()["C"] == 2.0
        assert repr(model) == "LogisticRegression(C=2.0)", repr(model)
        assert model.score(X, y) > 0.8
        copy = pickle.loads(pickle.dumps(model))
        assert (copy.predict_proba(X) == model.predict_proba(X)).all()
        try:
            LogisticRegression().predict(X)
        except fastlogreg.NotFittedError:
            pass
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            LogisticRegression(solver="lbfgs", max_iter=1).fit(X, y)
        assert any(issubclass(w.category, fastlogreg.ConvergenceWarning) for w in caught)
        print("ok", type(model).__mro__[1:3])
        """
    )
    assert out.startswith("ok")


def test_estimator_derives_from_sklearn_when_installed():
    import pytest

    pytest.importorskip("sklearn")
    from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
    from sklearn.exceptions import ConvergenceWarning

    import fastlogreg

    assert issubclass(fastlogreg.LogisticRegression, BaseEstimator)
    assert issubclass(fastlogreg.LogisticRegression, ClassifierMixin)
    assert is_classifier(fastlogreg.LogisticRegression())
    assert fastlogreg.ConvergenceWarning is ConvergenceWarning
