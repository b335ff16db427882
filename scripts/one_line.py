"""The command-line scripts' error handling: every failure ends as one line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

from cloud_fcn_plugin.engine.errors import CloudFcnError


def run_with_one_line_errors(
    call: Callable[[], int], what: str, interrupted: str, memory_hint: str
) -> int:
    """Run ``call`` and turn anything it raises into one line on stderr.

    Args:
        call: the script's work; returns the exit status.
        what: the work's name for an unforeseen error ("training", "evaluation").
        interrupted: what Ctrl-C says (what was or was not written, how to resume).
        memory_hint: what to lower when memory runs out ("--batch-size or --tile-size").

    Returns:
        ``call``'s status; 2 for an engine error, 130 for Ctrl-C, 1 for anything else.
    """
    try:
        return call()
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
    except MemoryError:
        print(f"error: out of memory: lower {memory_hint}.", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}: check the paths and free disk space.",
              file=sys.stderr)
        return 1
    except Exception as exc:  # the last resort: one line, never a traceback
        text = str(exc).strip().splitlines()
        print(f"error: {what} failed unexpectedly ({type(exc).__name__}: "
              f"{text[0] if text else ''}).", file=sys.stderr)
        return 1
