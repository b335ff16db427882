"""SIGINT, SIGTERM and SIGHUP end a run the same way: no temporary output is left behind.

Ctrl-C raises ``KeyboardInterrupt`` in the main thread; every writer's ``with`` block
then removes its hidden temporary file. :func:`terminate_as_interrupt` makes SIGTERM
(``kill``, a service manager, a batch system's time limit) and SIGHUP (a closed
terminal or SSH session) raise :class:`Terminated`, a ``KeyboardInterrupt``, so they
take the same path. Processes whose main thread runs someone else's loop (Dask
workers) use :func:`clean_up_on_termination` instead, which deletes the temporary
files and then lets the signal do what it did before.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .atomic import remove_live_temporaries

#: The signals that end a run like Ctrl-C (SIGHUP does not exist on Windows).
TERMINATING_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


#: The signals :func:`terminate_as_interrupt` catches: Ctrl-C too, so that one that
#: arrives inside a C library's callback (GDAL's progress) is polled again afterwards.
CAUGHT_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, *TERMINATING_SIGNALS)


class Terminated(KeyboardInterrupt):
    """The process received SIGINT, SIGTERM or SIGHUP; it unwinds like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        name = signal.Signals(self.signum).name
        super().__init__("interrupted" if self.signum == signal.SIGINT else f"terminated by {name}")

    @property
    def exit_code(self) -> int:
        """The shell's code for death by this signal: 128 + its number."""
        return 128 + self.signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


_received: list[int] = []

# How many blocks of deferred_signals() are open: inside one, a signal is only recorded.
_deferring: list[None] = []


def signal_pending() -> bool:
    """Whether a signal came within :func:`terminate_as_interrupt` and is not raised yet."""
    return bool(_received)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Within the block a signal is recorded, not raised: for C code that calls back.

    An exception raised in a callback of a C library (GDAL's progress callback) cannot
    cross it: SWIG prints its traceback. Inside this block the handler only records the
    signal; the callback sees :func:`signal_pending` and asks GDAL to stop, and the
    caller raises it with :func:`raise_if_terminated` once GDAL has returned.
    """
    _deferring.append(None)
    try:
        yield
    finally:
        _deferring.pop()


def raise_if_terminated() -> bool:
    """Raise :class:`Terminated` if a signal came within :func:`terminate_as_interrupt`.

    Pass it as the pipeline's ``is_canceled``: an exception raised by a signal handler
    while a C library calls back into Python (threadpoolctl's ctypes callback) is
    swallowed, and this polls the signal again between batches. Returns False otherwise.
    """
    if _received:
        raise Terminated(_received[-1])
    return False


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    The signal is also remembered, so :func:`raise_if_terminated` raises it again where
    a C callback swallowed the first one (GDAL's progress callbacks, threadpoolctl).
    Outside the main thread (where Python cannot set handlers) it does nothing.
    """
    if not _in_main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        _received.append(signum)
        if not _deferring:
            raise Terminated(signum)

    def quiet_hook(unraisable: sys.UnraisableHookArgs) -> None:
        # A Terminated swallowed by a C callback is raised again by raise_if_terminated.
        if not isinstance(unraisable.exc_value, Terminated):
            previous_hook(unraisable)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = quiet_hook
    previous = {number: signal.signal(number, raise_terminated) for number in CAUGHT_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook = previous_hook
        _received.clear()


def clean_up_on_termination() -> None:
    """On SIGTERM or SIGHUP delete this process's temporary outputs, then go on as before.

    The handler that was installed before (a Dask worker's graceful shutdown, or the
    default: end the process) runs afterwards. Installing it twice adds nothing;
    outside the main thread it does nothing.
    """
    if not _in_main_thread():
        return
    for number in TERMINATING_SIGNALS:
        previous = signal.getsignal(number)
        if getattr(previous, "cloud_fcn_cleanup", False):
            continue

        def clean_then_continue(signum: int, frame: object, previous=previous) -> None:
            remove_live_temporaries()
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                # The default action: end the process by the same signal.
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)

        clean_then_continue.cloud_fcn_cleanup = True  # type: ignore[attr-defined]
        signal.signal(number, clean_then_continue)
