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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy import ndimage

__all__ = ["CloudObjects", "cloud_objects", "cloud_pieces", "offsets_along", "similarities"]

_EIGHT = np.ones((3, 3), bool)
#: Elements (samples × offsets) a thread scores at once (~25 MB of temporaries: under
#: glibc's mmap threshold, so they are reused, not page-faulted afresh).
_CHUNK = 1_000_000
#: Threads scoring chunks at once.
_THREADS = 2


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
    return cloud_pieces(cloud, 0, min_pixels, max_samples)[0]


def cloud_pieces(
    cloud: np.ndarray, piece_px: int, min_pixels: int = 3, max_samples: int = 100
) -> tuple[CloudObjects, CloudObjects, np.ndarray]:
    """The 8-connected objects of ``cloud`` (of at least ``min_pixels``), the same with
    those of more than ``piece_px``² pixels cut along a grid of ``piece_px`` squares, and
    the object each piece comes from.

    A cloud mass much larger than its shadow distance casts most of its shifted pixels
    onto itself, where nothing is seen: as one object it is never matched, and its
    shadow, which falls along its sunward-far edge, is lost. Cut into pieces, the
    pieces along that edge match (each at its own height), and those inside, which cast
    onto cloud, do not. Where an object is cut, the objects carry their samples only
    (their pixels are the pieces'); where none is (or ``piece_px`` is 0), the pieces
    are the objects. A piece's pixels come in raster order, an object's pieces in the
    raster order of their squares.
    """
    labels, count = ndimage.label(cloud, structure=_EIGHT)
    flat = np.flatnonzero(cloud)  # the labelled pixels: 2x faster on bools than on labels
    if flat.size and flat[-1] < 2**31:  # 32-bit positions move in half the time
        flat = flat.astype(np.int32)
    owner = labels.ravel()[flat] - 1  # each pixel's object
    rows, cols = _rows_cols(flat, cloud.shape)
    del flat
    sizes = np.bincount(owner, minlength=count)
    keep = sizes >= min_pixels
    cut = keep & (sizes > piece_px * piece_px) if piece_px > 0 else np.zeros(count, bool)
    table = _SquareTable.of(labels, cut, piece_px)
    del labels
    # Each pixel's piece: the squares its object covers, counted over all objects' tables.
    square = table.square(owner, rows, cols)
    del owner
    covered = np.zeros(table.size, bool)
    covered[square] = True
    covered[table.base[~keep]] = False  # too small: their pixels go after every piece
    piece = (np.cumsum(covered, dtype=np.int32) - covered)[square]
    total = int(covered.sum())
    piece[~covered[square]] = total
    del square
    # Under 65,536 pieces the keys fit 16 bits, which numpy sorts stably by radix (2x).
    order = np.argsort(piece.astype(np.uint16) if total < 2**16 else piece, kind="stable")
    piece_sizes = np.bincount(piece, minlength=total + 1)[:total]
    del piece
    order = order[: int(piece_sizes.sum())]
    rows, cols = rows[order], cols[order]
    del order
    per_object = np.add.reduceat(covered, table.base, dtype=np.int64) if count else sizes
    shape = (int(cloud.shape[0]), int(cloud.shape[1]))
    pieces = _grouped(shape, rows, cols, piece_sizes, max_samples)
    owners = np.repeat(np.arange(int(keep.sum())), per_object[keep])
    if not cut.any():
        return pieces, pieces, owners
    objects = _grouped(shape, rows, cols, sizes[keep], max_samples)
    empty = np.zeros(0, np.int32)
    return replace(objects, rows=empty, cols=empty), pieces, owners


@dataclass(frozen=True)
class _SquareTable:
    """One entry per grid square of each cut object's bounding box, one per other object.

    Object ``j``'s entries start at ``base[j]``; a pixel at (row, col) of it is entry
    ``start[j] + (row // piece) * across[j] + (col // piece) * cut[j]``. Marking the
    entries the pixels fall on and counting along the table numbers every piece without
    a sort.
    """

    base: np.ndarray
    start: np.ndarray
    across: np.ndarray
    cut: np.ndarray
    piece: int
    size: int

    @classmethod
    def of(cls, labels: np.ndarray, cut: np.ndarray, piece_px: int) -> _SquareTable:
        """The table of the objects of ``labels``, those ``cut`` into ``piece_px`` squares."""
        count = len(cut)
        top, left, across, down = (np.zeros(count, np.int64) for _ in range(4))
        down[:] = 1
        if cut.any():
            boxes = ndimage.find_objects(labels)
            for j in np.flatnonzero(cut):  # one per object larger than a piece: dozens
                rows, cols = boxes[j]
                top[j], left[j] = rows.start // piece_px, cols.start // piece_px
                down[j] = (rows.stop - 1) // piece_px + 1 - top[j]
                across[j] = (cols.stop - 1) // piece_px + 1 - left[j]
        entries = np.where(cut, down * across, 1)
        base = np.cumsum(entries) - entries
        start = base - top * across - left * cut
        dtype = np.int32 if int(entries.sum()) < 2**31 else np.int64
        return cls(
            base, start.astype(dtype), across.astype(dtype), cut.astype(dtype),
            max(piece_px, 1), int(entries.sum()),
        )  # fmt: skip

    def square(self, owner: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The table entry of each pixel (of object ``owner``, at ``rows``, ``cols``)."""
        entry = self.start[owner]
        if self.cut.any():
            entry += (rows // self.piece) * self.across[owner]
            entry += (cols // self.piece) * self.cut[owner]
        return entry


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
    result = np.zeros((objects.count, len(offsets)), np.float32)
    if objects.count == 0 or len(offsets) == 0:
        return result
    budget = max(1, _CHUNK // len(offsets))
    spans, first = [], 0
    while first < objects.count:
        # Objects first..last-1, at most ``budget`` samples (at least one object).
        ends = objects.sample_starts[first + 1 :] - objects.sample_starts[first]
        last = first + max(1, int(np.searchsorted(ends, budget, side="right")))
        spans.append((first, last))
        first = last
    score = partial(_score, objects, offsets, potential.ravel(), blocked.ravel(), min_free)
    if len(spans) == 1:
        result[:] = score(*spans[0])
        return result
    # Two threads: numpy lets go of the GIL for the gathers and sums (once the network is
    # done, the matching has the cores to itself).
    with ThreadPoolExecutor(_THREADS, "cloud-fcn-similarity") as pool:
        for (first, last), part in zip(spans, pool.map(lambda s: score(*s), spans), strict=True):
            result[first:last] = part
    return result


def _score(
    objects: CloudObjects, offsets: np.ndarray, pot: np.ndarray, blk: np.ndarray,
    min_free: float, first: int, last: int,
) -> np.ndarray:
    """:func:`similarities` of objects ``first`` to ``last - 1`` (flat masks)."""
    rows_total, cols_total = objects.shape
    a, b = objects.sample_starts[first], objects.sample_starts[last]
    r = objects.sample_rows[a:b, None] + offsets[:, 0][None, :]
    c = objects.sample_cols[a:b, None] + offsets[:, 1][None, :]
    inside = (r >= 0) & (r < rows_total) & (c >= 0) & (c < cols_total)
    index = np.where(inside, r.astype(np.int64) * cols_total + c, 0)
    free = inside & ~blk[index]
    hit = free & pot[index]
    bounds = (objects.sample_starts[first:last] - a).astype(np.int64)
    n_free = np.add.reduceat(free, bounds, axis=0, dtype=np.int32)
    n_hit = np.add.reduceat(hit, bounds, axis=0, dtype=np.int32)
    enough = n_free >= np.maximum(1, min_free * objects.sample_sizes[first:last])[:, None]
    return np.where(enough, n_hit / np.maximum(n_free, 1), 0.0).astype(np.float32)
