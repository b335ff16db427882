"""NaN and infinities as None, so metadata, state and summaries stay plain JSON."""

from __future__ import annotations

import math
from typing import Any


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities by None so the metadata stays plain JSON."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
