"""The settings that made a mask, recorded in its metadata, so ``--resume`` can tell.

A batch resumed with another threshold, model or sieve would otherwise keep masks made
with the old settings and report them as done. Only what changes the mask is recorded:
the model (its file's name, size and time), thresholds, bands, product level, tiling,
sieve, buffer, the classes they act on, the physics and the shadow stages; not the device,
batch size or output paths.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from ..params import DetectionParams

#: The band-1 metadata item of the mask that holds the settings, as JSON.
SETTINGS_TAG = "CLOUD_FCN_SETTINGS"


def result_settings(params: DetectionParams) -> dict[str, Any]:
    """The settings of ``params`` that change the mask, as plain JSON values."""
    return {
        "model": params.model,
        "weights": _file_identity(params.weights),
        "threshold": params.threshold,
        "shadow_threshold": params.shadow_threshold,
        "bands": list(params.bands) if params.bands else None,
        "product": params.product,
        "tile_size": params.tile_size,
        "overlap": params.overlap,
        "min_size": params.min_size,
        "buffer": params.buffer,
        "mask_classes": sorted(params.mask_classes),
        "physics": params.physics,
        "shadow": params.shadow,
    }


# What the run decided itself and records beside the settings (the tile size it used,
# the batch that wrote the mask): set around the writing by :func:`recording`.
_RECORD: ContextVar[dict[str, Any]] = ContextVar("cloud_fcn_mask_record", default={})


@contextlib.contextmanager
def recording(**values: Any) -> Iterator[None]:
    """Within the block, masks also record ``values`` (``tile_size_used``, ``batch_run``).

    They are facts of the run, not settings: :func:`changed_settings` does not compare
    them, so ``--resume`` keeps a mask whose tile size had to adapt to the memory.
    """
    token = _RECORD.set({**_RECORD.get(), **values})
    try:
        yield
    finally:
        _RECORD.reset(token)


def settings_tags(params: DetectionParams) -> dict[str, str]:
    """The metadata item to write on the mask's band 1."""
    record = {**result_settings(params), **_RECORD.get()}
    return {SETTINGS_TAG: json.dumps(record, sort_keys=True)}


def recorded_settings(mask_path: str | Path) -> dict[str, Any] | None:
    """The settings a mask was made with; None when it records none (or cannot be read)."""
    import rasterio

    try:
        with rasterio.open(mask_path) as dataset:
            text = dataset.tags(1).get(SETTINGS_TAG)
        value = json.loads(text) if text else None
    except (rasterio.errors.RasterioError, OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def changed_settings(mask_path: str | Path, params: DetectionParams) -> list[str]:
    """``name old -> new`` for each setting that differs from the mask's record.

    Empty when they agree, or when the mask records none (made by an older version).
    """
    recorded = recorded_settings(mask_path)
    if recorded is None:
        return []
    current = json.loads(json.dumps(result_settings(params)))
    return [
        f"{key} {recorded.get(key)!r} -> {value!r}"
        for key, value in current.items()
        if recorded.get(key) != value
    ]


def _file_identity(path: Path | None) -> list | None:
    if path is None:
        return None
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return [str(path)]
    return [Path(path).name, info.st_size, info.st_mtime_ns]
