"""Masks for the output tests, written from text grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import write_geotiff

N = 255  # mask nodata


def write_mask(path: Path, values: np.ndarray) -> Path:
    return write_geotiff(path, values[None].astype(np.uint8), nodata=255)


def grid(text: str) -> np.ndarray:
    """``.`` clear, ``#`` (thick) cloud, ``t`` thin cloud, ``s`` shadow, ``x`` nodata."""
    codes = {".": 0, "#": 1, "t": 2, "s": 3, "x": N}
    return np.array([[codes[c] for c in line.split()] for line in text.strip().splitlines()])
