"""The matched shadow: each kept object's pixels shifted, swept, grown, met with darkness."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .shadow_match import CloudObjects

__all__ = ["cast_shadows"]

def cast_shadows(
    objects: CloudObjects, shifts: np.ndarray, kept: np.ndarray, potential: np.ndarray | None,
    blocked: np.ndarray, buffer: int, tolerance: int = 0, bearing: float = 0.0, sweep: int = 0,
) -> np.ndarray:
    """Shift every pixel of the kept objects, keep the dark ones, grow by ``buffer``."""
    rows_total, cols_total = objects.shape
    sizes = objects.sizes
    owner_shift = np.repeat(np.where(kept[:, None], shifts, 0), sizes, axis=0)
    take = np.repeat(kept, sizes)
    r = objects.rows[take] + owner_shift[take, 0]
    c = objects.cols[take] + owner_shift[take, 1]
    inside = (r >= 0) & (r < rows_total) & (c >= 0) & (c < cols_total)
    mask = np.zeros(objects.shape, bool)
    mask[r[inside], c[inside]] = True
    if not mask.any():
        return mask
    # All the growing happens within the cast's bounding box and its reach.
    reach = sweep + tolerance + buffer
    box = ndimage.find_objects(mask.view(np.uint8))[0]
    box = tuple(
        slice(max(0, s.start - reach), min(n, s.stop + reach))
        for s, n in zip(box, mask.shape, strict=True)
    )
    part = mask[box]
    if potential is not None:
        _sweep(part, bearing, sweep)
        _grow(part, tolerance)
        part &= potential[box]
    _grow(part, buffer)
    part &= ~blocked[box]
    return mask


def _shifted_or(target: np.ndarray, source: np.ndarray, d_row: int, d_col: int) -> None:
    """``target |= source`` shifted by (d_row, d_col), without wrapping."""
    rows, cols = source.shape
    if abs(d_row) >= rows or abs(d_col) >= cols:
        return
    dst_r = slice(max(d_row, 0), rows + min(d_row, 0))
    src_r = slice(max(-d_row, 0), rows + min(-d_row, 0))
    dst_c = slice(max(d_col, 0), cols + min(d_col, 0))
    src_c = slice(max(-d_col, 0), cols + min(-d_col, 0))
    target[dst_r, dst_c] |= source[src_r, src_c]


def _sweep(mask: np.ndarray, bearing: float, reach: int) -> None:
    """Extend ``mask`` in place ``reach`` pixels both ways along ``bearing`` (doubling steps)."""
    theta = np.deg2rad(bearing)
    unit = (-np.cos(theta), np.sin(theta))
    covered, step = 0, 1
    while covered < reach:
        length = min(step, reach - covered)
        d_row, d_col = round(length * unit[0]), round(length * unit[1])
        source = mask.copy()
        _shifted_or(mask, source, d_row, d_col)
        _shifted_or(mask, source, -d_row, -d_col)
        covered += length
        step *= 2


def _grow(mask: np.ndarray, pixels: int) -> None:
    """Dilate ``mask`` in place by a (2 pixels + 1)² square (a view is changed in place)."""
    part = mask
    for axis in (0, 1):
        covered, step = 0, 1
        while covered < pixels:
            length = min(step, pixels - covered)
            source = part.copy()
            shift = (length, 0) if axis == 0 else (0, length)
            _shifted_or(part, source, *shift)
            _shifted_or(part, source, -shift[0], -shift[1])
            covered += length
            step *= 2
