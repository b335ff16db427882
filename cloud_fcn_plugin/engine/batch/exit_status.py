"""How a detection command ends when it raises: one line for stderr and an exit code.

Every failure is one line that says what to do, never a traceback: 1 for an error,
130 for Ctrl-C, 128 + the signal for SIGTERM and SIGHUP. The outputs are whole either
way, as their temporary files are removed while the stack unwinds.
"""

from __future__ import annotations

from ..errors import CanceledError, CloudFcnError
from ..files.interrupts import Terminated

NO_TORCH = (
    "error: PyTorch is not installed: run `make setup` or "
    "`pip install torch` in this Python environment."
)
# Errors no check foresees, with what the user can do about each.
_HINTS: dict[type[BaseException], str] = {
    MemoryError: "the run needed more memory than is free: close other programs; for a "
    "large raster or model, use a smaller --tile-size or --batch-size",
    RecursionError: "a file nests too deeply to be read: check the input and model files",
    OverflowError: "a number is too large: check the parameters and the input's metadata",
}


def ending(error: BaseException) -> tuple[str, int]:
    """The stderr line and the exit code of a command that raised ``error``.

    Args:
        error: an ``Exception`` or a ``KeyboardInterrupt`` (``Terminated`` included).

    Returns:
        ``(line, exit code)``: ``canceled: ...`` for an interruption, else ``error: ...``.
    """
    if isinstance(error, CanceledError):
        # A batch ended by SIGTERM/SIGHUP says so in its exit code (128 + signal).
        return f"canceled: {error}", getattr(error.__context__, "exit_code", 130)
    if isinstance(error, Terminated):
        return f"canceled: {error}, no output was written.", error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return "canceled: interrupted, no output was written.", 130
    if isinstance(error, CloudFcnError):
        return f"error: {error}", 1
    if isinstance(error, ModuleNotFoundError) and error.name == "torch":
        return NO_TORCH, 1
    return last_resort(error), 1


def last_resort(error: BaseException) -> str:
    """An error no check foresaw as one line that says what to do.

    MemoryError, RecursionError and OverflowError land here as well as OS and GDAL
    errors raised outside the engine's wrappers.
    """
    text = " ".join(str(error).split())
    hint = next((h for kind, h in _HINTS.items() if isinstance(error, kind)), None)
    what = f"{type(error).__name__}: {text}" if text else type(error).__name__
    hint = hint or "no output was replaced; report this with the command you ran"
    return f"error: {what} ({hint})."
