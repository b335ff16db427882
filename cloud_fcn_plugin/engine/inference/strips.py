"""Stream a scene's probability layers through the network, one strip of tiles at a time.

Each row of tiles is read as one full-width strip (on a reader thread, one strip ahead),
normalised, cut into tiles, predicted in batches, and blended into a rolling accumulator
with the tile window. Once the next row of tiles starts at row ``r``, every row above
``r`` is final. Memory thus depends on the scene width and the tile size, never on the
scene height.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import (
    CanceledError,
)
from ..models.onnx_guard import cancel_source
from ..params import IsCanceled, Progress
from ..scene.reader import SceneReader
from ..scene.scaling import InputTransform, input_transform
from ..timing import stage
from .predictor import Predictor
from .threads import single_threaded_blas
from .tiling import PlannedTile, axis_offsets, blend_window, plan_tiles


@dataclass(frozen=True)
class Strip:
    """Final rows of the scene: probability layers and the valid-pixel mask.

    Attributes:
        row_off: first row of the strip in the scene.
        layers: (L, rows, cols) blended probabilities, laid out as the predictor's
            ``layout.layers`` (cloud first).
        valid: (rows, cols) True on pixels with data.
        raw: (C, rows, cols) the bands the network read, as stored, for later stages
            that need them too (they scale copies, see
            :meth:`~..scene.reader.SceneReader.reflectance`); None where not kept.
    """

    row_off: int
    layers: np.ndarray
    valid: np.ndarray
    raw: np.ndarray | None = None

    @property
    def probability(self) -> np.ndarray:
        """The cloud probability (thick + thin) of the strip."""
        return self.layers[0]


def iter_probability_strips(
    reader: SceneReader,
    predictor: Predictor,
    tile_size: int,
    overlap: int,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
) -> Iterator[Strip]:
    """Yield the scene's probability layers top to bottom, in final strips.

    Tiles that hold only fill are skipped and the others are cut down to their
    valid pixels plus some fill (see :func:`~.tiling.plan_tiles`); they are blended
    with the tile window and divided by the summed weights. Up to
    ``predictor.tasks_in_flight`` tasks are predicted while earlier ones are
    blended, across strip boundaries, so the workers never wait for a strip to end.

    Raises:
        CanceledError: ``is_canceled()`` returned true between two tasks.
    """
    height, width = reader.height, reader.width
    rows = axis_offsets(height, tile_size, overlap)
    cols = axis_offsets(width, tile_size, overlap)
    tile_h, tile_w = min(tile_size, height), min(tile_size, width)
    meta = predictor.metadata
    transform = input_transform(reader.scaling, meta.mean, meta.std)
    assembler = _Assembler(
        blend_window(tile_h, tile_w, overlap),
        width,
        len(rows) * len(cols),
        progress,
        len(predictor.layout.layers),
    )
    try:
        # cancel_source: QGIS's Cancel also stops an ONNX run stuck inside the runtime.
        with single_threaded_blas(), cancel_source(is_canceled):
            for index, (raw, valid) in enumerate(_read_ahead(reader, rows, tile_h, width)):
                with stage("tiling"):
                    tiles = plan_tiles(valid, rows[index], cols, tile_w, (height, width))
                assembler.skipped(len(cols) - len(tiles))
                for batch in _batches(tiles, predictor.tiles_per_task):
                    if is_canceled is not None and is_canceled():
                        raise CanceledError("Canceled by the user: no output was written.")
                    yield from assembler.drain(keep=predictor.tasks_in_flight - 1)
                    prepare = partial(_network_input, raw, valid, batch, transform)
                    assembler.submit(batch, predictor.submit(prepare, batch[0].edges))
                final = (rows[index + 1] if index + 1 < len(rows) else height) - rows[index]
                assembler.end_strip(rows[index], final, valid, raw)
            yield from assembler.drain(keep=0)
    finally:
        assembler.cancel()


def _batches(tiles: list[PlannedTile], size: int) -> Iterator[list[PlannedTile]]:
    """Group consecutive tiles of one shape and edge set, at most ``size`` at a time."""
    batch: list[PlannedTile] = []
    for tile in tiles:
        if batch and (
            len(batch) == size or (tile.shape, tile.edges) != (batch[0].shape, batch[0].edges)
        ):
            yield batch
            batch = []
        batch.append(tile)
    if batch:
        yield batch


def _network_input(
    raw: np.ndarray, valid: np.ndarray, tiles: list[PlannedTile], transform: InputTransform
) -> np.ndarray:
    """The tiles (N, C, H, W) as network input; runs on the predicting thread."""
    with stage("scaling"):
        return _scaled(raw, valid, tiles, transform)


def _scaled(
    raw: np.ndarray, valid: np.ndarray, tiles: list[PlannedTile], transform: InputTransform
) -> np.ndarray:
    inputs = [
        transform.apply(raw[:, tile.rows, tile.strip_cols], valid[tile.rows, tile.strip_cols])
        for tile in tiles
    ]
    return inputs[0][None] if len(inputs) == 1 else np.stack(inputs)


def _read_ahead(
    reader: SceneReader, rows: list[int], tile_h: int, width: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield raw full-width strips and their valid masks, reading the next on another thread."""
    with ThreadPoolExecutor(1, thread_name_prefix="cloud-fcn-read") as pool:
        pending: Future = pool.submit(reader.read_raw, rows[0], 0, tile_h, width)
        for index in range(len(rows)):
            strip = pending.result()
            if index + 1 < len(rows):
                pending = pool.submit(reader.read_raw, rows[index + 1], 0, tile_h, width)
            yield strip


@dataclass(frozen=True)
class _StripEnd:
    """Queue marker: every tile of the strip at ``row`` has been submitted."""

    row: int
    final: int
    valid: np.ndarray
    raw: np.ndarray


class _Assembler:
    """Blends predicted tiles in submission order into a rolling strip accumulator."""

    def __init__(
        self,
        window: np.ndarray,
        width: int,
        total_tiles: int,
        progress: Progress | None,
        layers: int = 1,
    ) -> None:
        tile_h = window.shape[0]
        self.window = window
        self.prob_sum = np.zeros((layers, tile_h, width), np.float32)
        self.weight_sum = np.zeros((tile_h, width), np.float32)
        self._weighted = np.empty((layers, *window.shape), np.float32)
        self.pending: deque[tuple[list[PlannedTile], Future] | _StripEnd] = deque()
        self.in_flight = 0
        self.done, self.total = 0, total_tiles
        self.progress = progress

    def submit(self, tiles: list[PlannedTile], future: Future) -> None:
        """Queue the future probabilities of ``tiles``."""
        self.pending.append((tiles, future))
        self.in_flight += 1

    def end_strip(self, row: int, final: int, valid: np.ndarray, raw: np.ndarray) -> None:
        """Queue the end of a strip: its first ``final`` rows are then complete."""
        self.pending.append(_StripEnd(row, final, valid, raw))

    def skipped(self, tiles: int) -> None:
        """Count fill-only tiles as done."""
        if tiles:
            self._advance(tiles)

    def drain(self, keep: int) -> Iterator[Strip]:
        """Blend finished work until at most ``keep`` tasks are in flight; yield strips."""
        while self.pending and (self.in_flight > keep or isinstance(self.pending[0], _StripEnd)):
            item = self.pending.popleft()
            if isinstance(item, _StripEnd):
                with stage("blending"):
                    strip = self._finish(item)
                yield strip
                continue
            tiles, future = item
            self.in_flight -= 1
            probabilities = future.result()
            with stage("blending"):
                self._blend(tiles, probabilities)

    def cancel(self) -> None:
        """Drop queued work (after an error or a cancel)."""
        for item in self.pending:
            if not isinstance(item, _StripEnd):
                item[1].cancel()
        self.pending.clear()

    def _blend(self, tiles: list[PlannedTile], probabilities: np.ndarray) -> None:
        for tile, probability in zip(tiles, probabilities, strict=True):
            # A tile cut to its valid pixels keeps the weights its part of the window has.
            window = self.window[tile.rows, tile.cols]
            weighted = self._weighted[:, : window.shape[0], : window.shape[1]]
            np.multiply(probability, window, out=weighted)
            self.prob_sum[:, tile.rows, tile.strip_cols] += weighted
            self.weight_sum[tile.rows, tile.strip_cols] += window
        self._advance(len(tiles))

    def _finish(self, end: _StripEnd) -> Strip:
        strip = Strip(
            end.row,
            _blended(self.prob_sum[:, : end.final], self.weight_sum[: end.final]),
            end.valid[: end.final],
            end.raw[:, : end.final],
        )
        _shift_up(self.prob_sum, end.final)
        _shift_up(self.weight_sum, end.final)
        return strip

    def _advance(self, tiles: int) -> None:
        self.done += tiles
        if self.progress is not None:
            self.progress(100.0 * self.done / self.total)


def _blended(prob_sum: np.ndarray, weight_sum: np.ndarray) -> np.ndarray:
    out = np.zeros_like(prob_sum)
    np.divide(prob_sum, weight_sum, out=out, where=weight_sum > 0)
    return out


def _shift_up(buffer: np.ndarray, rows: int) -> None:
    """Drop the first ``rows`` rows (axis -2) of a rolling buffer and zero the freed rows."""
    height = buffer.shape[-2]
    if rows < height:
        buffer[..., : height - rows, :] = buffer[..., rows:, :].copy()
    buffer[..., max(height - rows, 0) :, :] = 0.0
