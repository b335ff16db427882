"""Sieve, buffer and the post-processing of a run (masked image and polygons with them)
against hand-computed results."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from osgeo import ogr
from rasterio.transform import from_origin

from cloud_fcn_plugin.engine.errors import (
    CanceledError,
    OutputConflictError,
    OutputNotWritableError,
    ParameterError,
)
from cloud_fcn_plugin.engine.outputs.masked_image import image_bands, write_masked_image
from cloud_fcn_plugin.engine.outputs.polygons import POLYGON_LAYER, AtomicPolygonWriter
from cloud_fcn_plugin.engine.outputs.raster import AtomicRasterWriter
from cloud_fcn_plugin.engine.outputs.refine import refine_mask
from cloud_fcn_plugin.engine.params import MAX_BUFFER, DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from tests.conftest import write_geotiff
from tests.engine.outputs.masks import N, grid, write_mask

PIXEL = 30.0


def refined(
    tmp_path: Path,
    values: np.ndarray,
    *,
    min_size: int = 0,
    buffer: int = 0,
    masked: tuple[int, ...] = (1, 2, 3),
):
    raw = write_mask(tmp_path / "raw.tif", values)
    height, width = values.shape
    with AtomicRasterWriter(
        tmp_path / "mask.tif", width=width, height=height, crs=None,
        transform=from_origin(0, 0, 1, 1), dtype="uint8", nodata=N,
    ) as out:  # fmt: skip
        counts = refine_mask(raw, out, min_size=min_size, buffer=buffer, masked_codes=masked)
        out.commit()
    with rasterio.open(tmp_path / "mask.tif") as src:
        result = src.read(1)
    assert counts == {code: int((result == code).sum()) for code in range(4)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.tif", "raw.tif"]
    return result


def _sub(tmp_path: Path, number: int) -> Path:
    folder = tmp_path / f"run{number}"
    folder.mkdir()
    return folder


class TestSieve:
    """M1: GDAL merges a small patch only into a neighbour of at least --min-size."""

    def test_min_size_beyond_every_clear_area_still_drops_the_patches(self, tmp_path):
        values = np.zeros((20, 20), np.uint8)
        values[:, 10:] = 1  # a 200 px cloud and a 4 px one beside 196 px of clear ground
        values[2:4, 2:4] = 1
        assert (refined(_sub(tmp_path, 1), values, min_size=150) == 1).sum() == 200
        # 201: both patches are smaller, and no clear area is that big.
        assert (refined(_sub(tmp_path, 2), values, min_size=201) == 1).sum() == 0
        assert (refined(_sub(tmp_path, 3), values, min_size=204) == 1).sum() == 0

    def test_min_size_beyond_the_raster_drops_every_patch(self, tmp_path):
        values = np.ones((6, 7), np.uint8)
        values[0, 0] = N
        assert (refined(_sub(tmp_path, 1), values, min_size=41) == 1).sum() == 41
        result = refined(_sub(tmp_path, 2), values, min_size=2**31 - 1)
        assert (result == 1).sum() == 0 and result[0, 0] == N

    def test_fill_counts_as_open_ground(self, tmp_path):
        values = np.full((12, 12), N, np.uint8)
        values[4:8, 4:8] = 0
        values[5:7, 5:7] = 1  # 4 px of cloud: 12 px of clear and 128 of fill around it
        assert (refined(tmp_path, values, min_size=100) == 1).sum() == 0

    def test_small_patches_go_large_stay_holes_stay_open(self, tmp_path):
        values = grid("""
            # # . . . . . . x x
            . . . . . . . . x x
            . . . # # # . . . #
            . . . # . # . . . .
            . . . # # # . . . .
            . . . . . . . . # .
        """)
        expected = grid("""
            . . . . . . . . x x
            . . . . . . . . x x
            . . . # # # . . . .
            . . . # . # . . . .
            . . . # # # . . . .
            . . . . . . . . . .
        """)
        # 2-pixel patch, 1-pixel patches (one beside nodata) dropped; the 8-pixel ring
        # kept with its hole open; nodata untouched.
        np.testing.assert_array_equal(refined(tmp_path, values, min_size=3), expected)

    def test_patch_of_exactly_min_size_is_kept_and_four_connected(self, tmp_path):
        values = grid("""
            # # # . .
            . . . . .
            . . . # .
            . . . . #
        """)
        # The diagonal pair is two 1-pixel patches (4-connectivity); the row of 3 stays.
        expected = grid("""
            # # # . .
            . . . . .
            . . . . .
            . . . . .
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, min_size=3), expected)


class TestBuffer:
    def test_one_pixel_grows_into_a_euclidean_disk(self, tmp_path):
        values = np.zeros((9, 9), np.uint8)
        values[4, 4] = 1
        result = refined(tmp_path, values, buffer=2)
        rows, cols = np.mgrid[:9, :9]
        disk = (rows - 4) ** 2 + (cols - 4) ** 2 <= 4
        np.testing.assert_array_equal(result, disk.astype(np.uint8))
        assert result.sum() == 13

    def test_buffer_never_grows_into_nodata(self, tmp_path):
        values = grid("""
            x x x x x
            x . # . x
            x . . . x
        """)
        expected = grid("""
            x x x x x
            x # # # x
            x . # . x
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, buffer=1), expected)

    def test_sieve_comes_before_the_buffer(self, tmp_path):
        values = grid("""
            # . . . . . .
            . . . . . . .
            . . . . # # .
            . . . . # # .
            . . . . . . .
        """)
        expected = grid("""
            . . . . . . .
            . . . . # # .
            . . . # # # #
            . . . # # # #
            . . . . # # .
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, min_size=2, buffer=1), expected)


class TestGdalExceptions:
    @pytest.mark.parametrize("exceptions", [False, True])
    def test_work_and_cancel_whatever_gdal_exceptions_are(self, tmp_path, exceptions):
        from osgeo import gdal

        before = gdal.GetUseExceptions()
        (gdal.UseExceptions if exceptions else gdal.DontUseExceptions)()
        try:
            values = np.zeros((6, 6), np.uint8)
            values[2:4, 2:4] = 1
            values[0, 5] = 1
            raw = write_mask(tmp_path / "raw.tif", values)
            grid = {"width": 6, "height": 6, "crs": None, "transform": from_origin(0, 0, 1, 1)}
            with AtomicRasterWriter(tmp_path / "a.tif", dtype="uint8", nodata=N, **grid) as out:
                assert refine_mask(raw, out, min_size=2, buffer=1)[1] == 12
            with (
                AtomicRasterWriter(tmp_path / "b.tif", dtype="uint8", nodata=N, **grid) as out,
                pytest.raises(CanceledError),
            ):
                refine_mask(raw, out, min_size=2, buffer=1, is_canceled=lambda: True)
        finally:
            (gdal.UseExceptions if before else gdal.DontUseExceptions)()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.tif"]


class TestClasses:
    """Sieve, buffer, masked image and polygons act on the masked classes only."""

    def test_sieve_counts_the_masked_classes_together(self, tmp_path):
        values = grid("""
            # t . . . s
            . . . . . .
            t t s . . .
            . . . . . #
        """)
        # The thick + thin pair (2 px) and the lone shadow and cloud go at min size 3;
        # the thin + thin + shadow row (3 px) stays, each pixel with its class.
        expected = grid("""
            . . . . . .
            . . . . . .
            t t s . . .
            . . . . . .
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, min_size=3), expected)

    def test_unmasked_classes_are_not_sieved(self, tmp_path):
        values = grid("""
            # . . s
            . . . .
        """)
        expected = grid("""
            . . . s
            . . . .
        """)
        result = refined(tmp_path, values, min_size=2, masked=(1, 2))
        np.testing.assert_array_equal(result, expected)

    def test_buffer_takes_the_class_of_the_nearest_masked_pixel(self, tmp_path):
        values = grid("""
            # . . . . s
        """)
        # Ties (column 2 is 2 from the cloud, 3 from the shadow: not a tie) go to the
        # lower code; the shadow grows too.
        expected = grid("""
            # # # s s s
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, buffer=2), expected)

    def test_buffer_ties_go_to_the_lower_code(self, tmp_path):
        values = grid("""
            # . s
        """)
        np.testing.assert_array_equal(refined(tmp_path, values, buffer=1), grid("# # s"))

    def test_buffer_grows_masked_classes_over_unmasked_ones(self, tmp_path):
        values = grid("""
            # s . t
        """)
        # Only thick cloud is masked: the shadow beside it becomes cloud, the thin
        # cloud far away stays thin and does not grow.
        result = refined(tmp_path, values, buffer=1, masked=(1,))
        np.testing.assert_array_equal(result, grid("# # . t"))

    def test_masked_image_masks_only_the_chosen_classes(self, tmp_path):
        mask = write_mask(tmp_path / "mask.tif", grid("# t s . x"))
        data = np.full((2, 1, 5), 7, np.uint16)
        bands = image_bands(write_geotiff(tmp_path / "stack.tif", data))
        with AtomicRasterWriter(
            tmp_path / "masked.tif", width=5, height=1, crs=None,
            transform=from_origin(0, 0, 1, 1), dtype="uint16", nodata=0, count=2,
        ) as out:  # fmt: skip
            write_masked_image(bands, mask, out, masked_codes=(1, 3))
            out.commit()
        with rasterio.open(tmp_path / "masked.tif") as src:
            assert src.read(1).tolist() == [[0, 7, 0, 7, 0]]

    def test_polygons_carry_their_class(self, tmp_path):
        mask = write_mask(tmp_path / "mask.tif", grid("""
            # # t . s
            . . t . s
            . . . . .
        """))  # fmt: skip
        out = tmp_path / "clouds.gpkg"
        with AtomicPolygonWriter(out) as writer:
            assert writer.write(mask) == 3
            writer.commit()
        dataset = ogr.Open(str(out))  # kept: the layer dies with it
        layer = dataset.GetLayerByName(POLYGON_LAYER)
        found = sorted((f.GetField("class"), f.GetField("class_name"), f.GetField("pixels"))
                       for f in layer)  # fmt: skip
        assert found == [(1, "thick cloud", 2), (2, "thin cloud", 2), (3, "cloud shadow", 2)]

    def test_polygons_of_the_masked_classes_only(self, tmp_path):
        mask = write_mask(tmp_path / "mask.tif", grid("# . t . s"))
        out = tmp_path / "clouds.gpkg"
        with AtomicPolygonWriter(out) as writer:
            assert writer.write(mask, masked_codes=(2,)) == 1
            writer.commit()
        dataset = ogr.Open(str(out))
        layer = dataset.GetLayerByName(POLYGON_LAYER)
        assert [f.GetField("class") for f in layer] == [2]


class TestParams:
    @pytest.mark.parametrize(
        ("field", "value", "words"),
        [("buffer", -1, "Buffer"), ("buffer", MAX_BUFFER + 1, "Buffer"),
         ("buffer", 1.5, "whole number"), ("min_size", -3, "Minimum cloud size"),
         ("min_size", 2**31, "at most 2,147,483,647")],
    )  # fmt: skip
    def test_bad_values_say_what_to_do(self, field, value, words):
        with pytest.raises(ParameterError, match=words) as caught:
            DetectionParams(**{field: value})
        assert "\n" not in str(caught.value)

    def test_off_by_default(self):
        params = DetectionParams()
        assert (params.buffer, params.min_size, params.masked_image, params.polygons) == (
            0, 0, None, None,
        )  # fmt: skip
        assert not params.refines_mask
        assert DetectionParams(min_size=1).refines_mask is False
        assert DetectionParams(buffer=1).refines_mask


def bright_scene(path: Path) -> Path:
    """A 4-band TOA scene: 0.1 everywhere, cloud (0.5) on a 1-pixel speck and a 4x4 block."""
    bands = np.full((4, 40, 40), 0.1, np.float32)
    bands[:, 5, 5] = 0.5
    bands[:, 20:24, 20:24] = 0.5
    bands[:, 30:, :] = 0.0  # fill
    return write_geotiff(path, bands, descriptions=["B2", "B3", "B4", "B5"])


class TestDetectCloudsWorkflow:
    def test_sieve_buffer_masked_image_and_polygons(self, tmp_path, brightness_weights):
        scene = bright_scene(tmp_path / "scene.tif")
        out = tmp_path / "out"
        out.mkdir()
        params = DetectionParams(
            weights=brightness_weights, device="cpu", min_size=2, buffer=1,
            masked_image=out / "masked.tif", polygons=out / "clouds.gpkg",
        )  # fmt: skip
        result = detect_clouds(scene, out / "mask.tif", params)
        with rasterio.open(out / "mask.tif") as src:
            mask = src.read(1)
        expected = np.zeros((40, 40), np.uint8)
        expected[19:25, 20:24] = 1
        expected[20:24, 19:25] = 1
        expected[30:] = N
        np.testing.assert_array_equal(mask, expected)
        assert result.cloud_pixels == 32 and result.valid_pixels == 1200
        assert result.cloud_cover == pytest.approx(100 * 32 / 1200)
        assert result.detected_cloud_cover == pytest.approx(100 * 17 / 1200)
        assert "before sieve and buffer" in result.summary()
        with rasterio.open(out / "masked.tif") as src:
            image = src.read()
            assert src.count == 4 and np.isnan(src.nodata)
        assert np.isnan(image[:, mask != 0]).all()
        with rasterio.open(scene) as src:
            np.testing.assert_array_equal(image[:, mask == 0], src.read()[:, mask == 0])
        assert image[:, 5, 5].tolist() == [0.5] * 4  # the sieved speck is not masked
        assert result.polygon_count == 1
        dataset = ogr.Open(str(out / "clouds.gpkg"))  # keep it: its layer dies with it
        layer = dataset.GetLayer(0)
        feature = layer.GetNextFeature()
        assert feature.GetField("pixels") == 32
        assert feature.GetField("area_m2") == pytest.approx(32 * PIXEL**2)
        assert sorted(p.name for p in out.iterdir()) == ["clouds.gpkg", "mask.tif", "masked.tif"]

    def test_no_post_processing_keeps_cover_single(self, tmp_path, brightness_weights):
        scene = bright_scene(tmp_path / "scene.tif")
        params = DetectionParams(weights=brightness_weights, device="cpu", min_size=1)
        result = detect_clouds(scene, tmp_path / "mask.tif", params)
        assert result.cloud_pixels == 17 and result.detected_cloud_cover is None

    # Tiles take the first 70 % of the progress bar, then 10 % per step.
    @pytest.mark.parametrize("step", [70.0, 80.0, 90.0], ids=["refine", "image", "polygons"])
    def test_cancel_during_post_processing_leaves_nothing(self, tmp_path, brightness_weights, step):
        scene = bright_scene(tmp_path / "scene.tif")
        out = tmp_path / "out"
        out.mkdir()
        progress: list[float] = []
        params = DetectionParams(
            weights=brightness_weights, device="cpu", min_size=2, buffer=2,
            masked_image=out / "masked.tif", polygons=out / "clouds.gpkg",
        )  # fmt: skip
        with pytest.raises(CanceledError):
            detect_clouds(
                scene, out / "mask.tif", params, progress=progress.append,
                is_canceled=lambda: bool(progress) and progress[-1] >= step,
            )  # fmt: skip
        assert step <= progress[-1] < step + 10.0
        assert list(out.iterdir()) == []

    @pytest.mark.parametrize("which", ["masked_image", "polygons"])
    def test_new_outputs_are_checked_up_front(self, tmp_path, brightness_weights, which):
        scene = bright_scene(tmp_path / "scene.tif")
        target = scene if which == "masked_image" else tmp_path / "mask.tif"
        params = DetectionParams(weights=brightness_weights, device="cpu", **{which: target})
        with pytest.raises(OutputConflictError):
            detect_clouds(scene, tmp_path / "mask.tif", params)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]


class TestOsAndGdalErrorsAreOneLine:
    """Issue 17: GDAL and OS errors outside the wrappers ended in tracebacks."""

    def test_a_damaged_band_only_the_masked_image_reads(self, tmp_path):
        """H1: B1 cut in half: the model never reads it, the masked image does."""
        from cloud_fcn_plugin.engine.errors import InputReadError

        folder = tmp_path / "LC08_L1TP_001002_20200101_20200102_01_T1"
        folder.mkdir()
        rng = np.random.default_rng(0)
        for band in (1, 2, 3, 4, 5):
            data = rng.integers(1, 60000, (1, 300, 300), dtype=np.uint16)
            write_geotiff(folder / f"{folder.name}_B{band}.TIF", data)
        b1 = folder / f"{folder.name}_B1.TIF"
        b1.write_bytes(b1.read_bytes()[: b1.stat().st_size // 2])
        mask = write_mask(tmp_path / "mask.tif", np.zeros((300, 300), np.uint8))
        bands = image_bands(folder)
        with pytest.raises(InputReadError, match="B1.TIF"), AtomicRasterWriter(
            tmp_path / "masked.tif", width=300, height=300, crs=None,
            transform=from_origin(0, 0, 1, 1), dtype=bands.dtype, nodata=bands.nodata,
            count=len(bands.sources),
        ) as out:  # fmt: skip
            write_masked_image(bands, mask, out)
        assert not (tmp_path / "masked.tif").exists()

    def test_a_full_disk_between_sieve_and_buffer(self, tmp_path, tiny_disk):
        """H2: the work file's close was never checked; rasterio then failed to open it."""
        from cloud_fcn_plugin.engine.outputs import refine

        raw = write_mask(tmp_path / "raw.tif", np.ones((400, 400), np.uint8))
        sieved = write_mask(tmp_path / "sieved.tif", np.ones((400, 400), np.uint8))
        filler = tiny_disk / ".fill"
        with contextlib.suppress(OSError), filler.open("wb") as stream:
            while True:
                stream.write(b"\0" * 4096)
                stream.flush()
        with pytest.raises(OutputNotWritableError, match="disk space"):
            refine._kept_masked(raw, sieved, tiny_disk / "m.tif", 400, 400, (1,), None)
        assert sorted(p.name for p in tiny_disk.iterdir()) == [".fill"]
