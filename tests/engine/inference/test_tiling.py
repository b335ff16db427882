"""Tiling: the grid covers every pixel, and the blend windows normalise exactly."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.inference.tiling import (
    FILL_CONTEXT,
    Tile,
    axis_offsets,
    blend_window,
    plan_tiles,
    ramp,
    tile_grid,
    valid_box,
)

sizes = st.integers(min_value=8, max_value=96)


@st.composite
def grids(draw: st.DrawFn) -> tuple[int, int, int, int]:
    size = draw(sizes)
    overlap = draw(st.integers(min_value=0, max_value=size // 2 - 1))
    height = draw(st.integers(min_value=1, max_value=300))
    width = draw(st.integers(min_value=1, max_value=300))
    return height, width, size, overlap


class TestTile:
    def test_slices_index_the_window(self) -> None:
        array = np.arange(100).reshape(10, 10)
        tile = Tile(2, 3, 4, 5)
        assert array[tile.toslices()].shape == (4, 5)
        assert array[tile.toslices()][0, 0] == 23
        assert (tile.row_end, tile.col_end) == (6, 8)

    def test_is_a_frozen_value(self) -> None:
        tile = Tile(0, 0, 1, 1)
        assert tile == Tile(0, 0, 1, 1)
        with pytest.raises(AttributeError):
            tile.row_off = 3  # type: ignore[misc]

    @pytest.mark.parametrize("args", [(-1, 0, 4, 4), (0, 0, 0, 4), (0, -2, 4, 4)])
    def test_rejects_invalid_windows(self, args: tuple[int, int, int, int]) -> None:
        with pytest.raises(ParameterError, match="Tile"):
            Tile(*args)


class TestAxisOffsets:
    def test_last_tile_is_shifted_to_the_edge(self) -> None:
        assert axis_offsets(100, 40, 10) == [0, 30, 60]
        assert axis_offsets(101, 40, 10) == [0, 30, 60, 61]

    def test_short_axis_gets_one_tile(self) -> None:
        assert axis_offsets(7, 40, 10) == [0]

    def test_rejects_overlap_not_below_size(self) -> None:
        with pytest.raises(ParameterError, match="Overlap"):
            axis_offsets(100, 32, 32)

    @given(length=st.integers(1, 2000), size=sizes, data=st.data())
    def test_offsets_cover_the_axis_with_the_overlap(
        self, length: int, size: int, data: st.DataObject
    ) -> None:
        overlap = data.draw(st.integers(0, size - 1))
        offsets = axis_offsets(length, size, overlap)
        assert offsets[0] == 0
        assert offsets == sorted(set(offsets))
        assert offsets[-1] + min(size, length) == length
        for previous, current in itertools.pairwise(offsets):
            assert current - previous <= size - overlap


class TestTileGrid:
    @given(grids())
    def test_every_pixel_is_covered_and_tiles_stay_inside(
        self, grid: tuple[int, int, int, int]
    ) -> None:
        height, width, size, overlap = grid
        coverage = np.zeros((height, width), int)
        for tile in tile_grid(height, width, size, overlap):
            assert tile.row_end <= height and tile.col_end <= width
            assert tile.height == min(size, height) and tile.width == min(size, width)
            coverage[tile.toslices()] += 1
        assert coverage.min() >= 1

    @given(grids())
    def test_blended_constant_predictions_stay_constant(
        self, grid: tuple[int, int, int, int]
    ) -> None:
        height, width, size, overlap = grid
        tiles = tile_grid(height, width, size, overlap)
        window = blend_window(tiles[0].height, tiles[0].width, overlap)
        weights = np.zeros((height, width), np.float64)
        blended = np.zeros((height, width), np.float64)
        for tile in tiles:
            weights[tile.toslices()] += window
            blended[tile.toslices()] += 0.7 * window
        assert weights.min() > 0
        np.testing.assert_allclose(blended / weights, 0.7, rtol=1e-6)

    @given(grids())
    def test_normalised_weights_sum_to_one(self, grid: tuple[int, int, int, int]) -> None:
        height, width, size, overlap = grid
        tiles = tile_grid(height, width, size, overlap)
        window = blend_window(tiles[0].height, tiles[0].width, overlap)
        total = np.zeros((height, width))
        for tile in tiles:
            total[tile.toslices()] += window
        normalised = np.zeros((height, width))
        for tile in tiles:
            normalised[tile.toslices()] += window / total[tile.toslices()]
        np.testing.assert_allclose(normalised, 1.0, rtol=1e-6)


class TestBlendWindow:
    def test_ramp_rises_over_the_overlap_and_is_flat_inside(self) -> None:
        weights = ramp(10, 3)
        np.testing.assert_allclose(weights, [0.25, 0.5, 0.75, 1, 1, 1, 1, 0.75, 0.5, 0.25])

    def test_zero_overlap_is_uniform(self) -> None:
        assert (blend_window(5, 7, 0) == 1).all()

    def test_window_is_positive_symmetric_and_read_only(self) -> None:
        window = blend_window(32, 48, 8)
        assert window.shape == (32, 48) and window.min() > 0 and window.max() == 1
        np.testing.assert_array_equal(window, window[::-1, ::-1])
        with pytest.raises(ValueError):
            window[0, 0] = 2


class TestValidBox:
    @given(
        valid=st.integers(1, 40).flatmap(
            lambda h: st.integers(1, 40).flatmap(lambda w: arrays(np.bool_, (h, w)))
        ),
        context=st.integers(0, 8),
    )
    def test_holds_every_valid_pixel_with_context(self, valid: np.ndarray, context: int) -> None:
        box = valid_box(valid, context)
        if not valid.any():
            assert box is None
            return
        assert box is not None
        rows, cols = box
        inside = np.zeros_like(valid)
        inside[rows, cols] = True
        assert not (valid & ~inside).any()
        found_rows, found_cols = np.nonzero(valid)
        assert rows.start == max(found_rows.min() - context, 0)
        assert rows.stop == min(found_rows.max() + 1 + context, valid.shape[0])
        assert cols.start == max(found_cols.min() - context, 0)
        assert cols.stop == min(found_cols.max() + 1 + context, valid.shape[1])

    def test_single_pixel(self) -> None:
        valid = np.zeros((20, 30), bool)
        valid[10, 3] = True
        assert valid_box(valid, 4) == (slice(6, 15), slice(0, 8))


class TestPlanTiles:
    def test_fill_tiles_are_skipped_and_the_others_cut_with_context(self) -> None:
        valid = np.zeros((64, 200), bool)
        valid[40:60, 80:100] = True  # inside the second tile only
        cols = [0, 56, 112, 136]
        tiles = plan_tiles(valid, row=64, cols=cols, tile_w=64, raster_shape=(500, 200))
        assert [tile.col for tile in tiles] == [56]
        (tile,) = tiles
        assert tile.rows == slice(40 - FILL_CONTEXT, 64)
        assert tile.strip_cols == slice(80 - FILL_CONTEXT, 100 + FILL_CONTEXT)
        assert tile.edges == (False, False, False, False)

    def test_sides_on_the_raster_edge_are_flagged(self) -> None:
        valid = np.ones((30, 40), bool)
        (tile,) = plan_tiles(valid, row=0, cols=[0], tile_w=40, raster_shape=(30, 40))
        assert tile.edges == (True, True, True, True) and tile.shape == (30, 40)
        (tile,) = plan_tiles(valid, row=70, cols=[0], tile_w=40, raster_shape=(100, 50))
        assert tile.edges == (False, True, True, False)
