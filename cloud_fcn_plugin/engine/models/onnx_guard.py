"""ONNX Runtime runs that end, and memory the guard can count.

An ONNX file is a program: a ``Loop`` without end holds ONNX Runtime's C++ code forever
(Python's signal handlers wait for it to return, QGIS's Cancel never gets a turn), and
an intermediate tensor can grow with the tile area squared. Three checks:

* :func:`run_guarded`: every ``session.run`` gets its own ``RunOptions`` and a time
  limit; a watchdog thread sets ``RunOptions.terminate`` when the limit passes, when a
  signal came (:func:`~..files.interrupts.signal_pending`), when a registered cancel
  check (:func:`cancel_source`, QGIS's Cancel) says so, or when the main thread ended.
  A run started on the main thread is waited for from it, so signals are handled there.
* :func:`bounded_options`: no memory arena (what a run allocated is given back when it
  ends, so one tile's peak is the process's), and ONNX Runtime's own log silent (the
  engine says what failed, in one line).
* :func:`activation_bytes`: the bytes of every tensor of the graph at a given tile
  size, from ONNX's shape inference, for the memory guard
  (:func:`~..inference.memory.fit_scene_tile`); None when a shape cannot be inferred.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CanceledError, WeightsError
from ..files.interrupts import raise_if_terminated, signal_pending

#: Seconds the trial run on a small blank tile may take (it takes well under one).
PROBE_SECONDS = 60.0
#: The least time limit of one run on real tiles, and its margin over the probe's pace.
MIN_RUN_SECONDS = 120.0
PACE_MARGIN = 200.0
#: How often the watchdog looks.
_POLL = 0.1


class _Run:
    def __init__(self, options: Any, seconds: float) -> None:
        self.options = options
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.reason: str | None = None

    def stop(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self.options.terminate = True


_RUNS: set[_Run] = set()
_CANCEL_CHECKS: list[Callable[[], bool]] = []
_LOCK = threading.Lock()
_WATCHDOG: threading.Thread | None = None


@contextlib.contextmanager
def cancel_source(is_canceled: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, the watchdog also stops ONNX runs when ``is_canceled()`` is true."""
    if is_canceled is None:
        yield
        return
    with _LOCK:
        _CANCEL_CHECKS.append(is_canceled)
    try:
        yield
    finally:
        with _LOCK:
            _CANCEL_CHECKS.remove(is_canceled)


def _canceled() -> bool:
    with _LOCK:
        checks = list(_CANCEL_CHECKS)
    for check in checks:
        try:
            if check():
                return True
        except BaseException:  # raise_if_terminated raises: that is a yes
            return True
    return False


def _watch() -> None:
    while True:
        time.sleep(_POLL)
        with _LOCK:
            runs = list(_RUNS)
        if not runs:
            continue
        why = None
        if signal_pending():
            why = "signal"
        elif not threading.main_thread().is_alive():
            why = "exit"
        elif _canceled():
            why = "cancel"
        now = time.monotonic()
        for run in runs:
            if why is not None:
                run.stop(why)
            elif now > run.deadline:
                run.stop("time")


def _ensure_watchdog() -> None:
    global _WATCHDOG
    with _LOCK:
        if _WATCHDOG is None or not _WATCHDOG.is_alive():
            _WATCHDOG = threading.Thread(target=_watch, name="cloud-fcn-onnx-watchdog", daemon=True)
            _WATCHDOG.start()


def run_guarded(
    session: Any, outputs: list[str], feeds: dict[str, np.ndarray], *, name: str, seconds: float
) -> list:
    """``session.run(outputs, feeds)`` that ends: time limit, signals, cancel (see module).

    Raises:
        WeightsError: the run took more than ``seconds`` (an endless loop), or failed.
        CanceledError: a cancel check said so.
        KeyboardInterrupt: a signal came (:class:`~..files.interrupts.Terminated`).
    """
    from .onnx_runtime import import_onnxruntime

    ort = import_onnxruntime(name)
    run = _Run(ort.RunOptions(), seconds)
    with _LOCK:
        _RUNS.add(run)
    _ensure_watchdog()
    try:
        if threading.current_thread() is threading.main_thread():
            return _run_from_main_thread(session, outputs, feeds, run)
        return session.run(outputs, feeds, run.options)
    except Exception as exc:  # ONNX Runtime's errors derive from Exception only
        if run.reason is None:
            raise
        _raise_stopped(run, name)
        raise AssertionError("unreachable") from exc
    finally:
        with _LOCK:
            _RUNS.discard(run)


def _run_from_main_thread(session: Any, outputs: list, feeds: dict, run: _Run) -> list:
    """Run on a helper thread and wait here, so the main thread still handles signals."""
    done = threading.Event()
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = session.run(outputs, feeds, run.options)
        except BaseException as exc:  # handed to the waiting main thread
            result["error"] = exc
        finally:
            done.set()

    helper = threading.Thread(target=target, name="cloud-fcn-onnx-run", daemon=True)
    helper.start()
    try:
        while not done.wait(_POLL):
            pass
    except BaseException:  # a signal's KeyboardInterrupt while waiting: stop the run first
        run.stop("signal")
        done.wait(30.0)
        raise
    if "error" in result:
        raise result["error"]
    return result["value"]


def _raise_stopped(run: _Run, name: str) -> None:
    if run.reason in ("signal", "exit"):
        raise_if_terminated()
        raise KeyboardInterrupt
    if run.reason == "cancel":
        raise CanceledError("Canceled by the user: no output was written.")
    raise WeightsError(
        f"{name} ran more than {run.seconds:.0f} s on one tile and was stopped (an endless "
        "loop, or far too slow for this machine): choose another model."
    )


def run_seconds(probe_seconds_per_pixel: float | None, pixels: int) -> float:
    """The time limit of one run of ``pixels`` input pixels, from the probe's pace."""
    if not probe_seconds_per_pixel:
        return max(MIN_RUN_SECONDS, PROBE_SECONDS)
    return max(MIN_RUN_SECONDS, PACE_MARGIN * probe_seconds_per_pixel * pixels)


def bounded_options(options: Any) -> Any:
    """No memory arena, and ONNX Runtime's own log silent (see the module)."""
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 4  # fatal only: the engine reports failures in one line
    return options


def activation_bytes(path: str | Path, channels: int, tile: int, batch: int = 1) -> int | None:
    """Bytes of every tensor of an ONNX graph on ``batch`` tiles of ``tile`` px; None if unknown.

    The sum over the tensors inside the graph (initializers and the declared outputs
    excluded) is an upper bound of what is alive at once; a shape ONNX cannot infer
    (data-dependent) gives None.
    """
    try:
        import onnx
        from onnx import shape_inference
    except ImportError:
        return None
    try:
        model = onnx.load(str(path), load_external_data=False)
        graph = model.graph
        initializers = {init.name for init in graph.initializer}
        inputs = [i for i in graph.input if i.name not in initializers]
        if len(inputs) != 1:
            return None
        dims = inputs[0].type.tensor_type.shape.dim
        for dim, value in zip(dims, (batch, channels, tile, tile), strict=False):
            if not dim.HasField("dim_value"):
                dim.ClearField("dim_param")
                dim.dim_value = value
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # a graph ONNX's checker cannot read: nothing to estimate
        return None
    # The graph's outputs keep the shapes their file declares (which may be anything: the
    # engine checks the real output); the tensors inferred inside the graph are counted.
    total = 0
    for value in inferred.graph.value_info:
        kind = value.type.tensor_type
        if not kind.HasField("shape"):
            return None
        size = 1
        for dim in kind.shape.dim:
            if not dim.HasField("dim_value") or dim.dim_value < 0:
                return None
            size *= dim.dim_value
        try:
            itemsize = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(kind.elem_type)).itemsize
        except (KeyError, TypeError, ValueError):
            itemsize = 8
        total += size * itemsize
    return total
