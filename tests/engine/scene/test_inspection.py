"""Input inspection: what an input is (stack, product folder, band files) before a pixel is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.crs import CRS

from cloud_fcn_plugin.engine.errors import (
    BandMismatchError,
    InputNotFoundError,
    InputReadError,
    MetadataError,
)
from cloud_fcn_plugin.engine.scene.reader import (
    InputInfo,
    inspect_band_files,
    inspect_input,
    open_scene,
)
from tests.engine.scene.rasters import band_file, dn_stack, product_folder, write_raster
from tests.engine.scene.test_mtl import C1_PRODUCT, c1_mtl_text


class TestInspectRealScenes:
    @pytest.mark.parametrize(
        ("key", "level"), [("l1_900m", "l1"), ("toa_120m", "toa"), ("sr_600m", "sr")]
    )
    def test_product_folders(self, scene_dirs: dict[str, Path], key: str, level: str) -> None:
        info = inspect_input(scene_dirs[key])
        assert isinstance(info, InputInfo)
        assert (info.kind, info.level, info.mtl) == ("landsat_product", level, None)
        assert "product level" in info.level_reason
        assert info.band_files is not None
        assert [f.name for f in info.band_files] == [
            band_file(scene_dirs[key], key, b).name for b in (4, 3, 2, 5)
        ]

    def test_rgb_stack_has_no_band_guess(self, scene_dirs: dict[str, Path]) -> None:
        info = inspect_input(scene_dirs["rgb_30m"])  # the folder holds one 3-band raster
        assert (info.kind, info.band_count, info.default_bands) == ("raster", 3, None)
        assert (info.width, info.height) == (2041, 1860)
        assert info.crs == CRS.from_epsg(32621)

    def test_biome_patch_layout(self, biome_dir: Path) -> None:
        patch = next((biome_dir / "train" / "Images").glob("*.tif"))
        info = inspect_input(patch)
        assert (info.level, info.default_bands, info.crs) == ("toa", (3, 2, 1, 4), None)
        assert "Biome" in info.notes[0]


class TestInspectSynthetic:
    def test_four_band_stack_is_b2_to_b5(self, tmp_path: Path) -> None:
        info = inspect_input(write_raster(tmp_path / "stack.tif", dn_stack(4)))
        assert info.default_bands == (3, 2, 1, 4)
        assert info.level == "l1" and "uint16" in info.level_reason

    def test_seven_band_stack_is_b1_to_b7(self, tmp_path: Path) -> None:
        info = inspect_input(write_raster(tmp_path / "stack.tif", dn_stack(7)))
        assert info.default_bands == (4, 3, 2, 5)

    def test_eight_band_reflectance_without_kelvin_is_b1_order(self, tmp_path: Path) -> None:
        data = np.full((8, 8, 8), 0.2, np.float32)
        info = inspect_input(write_raster(tmp_path / "stack.tif", data))
        assert info.default_bands == (4, 3, 2, 5)

    def test_descriptions_name_the_bands(self, tmp_path: Path) -> None:
        names = ["NIR", "SR_B4", "band 3", "Blue", "B6"]
        info = inspect_input(write_raster(tmp_path / "x.tif", dn_stack(5), descriptions=names))
        assert info.default_bands == (2, 3, 4, 1)
        assert info.band_descriptions == tuple(names)

    def test_five_anonymous_bands_cannot_be_guessed(self, tmp_path: Path) -> None:
        assert inspect_input(write_raster(tmp_path / "x.tif", dn_stack(5))).default_bands is None

    def test_float_raster_is_toa(self, tmp_path: Path) -> None:
        data = np.full((4, 10, 10), 0.25, np.float32)
        assert inspect_input(write_raster(tmp_path / "x.tif", data)).level == "toa"

    def test_integer_reflectance_is_scaled_toa(self, tmp_path: Path) -> None:
        data = np.full((4, 10, 10), 2500, np.int16)
        path = write_raster(tmp_path / "x.tif", data)
        assert inspect_input(path).level == "toa"
        with open_scene(path) as reader:
            refl, valid = reader.read_all()
        assert valid.all() and refl == pytest.approx(np.full(refl.shape, 0.25), abs=1e-6)

    def test_lowercase_product_folder(self, tmp_path: Path) -> None:
        folder = product_folder(
            tmp_path / "p", (2, 3, 4, 5, 6), "lc08_l1tp_016037_20170813_20170814_01_rt_b{}.tif",
            dn_stack(4),
        )  # fmt: skip
        info = inspect_input(folder)
        assert info.kind == "landsat_product" and info.level == "l1"

    def test_folder_missing_nir(self, tmp_path: Path) -> None:
        folder = product_folder(tmp_path / "p", (2, 3, 4), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack(4))
        with pytest.raises(BandMismatchError, match=r"lacks band B5 \(NIR\)"):
            inspect_input(folder)

    def test_mtl_file_as_input(self, tmp_path: Path) -> None:
        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack())
        mtl = folder / f"{C1_PRODUCT}_MTL.txt"
        mtl.write_text(c1_mtl_text(sun_elevation=30.0))
        info = inspect_input(mtl)
        assert info.kind == "landsat_product" and info.path == folder
        assert info.mtl is not None and info.mtl.sun_elevation == 30.0
        assert "DATA_TYPE" in info.level_reason

    def test_malformed_mtl_in_folder(self, tmp_path: Path) -> None:
        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack())
        (folder / f"{C1_PRODUCT}_MTL.txt").write_text("GROUP = L1_METADATA_FILE\nbroken\n")
        with pytest.raises(MetadataError, match="KEY = VALUE"):
            inspect_input(folder)

    def test_missing_path(self, tmp_path: Path) -> None:
        with pytest.raises(InputNotFoundError, match="does not exist"):
            inspect_input(tmp_path / "nothing.tif")

    def test_not_a_raster(self, tmp_path: Path) -> None:
        path = tmp_path / "notes.tif"
        path.write_text("not a raster at all")
        with pytest.raises(InputReadError, match="is not a raster GDAL can read"):
            inspect_input(path)

    def test_folder_without_band_files(self, tmp_path: Path) -> None:
        with pytest.raises(InputReadError, match="holds no Landsat band files"):
            inspect_input(tmp_path)

    def test_band_files_must_share_a_grid(self, tmp_path: Path) -> None:
        files = [write_raster(tmp_path / f"{i}.tif", dn_stack(1)) for i in range(3)]
        files.append(write_raster(tmp_path / "small.tif", dn_stack(1, shape=(10, 10))))
        with pytest.raises(BandMismatchError, match="must share one grid"):
            inspect_band_files(files)
