"""The matched shadow: each kept object's pixels shifted, swept, grown, met with darkness."""

from __future__ import annotations

import numpy as np

from .shadow_objects import CloudObjects, Windows

__all__ = ["block_any", "block_expand", "cast_shadows"]

def cast_shadows(
    objects: CloudObjects, shifts: np.ndarray, kept: np.ndarray, potential: np.ndarray | None,
    blocked: np.ndarray, buffer: int, tolerance: int = 0, bearing: float = 0.0, sweep: int = 0,
) -> np.ndarray:
    """Shift every pixel of the kept objects, keep the dark ones, grow by ``buffer``."""
    rows_total, cols_total = objects.shape
    mask = np.zeros(objects.shape, bool)
    box = _cast_listed(objects, shifts, kept, mask)
    if objects.windows is not None:
        box = _cast_windows(objects.windows, shifts, kept, mask, box)
    if box is None:
        return mask
    # All the growing happens within the cast's bounding box and its reach.
    reach = sweep + tolerance + buffer
    (top, bottom), (left, right) = box
    box = (
        slice(max(0, top - reach), min(rows_total, bottom + reach)),
        slice(max(0, left - reach), min(cols_total, right + reach)),
    )
    part = mask[box]
    if potential is not None:
        _sweep(part, bearing, sweep)
        _grow(part, tolerance)
        part &= potential[box]
    _grow(part, buffer)
    part[blocked[box]] = False
    return mask


_Box = tuple[tuple[int, int], tuple[int, int]]  # (first row, row past), (first col, col past)


def _cast_listed(
    objects: CloudObjects, shifts: np.ndarray, kept: np.ndarray, mask: np.ndarray
) -> _Box | None:
    """Mark the listed objects' shifted pixels on ``mask``; the box they span."""
    rows_total, cols_total = objects.shape
    listed = np.arange(objects.count) if objects.listed is None else objects.listed
    sizes, kept = objects.sizes[listed], kept[listed]
    take = np.repeat(kept, sizes)
    # Each kept object's shift repeated over its pixels, row and column apart: a 2-D
    # repeat along axis 0 of every object's shift cost 3x as much.
    r = objects.rows[take] + np.repeat(shifts[listed][kept, 0], sizes[kept])
    c = objects.cols[take] + np.repeat(shifts[listed][kept, 1], sizes[kept])
    inside = (r >= 0) & (r < rows_total) & (c >= 0) & (c < cols_total)
    r, c = r[inside], c[inside]
    if r.size == 0:
        return None
    mask[r, c] = True
    return (int(r.min()), int(r.max()) + 1), (int(c.min()), int(c.max()) + 1)


def _cast_windows(
    windows: Windows, shifts: np.ndarray, kept: np.ndarray, mask: np.ndarray, box: _Box | None
) -> _Box | None:
    """Mark the kept windows' pixels, shifted, on ``mask``; ``box`` grown to span them."""
    rows_total, cols_total = mask.shape
    for k in np.flatnonzero(kept[windows.index]):
        top, left, pixels = windows.block(k)
        d_row, d_col = (int(v) for v in shifts[windows.index[k]])
        top, left = top + d_row, left + d_col
        # The part of the shifted square inside the scene, and the same part of the square.
        r0, c0 = max(top, 0), max(left, 0)
        r1 = min(top + pixels.shape[0], rows_total)
        c1 = min(left + pixels.shape[1], cols_total)
        if r0 >= r1 or c0 >= c1:
            continue
        mask[r0:r1, c0:c1] |= pixels[r0 - top : r1 - top, c0 - left : c1 - left]
        (b_top, b_bottom), (b_left, b_right) = box or ((r0, r1), (c0, c1))
        box = (min(b_top, r0), max(b_bottom, r1)), (min(b_left, c0), max(b_right, c1))
    return box


def block_any(mask: np.ndarray, factor: int) -> np.ndarray:
    """``mask`` on a grid ``factor`` times coarser: True where any pixel of a block is."""
    mask = np.asarray(mask, bool)
    if factor == 1:
        return mask.copy()
    rows, cols = mask.shape
    if rows % factor == 0 and cols % factor == 0:  # no partial block: no zeros to OR into
        parts = [mask[i::factor, j::factor] for i in range(factor) for j in range(factor)]
        out = np.logical_or(parts[0], parts[1])
        for part in parts[2:]:
            out |= part
        return out
    out = np.zeros((-(-rows // factor), -(-cols // factor)), bool)
    # One OR per pixel of the block, over strided views: a reshape's any() was 20x slower.
    for i in range(factor):
        for j in range(factor):
            part = mask[i::factor, j::factor]
            out[: part.shape[0], : part.shape[1]] |= part
    return out


def block_expand(mask: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A coarse mask back on the fine grid of ``shape`` (each block's value repeated)."""
    fine = np.empty(shape, bool)
    # One strided copy per pixel of the block, as in block_any: 3x faster than np.repeat.
    for i in range(factor):
        for j in range(factor):
            part = fine[i::factor, j::factor]
            part[...] = mask[: part.shape[0], : part.shape[1]]
    return fine


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
