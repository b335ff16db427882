"""Calling GDAL's algorithms (sieve, proximity, polygonize): quiet, one line on failure.

A GDAL algorithm reports progress through a Python callback. An exception raised in
that callback (Ctrl-C, SIGTERM, a cancel) cannot cross GDAL's C code: SWIG would print
its traceback, GDAL would stop with "User terminated", and the run would blame the
disk. :class:`GdalCall` keeps the exception the callback caught and raises it again
once GDAL has returned, so a signal ends the run as a signal does everywhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from osgeo import gdal

from ..errors import CanceledError, OutputNotWritableError
from .interrupts import deferred_signals, raise_if_terminated, signal_pending

Fraction = Callable[[float], None]
IsCanceled = Callable[[], bool]


class GdalCall:
    """The return codes of one step's GDAL calls, and what stopped its callbacks."""

    def __init__(self, is_canceled: IsCanceled | None) -> None:
        self.codes: list = []
        self.stopped: BaseException | None = None
        self._is_canceled = is_canceled

    def append(self, code: Any) -> None:
        """Record a GDAL return code (0 or None: success)."""
        self.codes.append(code)

    def callback(self, progress: Fraction | None = None) -> Callable[..., int]:
        """A GDAL progress callback: reports the fraction done, returns 0 to stop GDAL."""

        def report(complete: float, message: Any = None, data: Any = None) -> int:
            try:
                if signal_pending() or (self._is_canceled is not None and self._is_canceled()):
                    return 0
                if progress is not None:
                    progress(min(max(complete, 0.0), 1.0))
                return 1
            except BaseException as exc:  # a signal or a cancel: raised again after GDAL
                self.stopped = self.stopped or exc
                return 0

        return report


@contextlib.contextmanager
def gdal_call(what: str, target: Path, is_canceled: IsCanceled | None) -> Iterator[GdalCall]:
    """Run GDAL calls quietly; turn a failure into one line, a cancel into CanceledError.

    The caller appends each call's return code to the yielded :class:`GdalCall` and
    passes its :meth:`~GdalCall.callback` to GDAL. An exception a callback caught (a
    signal's KeyboardInterrupt) is raised again here, before any failure is reported.

    Raises:
        CanceledError: ``is_canceled()`` is true.
        OutputNotWritableError: GDAL failed (a full disk).
    """
    call = GdalCall(is_canceled)
    gdal.PushErrorHandler("CPLQuietErrorHandler")  # per thread: QGIS's own calls unaffected
    gdal.ErrorReset()
    raised = None
    try:
        try:
            # A signal is recorded while GDAL runs (its callback then stops GDAL) and raised
            # below once GDAL has returned: never inside the callback, where SWIG prints it.
            with deferred_signals():
                yield call
        except RuntimeError as exc:  # GDAL's exceptions, where other code turned them on
            raised = str(exc)
        message = raised or gdal.GetLastErrorMsg()
        failed = (
            raised is not None
            or gdal.GetLastErrorType() >= gdal.CE_Failure
            or any(code not in (0, None) for code in call.codes)
        )
    finally:
        gdal.PopErrorHandler()
    raise_if_terminated()
    if call.stopped is not None:
        raise call.stopped
    raise_if_canceled(is_canceled)
    if failed:
        reason = " ".join((message or "GDAL reported an error").split())
        raise OutputNotWritableError(
            f"{what} for {target.name} failed ({reason}): check free disk space in "
            f"{target.parent} or choose another folder."
        )


def raise_if_canceled(is_canceled: IsCanceled | None) -> None:
    """Raise CanceledError when ``is_canceled()`` is true."""
    if is_canceled is not None and is_canceled():
        raise CanceledError("Canceled by the user: no output was written.")
