"""How well each cloud object, shifted by an offset, lands on dark pixels.

The similarity of an object at an offset is Fmask's: the share of its shifted pixels
that fall on potential shadow, counting only the shifted pixels that land inside the
scene and off cloud (a shadow hidden under another cloud neither helps nor hurts).
Each object is scored on its samples (:mod:`.shadow_objects`), so the cost is bounded by
objects × samples × offsets whatever the clouds' size; every object and offset of a
chunk is scored at once with numpy (no loop over objects).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

from .shadow_objects import CloudObjects

__all__ = ["ShiftGrid", "offsets_along", "similarities"]

#: Elements (samples × offsets) a thread scores at once (~25 MB of temporaries: under
#: glibc's mmap threshold, so they are reused, not page-faulted afresh).
_CHUNK = 1_000_000
#: Threads scoring chunks at once.
_THREADS = 2


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
    *,
    grid: ShiftGrid | None = None,
) -> np.ndarray:
    """Similarity (float32, objects × offsets) of each object's samples shifted by each offset.

    Where fewer than ``min_free`` of the shifted samples land inside the scene and off
    ``blocked`` (cloud, fill), the similarity is 0: too little is seen to tell. ``grid``:
    ``potential`` and ``blocked`` as a :class:`ShiftGrid`, made once for many calls.
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
    if grid is None or not grid.covers(offsets):
        grid = ShiftGrid(potential, blocked, offsets)
    score = partial(_score, objects, grid, grid.steps(offsets), min_free)
    if len(spans) == 1:
        result[:] = score(*spans[0])
        return result
    # Two threads: numpy lets go of the GIL for the gathers and sums (once the network is
    # done, the matching has the cores to itself).
    with ThreadPoolExecutor(_THREADS, "cloud-fcn-similarity") as pool:
        for (first, last), part in zip(spans, pool.map(lambda s: score(*s), spans), strict=True):
            result[first:last] = part
    return result


class ShiftGrid:
    """What a shifted sample lands on, one byte a pixel: 1 blocked (or off the scene: the
    grid is padded as far as ``offsets`` reach), 2 potential shadow, else 0. One gather
    per sample and offset, at a flat index that is a sum: the sample's plus the offset's."""

    def __init__(self, potential: np.ndarray, blocked: np.ndarray, offsets: np.ndarray) -> None:
        rows, cols = blocked.shape
        reach = offsets if len(offsets) else np.zeros((1, 2), np.int32)
        self.top, self.left = (max(0, -int(reach[:, k].min())) for k in (0, 1))
        self.bottom, self.right = (max(0, int(reach[:, k].max())) for k in (0, 1))
        self.width = self.left + cols + self.right
        height = self.top + rows + self.bottom
        state = np.ones((height, self.width), np.uint8)
        inner = state[self.top : self.top + rows, self.left : self.left + cols]
        inner[:] = 0
        np.copyto(inner, np.uint8(2), where=potential)
        np.copyto(inner, np.uint8(1), where=blocked)
        self.state = state.ravel()
        self.dtype = np.int32 if height * self.width < 2**31 else np.int64

    @classmethod
    def within(cls, potential: np.ndarray, blocked: np.ndarray, reach_px: float) -> ShiftGrid:
        """A grid for every offset of at most ``reach_px`` pixels, in any direction."""
        reach = math.ceil(reach_px)
        return cls(potential, blocked, np.array([[-reach, -reach], [reach, reach]]))

    def covers(self, offsets: np.ndarray) -> bool:
        """Whether every offset stays within the padding."""
        return len(offsets) == 0 or (
            -offsets[:, 0].min() <= self.top and offsets[:, 0].max() <= self.bottom
            and -offsets[:, 1].min() <= self.left and offsets[:, 1].max() <= self.right
        )  # fmt: skip

    def steps(self, offsets: np.ndarray) -> np.ndarray:
        """Each offset as a step in the flat grid."""
        return offsets[:, 0].astype(self.dtype) * self.width + offsets[:, 1]

    def flat(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flat positions of scene pixels in the padded grid."""
        return (rows.astype(self.dtype) + self.top) * self.width + (cols + self.left)


def _score(
    objects: CloudObjects, grid: ShiftGrid, steps: np.ndarray, min_free: float, first: int,
    last: int,
) -> np.ndarray:
    """:func:`similarities` of objects ``first`` to ``last - 1``."""
    a, b = objects.sample_starts[first], objects.sample_starts[last]
    start = grid.flat(objects.sample_rows[a:b], objects.sample_cols[a:b])
    landed = grid.state[start[:, None] + steps]
    free = landed != 1
    hit = landed == 2
    bounds = (objects.sample_starts[first:last] - a).astype(np.int64)
    n_free = np.add.reduceat(free, bounds, axis=0, dtype=np.int32)
    n_hit = np.add.reduceat(hit, bounds, axis=0, dtype=np.int32)
    enough = n_free >= np.maximum(1, min_free * objects.sample_sizes[first:last])[:, None]
    return np.where(enough, n_hit / np.maximum(n_free, 1), 0.0).astype(np.float32)
