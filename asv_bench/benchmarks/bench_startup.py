"""Start-up cost, each in a fresh process: import, and a first fit with an empty and a
warm numba cache."""

import subprocess
import sys

_FIRST_FIT = """
import numpy as np
from fastlogreg import LogisticRegression
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 10))
y = (rng.random(1000) < 0.5).astype(int)
LogisticRegression().fit(X, y).predict_proba(X)
"""


def timeraw_import_numba():
    """The baseline: what importing numba alone costs."""
    return "import numba"


def timeraw_import_fastlogreg():
    return "import fastlogreg"


def timeraw_first_fit_empty_cache():
    """Import, compile every kernel a default fit needs, fit: a new user's first run."""
    return (
        "import os, tempfile\n"
        "os.environ['NUMBA_CACHE_DIR'] = tempfile.mkdtemp(prefix='fastlogreg-asv-')\n" + _FIRST_FIT
    )


timeraw_first_fit_empty_cache.timeout = 600


class WarmCache:
    """A first fit in a fresh process, after the cache was filled once."""

    timeout = 600

    def setup(self):
        subprocess.run([sys.executable, "-c", _FIRST_FIT], check=True)

    def timeraw_first_fit_warm_cache(self):
        return _FIRST_FIT
