"""JSON read from files anyone may have written: checkpoint headers, sidecars, run state.

``json.loads`` recurses once per nesting level, so text nested 100,000 deep raises
``RecursionError`` (not ``ValueError``) and slips past every ``except ValueError``.
:func:`loads` turns that, and nesting deeper than any file of ours has, into a
``ValueError`` like any other malformed JSON.
"""

from __future__ import annotations

import json
from typing import Any

#: Deeper than any header, sidecar or state file this project writes (they are 4 deep).
MAX_DEPTH = 64


def loads(text: str | bytes, **options: Any) -> Any:
    """Parse JSON text, refusing nesting deeper than :data:`MAX_DEPTH`.

    Args:
        text: the JSON.
        options: passed to ``json.loads`` (e.g. ``parse_constant``).

    Raises:
        ValueError: the text is not JSON, or is nested too deep.
    """
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if _depth(value) > MAX_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, walked without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest
