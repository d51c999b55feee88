"""Thread count control and threading-layer safety for the parallel kernels."""

import contextlib
import numbers
import threading

import numba

from . import _config

# numba's "workqueue" threading layer aborts the process when two threads enter a
# parallel region at once.  The layer is only known after the first parallel call,
# so that call is made under this lock; afterwards the lock is used only if the
# layer turned out to be workqueue, and a thread that finds it taken runs the
# serial twin of the kernel instead of waiting.
_layer_lock = threading.Lock()
_layer_is_threadsafe = None


def _layer_known_threadsafe():
    global _layer_is_threadsafe
    if _layer_is_threadsafe is None:
        try:
            _layer_is_threadsafe = numba.threading_layer() != "workqueue"
        except ValueError:  # no parallel region has run yet
            return None
    return _layer_is_threadsafe


def run_kernel(parallel_kernel, serial_kernel, *args, data_bytes):
    """Run ``parallel_kernel(*args)``, or its serial twin (same blocks, same bits) when
    the data is too small for threads to pay off, or where running in parallel from
    this thread is not safe."""
    if data_bytes < _config.PARALLEL_MIN_BYTES:
        return serial_kernel(*args)
    if _layer_known_threadsafe():
        return parallel_kernel(*args)
    if _layer_lock.acquire(blocking=False):
        try:
            return parallel_kernel(*args)
        finally:
            _layer_lock.release()
    return serial_kernel(*args)


def check_n_threads(n_threads, name="n_threads"):
    """Validate a thread count: None (all of numba's threads) or 1..NUMBA_NUM_THREADS."""
    if n_threads is None:
        return None
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"{name} must be None or a positive int, got {n_threads!r}")
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= n_threads <= limit:
        raise ValueError(
            f"{name} must be between 1 and {limit} (numba's NUMBA_NUM_THREADS), got {n_threads}"
        )
    return int(n_threads)


@contextlib.contextmanager
def thread_limit(n_threads):
    """Run the block with numba's thread count set to ``n_threads`` (None: leave it).

    The previous count is restored on exit, also when the block raises.  numba's
    thread count is per calling thread, so this does not affect other threads.
    """
    n_threads = check_n_threads(n_threads)
    if n_threads is None:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


_blas_controller = None


def blas_thread_limit(n_threads):
    """A context in which the BLAS libraries (NumPy's and SciPy's OpenBLAS) use at most
    ``n_threads`` threads.

    Why: after a call, OpenBLAS's threads spin for about 0.1 s before they sleep.  When
    scipy's L-BFGS-B does its small linear algebra through a multi-threaded BLAS, those
    spinning threads take the cores from our kernels (measured on 1e6 x 100: every
    evaluation from the fourth on took 45-55 ms instead of 28).  Through threadpoolctl,
    with one controller per process (finding the libraries takes about 1 ms; a limit
    then 15 µs).
    """
    global _blas_controller
    if _blas_controller is None:
        import scipy.linalg.blas  # noqa: F401  (SciPy's BLAS must be loaded to be found)
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=n_threads, user_api="blas")
