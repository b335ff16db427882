"""The cloud objects of a mask, and their pieces: pixels and evenly spread samples.

Objects are 8-connected. Each carries at most ``max_samples`` of its pixels, evenly
spread over it (100 by default: the standard error of a share from 100 pixels is at
most 5 points), which is what :mod:`.shadow_match` scores; large objects are cut into
the squares of a grid (:func:`cloud_pieces`), whose pixels are windows of the label
image rather than lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["CloudObjects", "Windows", "cloud_objects", "cloud_pieces", "spread_samples"]

_EIGHT = np.ones((3, 3), bool)


@dataclass(frozen=True)
class Windows:
    """Pieces of large cloud objects, each the pixels of one label within one grid square
    of the label image: described, not listed (they hold most of a cloudy scene's pixels).

    Attributes:
        labels: the label image (int32; 0 is no cloud).
        index: which pieces of their :class:`CloudObjects` these are.
        label: each one's label in ``labels``.
        top, left: each one's square's first row and column; ``side`` its side.
    """

    labels: np.ndarray
    index: np.ndarray
    label: np.ndarray
    top: np.ndarray
    left: np.ndarray
    side: int

    def block(self, k: int) -> tuple[int, int, np.ndarray]:
        """Window ``k``: its square's first row and column, and its pixels there (bool)."""
        top, left = int(self.top[k]), int(self.left[k])
        square = self.labels[top : top + self.side, left : left + self.side]
        return top, left, square == self.label[k]


@dataclass(frozen=True)
class CloudObjects:
    """The 8-connected cloud objects of a mask (or their pieces): pixels and samples.

    Attributes:
        shape: the mask's (rows, cols).
        sizes: each object's pixels.
        rows, cols: every pixel (int32) of the listed objects (all, unless ``listed``
            says which), grouped by object, in raster order within each.
        starts: listed object ``k`` owns pixels ``starts[k]:starts[k + 1]``.
        sample_rows, sample_cols, sample_starts: the same for at most ``max_samples``
            evenly spread samples of every object.
        listed: the objects whose pixels ``rows`` and ``cols`` hold, where not all are.
        windows: the others (pieces of large objects), described by the label image.
    """

    shape: tuple[int, int]
    sizes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    starts: np.ndarray
    sample_rows: np.ndarray
    sample_cols: np.ndarray
    sample_starts: np.ndarray
    listed: np.ndarray | None = None
    windows: Windows | None = None

    @property
    def count(self) -> int:
        return len(self.sizes)

    @property
    def sample_sizes(self) -> np.ndarray:
        return np.diff(self.sample_starts)

    def pixels(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of object ``j``'s pixels, in raster order."""
        windows = self.windows
        if windows is not None:
            k = int(np.searchsorted(windows.index, j))
            if k < len(windows.index) and windows.index[k] == j:
                top, left, pixels = windows.block(k)
                rows, cols = np.nonzero(pixels)
                return (rows + top).astype(np.int32), (cols + left).astype(np.int32)
        k = j if self.listed is None else int(np.searchsorted(self.listed, j))
        if self.listed is not None and (k >= len(self.listed) or self.listed[k] != j):
            raise IndexError(f"object {j} carries no pixels")
        span = slice(int(self.starts[k]), int(self.starts[k + 1]))
        return self.rows[span], self.cols[span]

    def subset(self, index: np.ndarray) -> CloudObjects:
        """The objects ``index`` only (their samples; pixels are not carried)."""
        sizes = self.sample_sizes[index]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        picks = _segment_positions(self.sample_starts[index], sizes)
        return self.samples_only(self.sizes[index], picks, starts)

    def samples_only(
        self, sizes: np.ndarray, picks: np.ndarray, sample_starts: np.ndarray
    ) -> CloudObjects:
        """Objects of ``sizes`` with the samples ``picks`` of these, and no pixels."""
        empty = np.zeros(0, np.int32)
        return CloudObjects(
            self.shape, sizes, empty, empty, np.zeros(1, np.int64), self.sample_rows[picks],
            self.sample_cols[picks], sample_starts, listed=np.zeros(0, np.int64),
        )  # fmt: skip


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
    onto cloud, do not. Pieces come object by object, an object's pieces in the raster
    order of their squares; the pixels of the pieces are :class:`Windows` of the label
    image, the other objects' are listed. Where an object is cut, the objects carry
    their samples only; where none is (or ``piece_px`` is 0), the pieces are the objects.
    """
    labels, count = ndimage.label(cloud, structure=_EIGHT)
    bands = _row_bands(cloud.shape)
    sizes = np.zeros(count, np.int64)
    for band in bands:
        sizes += np.bincount(labels[band][cloud[band]], minlength=count + 1)[1:]
    keep = sizes >= min_pixels
    cut = keep & (sizes > piece_px * piece_px) if piece_px > 0 else np.zeros(count, bool)
    # The listed objects' pixels, grouped by object; the raster order stays within each.
    listed = keep & ~cut
    flat, owner = _pixels_of(cloud, labels, listed, bands)
    # Under 65,536 objects the labels fit 16 bits, which numpy sorts stably by radix (2x).
    order = np.argsort(owner.astype(np.uint16) if count < 2**16 else owner, kind="stable")
    del owner
    rows, cols = _rows_cols(flat[order], cloud.shape)
    del flat, order
    shape = (int(cloud.shape[0]), int(cloud.shape[1]))
    plain = _grouped(shape, rows, cols, sizes[listed], max_samples)
    if not cut.any():
        return plain, plain, np.arange(plain.count)
    return _with_windows(plain, labels, sizes, keep, cut, piece_px, max_samples)


#: Pixels of the label image gone through at a time: temporaries of a few MB, which the
#: allocator reuses, where whole-scene ones (43 MB of positions on a 7,800² scene's grid)
#: are page-faulted afresh on every run.
_BAND_PIXELS = 1 << 20


def _row_bands(shape: tuple[int, int]) -> list[slice]:
    rows = max(1, _BAND_PIXELS // max(shape[1], 1))
    return [np.s_[top : top + rows] for top in range(0, max(shape[0], 1), rows)]


def _pixels_of(
    cloud: np.ndarray, labels: np.ndarray, chosen: np.ndarray, bands: list[slice]
) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions (raster order) and objects of the pixels of the ``chosen`` objects."""
    width = cloud.shape[1]
    by_label = np.concatenate([[False], chosen])
    flats, owners = [], []
    for band in bands:
        flat = np.flatnonzero(cloud[band])  # 2x faster on bools than on labels
        owner = labels[band].ravel()[flat]
        mine = by_label[owner]
        flats.append(flat[mine] + band.start * width)
        owners.append(owner[mine] - 1)
    return np.concatenate(flats), np.concatenate(owners)


def _with_windows(
    plain: CloudObjects, labels: np.ndarray, sizes: np.ndarray, keep: np.ndarray,
    cut: np.ndarray, piece_px: int, max_samples: int,
) -> tuple[CloudObjects, CloudObjects, np.ndarray]:
    """:func:`cloud_pieces` where objects are cut: ``plain`` holds the others."""
    boxes = ndimage.find_objects(labels)
    pieces = _Assembly()  # the pieces, object by object
    objects = _Assembly()  # the objects' own samples
    listed = 0
    for number, j in enumerate(np.flatnonzero(keep)):
        if not cut[j]:
            a, b = plain.sample_starts[listed], plain.sample_starts[listed + 1]
            samples = plain.sample_rows[a:b], plain.sample_cols[a:b]
            pieces.add(sizes[j], *samples, owner=number, listed=True)
            objects.add(sizes[j], *samples)
            listed += 1
            continue
        spread = _ObjectSamples(int(sizes[j]), max_samples)
        for row in _square_rows(labels, boxes[j], j + 1, piece_px):
            picks, taken = spread_samples(row.sizes, max_samples)
            pieces.add_windows(row, row.rows[picks], row.cols[picks], taken, owner=number)
            spread.add(row.rows, row.cols)
        objects.add(sizes[j], *spread.samples())
    shape = plain.shape
    windows = Windows(labels, *pieces.windows(), piece_px)
    cut_pieces = pieces.build(shape, (plain.rows, plain.cols, plain.starts), windows)
    return objects.build(shape), cut_pieces, pieces.owners()


@dataclass(frozen=True)
class _SquareRow:
    """An object's pixels in one row of grid squares, square by square (raster order in
    each): the squares' first row and columns, and the object's pixels in each."""

    label: int
    top: int
    lefts: np.ndarray
    sizes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


def _square_rows(
    labels: np.ndarray, box: tuple[slice, slice], label: int, side: int
) -> Iterator[_SquareRow]:
    """Each row of grid squares of ``side`` that object ``label`` (within ``box``) touches,
    top to bottom, with the squares it touches in it, left to right."""
    rows, cols = box
    first = cols.start // side * side
    across = -(-(cols.stop - first) // side)  # squares across the box
    area = side * side
    for top in range(rows.start // side * side, rows.stop, side):
        strip = labels[top : top + side, first : cols.stop] == label
        if strip.shape != (side, across * side):  # squares cut by the box or the scene
            whole = np.zeros((side, across * side), bool)
            whole[: strip.shape[0], : strip.shape[1]] = strip
            strip = whole
        # Square by square, each in raster order: the order of the pixels of a piece.
        inside = np.flatnonzero(strip.reshape(side, across, side).transpose(1, 0, 2))
        square = inside // area
        within = inside - square * area
        counts = np.bincount(square, minlength=across)
        present = np.flatnonzero(counts)
        yield _SquareRow(
            label, top, first + present * side, counts[present],
            (top + within // side).astype(np.int32),
            (first + square * side + within % side).astype(np.int32),
        )  # fmt: skip


def spread_samples(sizes: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of at most ``most`` evenly spread samples of each of consecutive groups of
    ``sizes`` (among all their members), and how many each group gives."""
    starts = np.cumsum(sizes) - sizes
    taken = np.minimum(sizes, most)
    owner = np.repeat(np.arange(len(sizes)), taken)
    rank = np.arange(int(taken.sum())) - (np.cumsum(taken) - taken)[owner]
    return starts[owner] + (rank * sizes[owner]) // np.maximum(taken[owner], 1), taken


class _ObjectSamples:
    """The samples of a cut object, picked from its pieces' pixels as they come: the same
    as evenly spread over its pixels in the order of its pieces."""

    def __init__(self, size: int, most: int) -> None:
        self._wanted = spread_samples(np.array([size]), most)[0]
        self._seen = 0
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        lo, hi = np.searchsorted(self._wanted, [self._seen, self._seen + rows.size])
        local = self._wanted[lo:hi] - self._seen
        self._rows.append(rows[local])
        self._cols.append(cols[local])
        self._seen += rows.size

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        return np.concatenate(self._rows), np.concatenate(self._cols)


class _Assembly:
    """Objects (or pieces) gathered in order: their sizes, samples, owners, windows."""

    def __init__(self) -> None:
        self._sizes: list[np.ndarray] = []
        self._taken: list[np.ndarray] = []  # samples of each
        self._rows: list[np.ndarray] = []
        self._cols: list[np.ndarray] = []
        self._owners: list[np.ndarray] = []
        self._listed: list[int] = []
        self._windows: list[np.ndarray] = []  # rows of index, label, top, left
        self._count = 0

    def add(
        self, size: int, rows: np.ndarray, cols: np.ndarray, owner: int = 0, listed: bool = False
    ) -> None:
        """One object (or piece) of ``size`` pixels and its samples."""
        if listed:
            self._listed.append(self._count)
        self._gather(np.array([size], np.int64), np.array([rows.size], np.int64), rows, cols, owner)

    def add_windows(
        self, row: _SquareRow, rows: np.ndarray, cols: np.ndarray, taken: np.ndarray, owner: int
    ) -> None:
        """The pieces of one row of squares; ``taken`` samples each, in ``rows``, ``cols``."""
        count = len(row.sizes)
        table = np.empty((count, 4), np.int64)
        table[:, 0] = self._count + np.arange(count)
        table[:, 1], table[:, 2], table[:, 3] = row.label, row.top, row.lefts
        self._windows.append(table)
        self._gather(row.sizes.astype(np.int64), taken.astype(np.int64), rows, cols, owner)

    def _gather(
        self, sizes: np.ndarray, taken: np.ndarray, rows: np.ndarray, cols: np.ndarray,
        owner: int,
    ) -> None:
        self._sizes.append(sizes)
        self._taken.append(taken)
        self._rows.append(rows)
        self._cols.append(cols)
        self._owners.append(np.full(len(sizes), owner, np.int64))
        self._count += len(sizes)

    def owners(self) -> np.ndarray:
        return _joined(self._owners, np.int64)

    def windows(self) -> tuple[np.ndarray, ...]:
        table = np.concatenate(self._windows) if self._windows else np.zeros((0, 4), np.int64)
        return tuple(table[:, k] for k in range(4))

    def build(
        self, shape: tuple[int, int], pixels: tuple[np.ndarray, ...] | None = None,
        windows: Windows | None = None,
    ) -> CloudObjects:
        """The objects gathered, with the listed ones' ``pixels`` (rows, cols, starts), if
        any, and ``windows``."""
        if pixels is None:
            empty = np.zeros(0, np.int32)
            pixels = (empty, empty, np.zeros(1, np.int64))
        sample_starts = np.concatenate([[0], np.cumsum(_joined(self._taken, np.int64))])
        return CloudObjects(
            shape, _joined(self._sizes, np.int64), *pixels, _joined(self._rows),
            _joined(self._cols), sample_starts.astype(np.int64),
            listed=np.asarray(self._listed, np.int64), windows=windows,
        )  # fmt: skip


def _joined(parts: list[np.ndarray], dtype: type = np.int32) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _grouped(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, sizes: np.ndarray,
    max_samples: int,
) -> CloudObjects:
    """Objects of ``sizes`` consecutive pixels each, with their evenly spread samples."""
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    picks, taken = spread_samples(sizes, max_samples)
    sample_starts = np.concatenate([[0], np.cumsum(taken)]).astype(np.int64)
    return CloudObjects(
        shape, np.asarray(sizes, np.int64), rows, cols, starts, rows[picks], cols[picks],
        sample_starts,
    )  # fmt: skip
