"""Cloud objects and how well each one, shifted by an offset, lands on dark pixels.

The similarity of an object at an offset is Fmask's: the share of its shifted pixels
that fall on potential shadow, counting only the shifted pixels that land inside the
scene and off cloud (a shadow hidden under another cloud neither helps nor hurts).
Each object is scored on at most ``max_samples`` of its pixels, evenly spread over
it (100 by default: the standard error of a share from 100 pixels is at most 5 points), so the cost
is bounded by objects × samples × offsets whatever the clouds' size; every object and
offset of a chunk is scored at once with numpy (no loop over objects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["CloudObjects", "cloud_objects", "offsets_along", "similarities", "split_objects"]

_EIGHT = np.ones((3, 3), bool)
#: Elements (samples × offsets) scored at once; bounds the matching's memory (~100 MB).
_CHUNK = 4_000_000


@dataclass(frozen=True)
class CloudObjects:
    """The 8-connected cloud objects of a mask, their pixels grouped by object.

    Attributes:
        shape: the mask's (rows, cols).
        rows, cols: every pixel of every kept object (int32), grouped by object.
        starts: object ``j`` owns pixels ``starts[j]:starts[j + 1]``.
        sample_rows, sample_cols, sample_starts: the same for the evenly spread samples.
    """

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    sample_rows: np.ndarray
    sample_cols: np.ndarray
    sample_starts: np.ndarray

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def sample_sizes(self) -> np.ndarray:
        return np.diff(self.sample_starts)

    def subset(self, index: np.ndarray) -> CloudObjects:
        """The objects ``index`` only (their samples; pixels are not carried)."""
        sizes = self.sample_sizes[index]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        picks = _segment_positions(self.sample_starts[index], sizes)
        empty = np.zeros(0, np.int32)
        return CloudObjects(
            self.shape, empty, empty, np.zeros(len(index) + 1, np.int64),
            self.sample_rows[picks], self.sample_cols[picks], starts,
        )


def _segment_positions(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Concatenated ``range(start, start + size)`` for each segment."""
    total = int(sizes.sum())
    first = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + (np.arange(total) - first)


def _rows_cols(flat: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (int32) of flat indices into a grid of ``shape``."""
    width = shape[1]
    if shape[0] * width > 2**31 - 1:  # flat indices that need 64 bits
        rows, cols = np.divmod(flat, width)
        return rows.astype(np.int32), cols.astype(np.int32)
    # In 32 bits and without np.divmod: 5 times faster on millions of cloud pixels.
    flat = flat.astype(np.int32, copy=False)
    rows = flat // np.int32(width)
    return rows, flat - rows * np.int32(width)


def cloud_objects(cloud: np.ndarray, min_pixels: int = 3, max_samples: int = 200) -> CloudObjects:
    """Label the 8-connected objects of ``cloud``, drop those under ``min_pixels``."""
    labels, count = ndimage.label(cloud, structure=_EIGHT)
    width = cloud.shape[1]
    flat = np.flatnonzero(cloud)  # the labelled pixels: 2x faster on bools than on labels
    if flat.size and flat[-1] < 2**31:  # 32-bit positions move in half the time
        flat = flat.astype(np.int32)
    label = labels.ravel()[flat]
    del labels
    # Under 65,536 objects the labels fit 16 bits, which numpy sorts stably by radix (2x).
    key = label.astype(np.uint16) if count < 2**16 else label
    del label
    order = np.argsort(key, kind="stable")
    flat, key = flat[order], key[order]
    del order
    sizes = np.diff(np.searchsorted(key, np.arange(1, count + 2)))  # 3x a bincount
    del key
    keep = sizes >= min_pixels
    if not keep.all():
        flat = flat[np.repeat(keep, sizes)]
    rows, cols = _rows_cols(flat, cloud.shape)
    return _grouped((int(cloud.shape[0]), int(width)), rows, cols, sizes[keep], max_samples)


def _grouped(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, sizes: np.ndarray,
    max_samples: int,
) -> CloudObjects:
    """Objects of ``sizes`` consecutive pixels each, with their evenly spread samples."""
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    taken = np.minimum(sizes, max_samples)
    sample_starts = np.concatenate([[0], np.cumsum(taken)]).astype(np.int64)
    owner = np.repeat(np.arange(len(sizes)), taken)
    rank = np.arange(int(taken.sum())) - sample_starts[owner]
    picks = starts[owner] + (rank * sizes[owner]) // np.maximum(taken[owner], 1)
    return CloudObjects(shape, rows, cols, starts, rows[picks], cols[picks], sample_starts)


def _small_key(values: np.ndarray, bound: int) -> np.ndarray:
    """``values`` (all below ``bound``) in 16 bits where they fit: numpy radix-sorts those."""
    return values.astype(np.uint16) if bound <= 2**16 else values


def split_objects(
    objects: CloudObjects, piece_px: int, min_pixels: int = 1, max_samples: int = 100
) -> tuple[CloudObjects, np.ndarray]:
    """Objects of more than ``piece_px``² pixels cut along a grid of ``piece_px`` squares,
    and the object each piece comes from.

    A cloud mass much larger than its shadow distance casts most of its shifted
    pixels onto itself, where nothing is seen: as one object it is never matched,
    and its shadow, which falls along its sunward-far edge, is lost. Cut into
    pieces, the pieces along that edge match (each at its own height), and those
    inside, which cast onto cloud, do not. Pieces under ``min_pixels`` are dropped.
    """
    sizes = objects.sizes
    big = sizes > piece_px * piece_px
    if piece_px <= 0 or not big.any():
        return objects, np.arange(objects.count)
    rows, cols = np.empty_like(objects.rows), np.empty_like(objects.cols)
    piece_sizes, owners = [], []
    # A batch of whole objects at a time: the sort's temporaries stay small.
    for first, last in _batches(sizes, _SPLIT_PIXELS):
        span = slice(int(objects.starts[first]), int(objects.starts[last]))
        order, local_sizes, local_owner = _pieces_order(
            objects.rows[span], objects.cols[span], sizes[first:last], big[first:last],
            piece_px, objects.shape,
        )  # fmt: skip
        rows[span], cols[span] = objects.rows[span][order], objects.cols[span][order]
        piece_sizes.append(local_sizes)
        owners.append(local_owner + first)
    piece_sizes, owner = np.concatenate(piece_sizes), np.concatenate(owners)
    keep = piece_sizes >= min_pixels
    if not keep.all():
        taken = np.repeat(keep, piece_sizes)
        rows, cols = rows[taken], cols[taken]
    return _grouped(objects.shape, rows, cols, piece_sizes[keep], max_samples), owner[keep]


#: Cloud pixels :func:`split_objects` orders at a time.
_SPLIT_PIXELS = 1 << 21


def _batches(sizes: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Runs of consecutive objects of at most ``budget`` pixels (or one larger object)."""
    ends = np.cumsum(sizes)
    batches, first = [], 0
    while first < len(sizes):
        done = ends[first - 1] if first else 0
        last = max(first + 1, int(np.searchsorted(ends, done + budget, side="right")))
        batches.append((first, last))
        first = last
    return batches


def _pieces_order(
    rows: np.ndarray, cols: np.ndarray, sizes: np.ndarray, big: np.ndarray, piece_px: int,
    shape: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the pixels of some whole objects: the order that groups them by piece, each
    piece's size and object (counted from the first of these objects)."""
    across = -(-shape[1] // piece_px)
    cells = across * -(-shape[0] // piece_px)
    owner = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    cell = (rows // piece_px) * across + cols // piece_px
    cell[~np.repeat(big, sizes)] = 0
    # By cell, then (stable) by object: pixels grouped by object, then by piece.
    order = np.argsort(_small_key(cell, cells), kind="stable")
    order = order[np.argsort(_small_key(owner[order], len(sizes)), kind="stable")]
    owner, cell = owner[order], cell[order]
    cut = np.flatnonzero((owner[1:] != owner[:-1]) | (cell[1:] != cell[:-1])) + 1
    first = np.concatenate([[0], cut])
    return order, np.diff(np.concatenate([first, [owner.size]])), owner[first]


def offsets_along(
    bearing_deg: float, first_px: float, last_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Integer (row, col) shifts along a compass bearing, and their distances in pixels.

    The bearing is clockwise from north, north being up the grid (rows grow south).
    Distances go from ``first_px`` to ``last_px`` in half-pixel steps; repeated
    integer shifts are kept once (the first distance that gives them).
    """
    first_px = max(first_px, 0.5)
    last_px = max(last_px, first_px)
    distance = np.arange(first_px, last_px + 0.25, 0.5)
    theta = np.deg2rad(bearing_deg)
    shift = np.stack(
        [np.rint(-distance * np.cos(theta)), np.rint(distance * np.sin(theta))], axis=1
    ).astype(np.int32)
    keep = np.ones(len(shift), bool)
    keep[1:] = np.any(shift[1:] != shift[:-1], axis=1)
    keep &= np.any(shift != 0, axis=1)
    return shift[keep], distance[keep]


def similarities(
    objects: CloudObjects,
    offsets: np.ndarray,
    potential: np.ndarray,
    blocked: np.ndarray,
    min_free: float = 0.25,
) -> np.ndarray:
    """Similarity (float32, objects × offsets) of each object's samples shifted by each offset.

    Where fewer than ``min_free`` of the shifted samples land inside the scene and off
    ``blocked`` (cloud, fill), the similarity is 0: too little is seen to tell.
    """
    rows_total, cols_total = objects.shape
    pot = potential.ravel()
    blk = blocked.ravel()
    result = np.zeros((objects.count, len(offsets)), np.float32)
    if objects.count == 0 or len(offsets) == 0:
        return result
    d_row = offsets[:, 0][None, :]
    d_col = offsets[:, 1][None, :]
    per_object = objects.sample_sizes
    budget = max(1, _CHUNK // len(offsets))
    first = 0
    while first < objects.count:
        # Objects first..last-1, at most ``budget`` samples (at least one object).
        ends = objects.sample_starts[first + 1 :] - objects.sample_starts[first]
        last = first + max(1, int(np.searchsorted(ends, budget, side="right")))
        a, b = objects.sample_starts[first], objects.sample_starts[last]
        r = objects.sample_rows[a:b, None] + d_row
        c = objects.sample_cols[a:b, None] + d_col
        inside = (r >= 0) & (r < rows_total) & (c >= 0) & (c < cols_total)
        index = np.where(inside, r.astype(np.int64) * cols_total + c, 0)
        free = inside & ~blk[index]
        hit = free & pot[index]
        bounds = (objects.sample_starts[first:last] - a).astype(np.int64)
        n_free = np.add.reduceat(free, bounds, axis=0, dtype=np.int32)
        n_hit = np.add.reduceat(hit, bounds, axis=0, dtype=np.int32)
        enough = n_free >= np.maximum(1, min_free * per_object[first:last])[:, None]
        result[first:last] = np.where(enough, n_hit / np.maximum(n_free, 1), 0.0)
        first = last
    return result
