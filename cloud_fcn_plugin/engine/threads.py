"""Keep the thread pools of other libraries out of the way of the engine's workers."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext


def single_threaded_blas() -> AbstractContextManager[object]:
    """Limit the BLAS libraries loaded in this process to one thread until exit.

    The engine runs one torch thread per core, and torch computes 1x1
    convolutions on one thread through BLAS ``sgemm``. Inside QGIS the system's
    OpenBLAS, loaded before torch, answers that call instead of torch's own
    BLAS and hands half of every product to its own worker thread, which then
    spins beside the engine's: the 7,800 px benchmark scene took 4.9 s under
    ``qgis_process`` against 3.9 s from the command line. The previous limits
    are restored on exit. Without ``threadpoolctl`` nothing is limited.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
