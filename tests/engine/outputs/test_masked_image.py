"""The masked image: the input's bands, nodata where the mask is masked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

from cloud_fcn_plugin.engine.outputs.masked_image import image_bands, write_masked_image
from cloud_fcn_plugin.engine.outputs.raster import AtomicRasterWriter
from tests.conftest import write_geotiff
from tests.engine.outputs.masks import grid, write_mask


class TestMaskedImage:
    def _mask(self, tmp_path: Path) -> Path:
        return write_mask(tmp_path / "mask.tif", grid("""
            . # .
            x . .
        """))  # fmt: skip

    def _write(self, tmp_path: Path, source: Path) -> tuple[np.ndarray, dict]:
        bands = image_bands(source)
        out_path = tmp_path / "masked.tif"
        with AtomicRasterWriter(
            out_path, width=3, height=2, crs=None, transform=from_origin(0, 0, 1, 1),
            dtype=bands.dtype, nodata=bands.nodata, count=len(bands.sources),
            descriptions=bands.descriptions,
        ) as out:  # fmt: skip
            write_masked_image(bands, self._mask(tmp_path), out)
            out.commit()
        with rasterio.open(out_path) as src:
            return src.read(), {
                "dtype": src.dtypes[0], "nodata": src.nodata, "descriptions": src.descriptions,
            }  # fmt: skip

    def test_integer_stack_keeps_every_band_type_and_zero_nodata(self, tmp_path):
        data = np.arange(1, 31, dtype=np.uint16).reshape(5, 2, 3)
        source = write_geotiff(tmp_path / "stack.tif", data)
        result, meta = self._write(tmp_path, source)
        expected = data.copy()
        expected[:, 0, 1] = 0
        expected[:, 1, 0] = 0
        np.testing.assert_array_equal(result, expected)
        assert meta["dtype"] == "uint16" and meta["nodata"] == 0
        assert meta["descriptions"] == tuple(f"band {i}" for i in range(1, 6))

    def test_float_stack_gets_nan(self, tmp_path):
        data = np.full((4, 2, 3), 0.25, np.float32)
        source = write_geotiff(tmp_path / "toa.tif", data, descriptions=["B2", "B3", "B4", "B5"])
        result, meta = self._write(tmp_path, source)
        assert np.isnan(meta["nodata"]) and meta["dtype"] == "float32"
        assert np.isnan(result[:, 0, 1]).all() and np.isnan(result[:, 1, 0]).all()
        assert (result[:, 0, 0] == 0.25).all() and (result[:, 1, 2] == 0.25).all()
        assert meta["descriptions"] == ("B2", "B3", "B4", "B5")

    def test_product_folder_stacks_its_reflective_30m_bands(self, tmp_path):
        folder = tmp_path / "LC08_L1TP_001002_20200101_20200102_01_T1"
        folder.mkdir()
        for band in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11):
            data = np.full((1, 2, 3), 1000 + band, np.uint16)
            write_geotiff(folder / f"{folder.name}_B{band}.TIF", data)
        pan = np.full((1, 4, 6), 7, np.uint16)
        write_geotiff(folder / f"{folder.name}_B8.TIF", pan, pixel=15.0)
        bands = image_bands(folder)
        assert bands.descriptions == (
            "B1 coastal", "B2 blue", "B3 green", "B4 red", "B5 nir", "B6 swir1", "B7 swir2",
            "B9 cirrus",
        )  # fmt: skip
        result, meta = self._write(tmp_path, folder)
        assert meta["nodata"] == 0 and meta["dtype"] == "uint16"
        assert [int(v) for v in result[:, 0, 0]] == [1001, 1002, 1003, 1004, 1005, 1006,
                                                      1007, 1009]  # fmt: skip
        assert (result[:, 0, 1] == 0).all() and (result[:, 1, 0] == 0).all()
