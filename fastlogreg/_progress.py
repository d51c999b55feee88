"""Progress of a fit on stderr: a tqdm bar with the iteration and the current cost.

The bar appears only when it helps: stderr is a terminal (no carriage-return garbage in
logs and pipes), tqdm is installed (an optional extra), and the fit has already run for
``delay`` seconds (short fits stay silent).
"""

import sys
import time


def _tqdm_class():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """``callback(iteration, objective)`` for ``LogisticRegression(callback=...)``.

    Use as a context manager so the bar is closed (and the line cleared) at the end.
    """

    def __init__(self, total, desc="fit", enabled=True, stream=None, delay=1.0, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.total = total
        self.desc = desc
        self.delay = delay
        self.clock = clock
        self._tqdm = _tqdm_class() if enabled and _is_terminal(self.stream) else None
        self._start = clock()
        self.bar = None

    def __call__(self, iteration, objective):
        if self._tqdm is None:
            return
        if self.bar is None:
            if self.clock() - self._start < self.delay:
                return
            # Starts at the current iteration, so the rate counts only what it saw.
            self.bar = self._tqdm(total=self.total, initial=iteration, desc=self.desc, unit="it",
                                  file=self.stream, leave=False, dynamic_ncols=True)
        self.bar.set_postfix_str(f"cost {objective:.8g}", refresh=False)
        self.bar.update(iteration - self.bar.n)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
