"""Windowed scene reading: grids, valid masks, overviews, implausible and corrupt data."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.errors import (
    BandMismatchError,
    InputNotFoundError,
    InputReadError,
    ParameterError,
)
from cloud_fcn_plugin.engine.scene.reader import (
    open_scene,
)
from tests.engine.scene.rasters import band_file, dn_stack, product_folder, write_raster
from tests.engine.scene.test_mtl import C1_PRODUCT, c1_mtl_text


def expected_valid(files: Sequence[Path], dn_coded: bool) -> np.ndarray:
    """Valid pixels computed straight from the files, independently of the reader."""
    stack, nodata = [], []
    for file in files:
        with rasterio.open(file) as dataset:
            stack.append(dataset.read(1))
            nodata.append(dataset.nodata)
    raw = np.stack(stack)
    zero = raw == 0
    invalid = zero.any(axis=0) if dn_coded else zero.all(axis=0)
    for band, value in enumerate(nodata):
        if value is not None:
            invalid |= raw[band] == value
    return ~invalid


class TestOpenRealScenes:
    @pytest.mark.parametrize("key", ["l1_900m", "toa_120m", "sr_600m"])
    def test_grid_mask_and_range(self, scene_dirs: dict[str, Path], key: str) -> None:
        files = [band_file(scene_dirs[key], key, b) for b in (4, 3, 2, 5)]
        with rasterio.open(files[0]) as red, open_scene(scene_dirs[key]) as reader:
            assert (reader.width, reader.height) == (red.width, red.height)
            assert reader.crs == red.crs and reader.transform == red.transform
            assert reader.profile()["transform"] == red.transform
            refl, valid = reader.read_all()
        assert refl.shape == (4, reader.height, reader.width) and refl.dtype == np.float32
        np.testing.assert_array_equal(valid, expected_valid(files, key != "toa_120m"))
        assert 0.5 < valid.mean() < 0.95
        assert refl[:, valid].min() >= -0.2 and refl[:, valid].max() <= 1.5
        assert np.all(refl[:, ~valid] == 0)

    def test_window_equals_part_of_whole(self, scene_dirs: dict[str, Path]) -> None:
        with open_scene(scene_dirs["sr_600m"]) as reader:
            whole, whole_valid = reader.read_all()
            part, part_valid = reader.read(100, 50, 64, 80)
        np.testing.assert_array_equal(part, whole[:, 100:164, 50:130])
        np.testing.assert_array_equal(part_valid, whole_valid[100:164, 50:130])

    def test_boundless_window_is_fill_outside(self, scene_dirs: dict[str, Path]) -> None:
        with open_scene(scene_dirs["toa_120m"]) as reader:
            h, w = reader.height, reader.width
            whole, whole_valid = reader.read_all()
            refl, valid = reader.read(h - 20, w - 30, 64, 64)
            outside, outside_valid = reader.read(h + 5, -100, 16, 16)
        assert refl.shape == (4, 64, 64)
        np.testing.assert_array_equal(refl[:, :20, :30], whole[:, h - 20 :, w - 30 :])
        np.testing.assert_array_equal(valid[:20, :30], whole_valid[h - 20 :, w - 30 :])
        assert not valid[20:].any() and not valid[:, 30:].any()
        assert np.all(refl[:, 20:] == 0) and np.all(refl[:, :, 30:] == 0)
        assert not outside_valid.any() and not outside.any()

    def test_rgb_stack_lacks_nir(self, scene_dirs: dict[str, Path]) -> None:
        with pytest.raises(BandMismatchError, match="has 3 band.*no NIR band"):
            open_scene(scene_dirs["rgb_30m"])
        raster = next(scene_dirs["rgb_30m"].glob("*.TIF"))
        with pytest.raises(BandMismatchError, match="has 3 band"):
            open_scene(raster, bands=(3, 2, 1, 1))

    def test_38cloud_band_files(self, cloud38_dir: Path) -> None:
        files = [next((cloud38_dir / f"train_{b}").glob("*.TIF")) for b in _CLOUD38_ROLES]
        with open_scene(band_files=files) as reader:
            refl, valid = reader.read_all()
            assert reader.product == "l1" and reader.crs is None
            assert "no sun-angle correction" in reader.scaling.reason
        with rasterio.open(files[3]) as nir:
            raw_nir = nir.read(1).astype(np.float64)
        assert refl.shape == (4, 384, 384) and valid.all()
        np.testing.assert_allclose(refl[3], raw_nir * 2e-5 - 0.1, atol=1e-5)

    def test_biome_patch_with_explicit_bands(self, biome_dir: Path) -> None:
        patch = next((biome_dir / "val" / "Images").glob("*.tif"))
        with open_scene(patch, bands=(3, 2, 1, 4), product="toa") as reader:
            refl, valid = reader.read_all()
            assert reader.scaling.gain == (1.0,) * 4
        with rasterio.open(patch) as dataset:
            raw = dataset.read([3, 2, 1, 4])
        np.testing.assert_array_equal(refl[:, valid], raw[:, valid])

    def test_mtl_scaling_on_real_bands(self, scene_dirs: dict[str, Path], tmp_path: Path) -> None:
        # Links, not copies: the real band files next to a written MTL.
        for band in (2, 3, 4, 5):
            source = band_file(scene_dirs["l1_900m"], "l1_900m", band)
            (tmp_path / source.name).symlink_to(source)
        product = source.name.rsplit("_B", 1)[0]
        (tmp_path / f"{product}_MTL.txt").write_text(c1_mtl_text(product, sun_elevation=30.0))
        with open_scene(tmp_path) as plain, open_scene(scene_dirs["l1_900m"]) as reader:
            corrected, valid = plain.read_all()
            uncorrected, _ = reader.read_all()
            assert plain.scaling.sun_elevation == 30.0
        np.testing.assert_allclose(corrected[:, valid], uncorrected[:, valid] * 2, rtol=1e-5)


_CLOUD38_ROLES = ("red", "green", "blue", "nir")


class TestSceneReaderSynthetic:
    def test_band_index_out_of_range(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack(5))
        with pytest.raises(BandMismatchError, match="x.tif, which has 5 bands.*between 1 and 5"):
            open_scene(path, bands=(4, 3, 2, 6))

    def test_unguessable_bands_must_be_given(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack(5))
        with pytest.raises(BandMismatchError, match="pass them"):
            open_scene(path)
        with open_scene(path, bands=(4, 3, 2, 5)) as reader:
            assert reader.read(10, 10, 4, 4)[0].shape == (4, 4, 4)

    def test_bands_pick_the_right_layers(self, tmp_path: Path) -> None:
        data = np.stack([np.full((6, 6), 10000 * (i + 1), np.uint16) for i in range(4)])
        with open_scene(write_raster(tmp_path / "x.tif", data), bands=(2, 4, 1, 3)) as reader:
            refl, _ = reader.read_all()
        np.testing.assert_allclose(refl[:, 0, 0], [0.3, 0.7, 0.1, 0.5], atol=1e-6)

    def test_fill_rules(self, tmp_path: Path) -> None:
        data = np.full((4, 4, 4), 0.2, np.float32)
        data[:, 0, 0] = 0.0  # 0 everywhere: fill
        data[0, 0, 1] = 0.0  # 0 in one reflectance band: a dark but real pixel
        data[2, 0, 2] = np.nan
        data[3, 0, 3] = -1.0  # declared nodata in one band
        with open_scene(write_raster(tmp_path / "x.tif", data, nodata=-1.0)) as reader:
            refl, valid = reader.read_all()
            assert reader.nodata == -1.0
        assert valid[0].tolist() == [False, True, False, False] and valid[1:].all()
        assert np.isfinite(refl).all() and np.all(refl[:, 0, [0, 2, 3]] == 0)

    def test_dn_zero_in_one_band_is_fill(self, tmp_path: Path) -> None:
        data = dn_stack(4, (8, 8))
        data[3, 7, 7] = 0
        with open_scene(write_raster(tmp_path / "x.tif", data)) as reader:
            assert not reader.read_all()[1][7, 7]

    def test_product_override(self, tmp_path: Path) -> None:
        with open_scene(write_raster(tmp_path / "x.tif", dn_stack()), product="sr") as reader:
            assert reader.product == "sr" and "--product sr" in reader.product_reason
            assert reader.scaling.gain == (2.75e-5,) * 4
            assert any("Scaling" in m for m in reader.messages)

    def test_read_raw_gives_stored_values_inside_the_raster_only(self, tmp_path: Path) -> None:
        data = np.stack([np.full((6, 8), 10000 * (i + 1), np.uint16) for i in range(4)])
        data[:, 0, 0] = 0
        with open_scene(write_raster(tmp_path / "x.tif", data), bands=(2, 4, 1, 3)) as reader:
            raw, valid = reader.read_raw(0, 0, 6, 8)
            assert raw.dtype == np.uint16 and list(raw[:, 1, 1]) == [20000, 40000, 10000, 30000]
            assert not valid[0, 0] and valid.sum() == 47
            with pytest.raises(ParameterError, match="leave the 8x6 raster: use read"):
                reader.read_raw(2, 0, 6, 8)

    def test_bad_arguments(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack())
        with pytest.raises(ParameterError, match="auto, l1, toa or sr"):
            open_scene(path, product="dn")
        with pytest.raises(ParameterError, match="either an input path or four band files"):
            open_scene()
        with pytest.raises(ParameterError, match="four paths"):
            open_scene(band_files=[path])
        with open_scene(path) as reader, pytest.raises(ParameterError, match="positive"):
            reader.read(0, 0, 0, 4)

    def test_missing_band_file(self, tmp_path: Path) -> None:
        files = [write_raster(tmp_path / f"{i}.tif", dn_stack(1)) for i in range(3)]
        with pytest.raises(InputNotFoundError, match="absent.tif does not exist"):
            open_scene(band_files=[*files, tmp_path / "absent.tif"])

    def test_multi_band_file_as_band_file(self, tmp_path: Path) -> None:
        files = [write_raster(tmp_path / f"{i}.tif", dn_stack(1)) for i in range(3)]
        with pytest.raises(BandMismatchError, match="must have one each"):
            open_scene(band_files=[*files, write_raster(tmp_path / "m.tif", dn_stack(2))])

    def test_ungeoreferenced_profile(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack(), georeferenced=False)
        with open_scene(path) as reader:
            profile = reader.profile()
        assert profile["crs"] is None and profile["driver"] == "GTiff"
        assert (profile["width"], profile["height"]) == (50, 40)

    def test_block_shape_and_read_from_another_thread(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack())
        results = []
        with open_scene(path) as reader:
            assert reader.block_shape[1] == 50
            worker = threading.Thread(target=lambda: results.append(reader.read(0, 0, 40, 50)))
            worker.start()
            worker.join()
            np.testing.assert_array_equal(results[0][0], reader.read_all()[0])


class TestOverviews:
    """The decimated view the physics pre-pass reads from Collection 2 COG overviews."""

    @staticmethod
    def with_overviews(path: Path, factors: list[int]) -> Path:
        with rasterio.open(path, "r+") as dataset:
            dataset.build_overviews(factors, rasterio.enums.Resampling.average)
        return path

    def test_no_overviews_none_used(self, tmp_path: Path) -> None:
        with open_scene(write_raster(tmp_path / "x.tif", dn_stack(4, (64, 64)))) as reader:
            assert reader.overview_factor(8) is None

    def test_the_largest_factor_every_band_file_has(self, tmp_path: Path) -> None:
        data = dn_stack(4, (64, 64))
        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), "LC08_L1TP_B{}.TIF", data)
        for band, factors in ((2, [2, 4, 8]), (3, [2, 4, 8, 16]), (4, [2, 4]), (5, [4, 8])):
            self.with_overviews(folder / f"LC08_L1TP_B{band}.TIF", factors)
        with open_scene(folder) as reader:
            assert reader.overview_factor(8) == 4
            assert reader.overview_factor(3) is None

    def test_pixels_next_to_fill_are_fill_in_an_averaged_overview(self, tmp_path: Path) -> None:
        data = np.full((4, 64, 64), 20000, np.uint16)
        data[:, :, :20] = 0  # fill on the left, its edge inside an overview pixel
        path = self.with_overviews(write_raster(tmp_path / "x.tif", data), [2, 4, 8])
        with open_scene(path, bands=(3, 2, 1, 4)) as reader:
            raw, valid = reader.read_overview(8)
        assert raw.shape == (4, 8, 8) and valid.shape == (8, 8)
        # Overview column 2 averages fill and data (pixels 16-23): not 0, but next to fill.
        assert (raw[:, :, 2] == 10000).all()
        assert not valid[:, :3].any() and valid[:, 3:].all()
        assert (raw[:, :, 3:] == 20000).all()


    @pytest.mark.timeout(60)
    def test_a_fifo_where_gdal_looks_for_overviews_is_refused_not_opened(
        self, tmp_path: Path
    ) -> None:
        path = write_raster(tmp_path / "x.tif", dn_stack(4, (64, 64)))
        os.mkfifo(tmp_path / "x.tif.ovr")  # GDAL's open of it would block forever
        with pytest.raises(InputReadError, match=r"x\.tif\.ovr .*not a regular file"):
            open_scene(path, bands=(3, 2, 1, 4))

    def test_a_damaged_overview_is_one_line_naming_its_file(self, tmp_path: Path) -> None:
        with rasterio.Env(COMPRESS_OVERVIEW="DEFLATE"):  # garbage then fails to decode
            path = self.with_overviews(write_raster(tmp_path / "x.tif", dn_stack(4, (64, 64))), [8])
        with rasterio.open(path) as dataset:
            offset = int(dataset.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1, ovr=0))
            size = int(dataset.get_tag_item("BLOCK_SIZE_0_0", "TIFF", bidx=1, ovr=0))
        with path.open("r+b") as file:
            file.seek(offset)
            file.write(b"\xff" * size)
        failure = pytest.raises(InputReadError, match=r"Reading .*x\.tif failed .*download")
        with open_scene(path, bands=(3, 2, 1, 4)) as reader, failure:
            reader.read_overview(8)


class TestProductFolderOfBandFile:
    def test_single_band_on_the_siblings_grid_is_a_band(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.scene.reader import product_folder_of

        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack())
        assert product_folder_of(folder / f"{C1_PRODUCT}_B4.TIF") == folder

    def test_stack_named_like_a_band_file_is_read_as_itself(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.scene.reader import product_folder_of

        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), "other_B{}.TIF", dn_stack())
        stack = write_raster(folder / "mystack_B4.tif", dn_stack(shape=(30, 30)))
        assert product_folder_of(stack) is None
        single = write_raster(folder / "small_B7.tif", dn_stack(1, shape=(30, 30)))
        assert product_folder_of(single) is None  # one band, but not on the siblings' grid


class TestImplausibleData:
    def test_infinite_pixels_are_fill(self, tmp_path: Path) -> None:
        data = np.full((4, 10, 10), 0.2, np.float32)
        data[:, 0, 0] = np.inf
        data[2, 1, 1] = -np.inf
        with open_scene(write_raster(tmp_path / "toa.tif", data)) as reader:
            _, valid = reader.read_all()
            raw, valid_raw = reader.read_raw(0, 0, 10, 10)
        assert not valid[0, 0] and not valid[1, 1] and valid.sum() == 98
        assert (valid_raw == valid).all()

    @pytest.mark.parametrize("dtype", ["complex64", "uint8", "int8"])
    def test_complex_and_8_bit_rasters_are_refused(self, tmp_path: Path, dtype: str) -> None:
        from cloud_fcn_plugin.engine.errors import UnsupportedDataError

        path = write_raster(tmp_path / "x.tif", (dn_stack() % 100).astype(dtype))
        with pytest.raises(UnsupportedDataError, match="x.tif.*(complex|8-bit).*Landsat"):
            open_scene(path)

    def test_alpha_band_is_refused(self, tmp_path: Path) -> None:
        from rasterio.enums import ColorInterp

        from cloud_fcn_plugin.engine.errors import UnsupportedDataError

        path = write_raster(tmp_path / "rgba.tif", dn_stack())
        with rasterio.open(path, "r+") as dataset:
            dataset.colorinterp = [
                ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha
            ]  # fmt: skip
        with pytest.raises(UnsupportedDataError, match="alpha"):
            open_scene(path)

    def test_one_band_four_times_is_refused(self, tmp_path: Path) -> None:
        path = write_raster(tmp_path / "s.tif", dn_stack())
        with pytest.raises(BandMismatchError, match="twice"):
            open_scene(path, bands=(1, 1, 1, 1))


class TestCorruptData:
    def _truncated(self, source: Path, target: Path) -> Path:
        data = source.read_bytes()
        target.write_bytes(data[: len(data) // 2])
        return target

    def test_truncated_tiff(self, tmp_path: Path) -> None:
        whole = write_raster(tmp_path / "whole.tif", dn_stack(shape=(300, 300)))
        broken = self._truncated(whole, tmp_path / "broken.tif")
        with pytest.raises(InputReadError, match="broken.tif.*corrupt"), open_scene(broken) as r:
            r.read_all()

    def test_vrt_with_a_missing_source(self, tmp_path: Path) -> None:
        sources = "".join(
            f'<VRTRasterBand dataType="UInt16" band="{b}"><SimpleSource>'
            f'<SourceFilename relativeToVRT="1">gone.tif</SourceFilename>'
            f"<SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>"
            for b in range(1, 5)
        )
        vrt = tmp_path / "scene.vrt"
        vrt.write_text(f'<VRTDataset rasterXSize="50" rasterYSize="40">{sources}</VRTDataset>')
        with pytest.raises(InputReadError, match="scene.vrt.*missing"), open_scene(vrt) as r:
            r.read_all()

    def test_truncated_band_in_a_product_folder(self, tmp_path: Path) -> None:
        folder = product_folder(
            tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack(shape=(300, 300))
        )
        band = folder / f"{C1_PRODUCT}_B5.TIF"
        self._truncated(band, band)
        with pytest.raises(InputReadError, match=f"{C1_PRODUCT}_B5.TIF"), open_scene(folder) as r:
            r.read_all()
