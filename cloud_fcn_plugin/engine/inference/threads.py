"""Keep the thread pools of other libraries out of the way of the engine's workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _BlasLimit:
    """One process-wide BLAS limit, shared by the runs in progress (QGIS can run several)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._limiter: Any = None

    def acquire(self) -> None:
        with self._lock:
            if self._runs == 0:
                self._limiter = _limit_blas_to_one_thread()
            self._runs += 1

    def release(self) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_BLAS_LIMIT = _BlasLimit()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Hold the BLAS libraries loaded in this process at one thread while a run lasts.

    The engine runs one torch thread per core, and torch computes 1x1
    convolutions on one thread through BLAS ``sgemm``. Inside QGIS the system's
    OpenBLAS, loaded before torch, answers that call instead of torch's own
    BLAS and hands half of every product to its own worker thread, which then
    spins beside the engine's: the 7,800 px benchmark scene took 4.9 s under
    ``qgis_process`` against 3.9 s from the command line. The previous limits
    come back when the last of the overlapping runs ends. Without
    ``threadpoolctl`` nothing is limited.
    """
    _BLAS_LIMIT.acquire()
    try:
        yield
    finally:
        _BLAS_LIMIT.release()


def _limit_blas_to_one_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=1, user_api="blas")
