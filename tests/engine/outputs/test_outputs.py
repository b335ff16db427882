"""Outputs: checks before any work, atomic writes, never the input, unique temporaries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.errors import (
    OutputExistsError,
    OutputNotWritableError,
    ParameterError,
)
from cloud_fcn_plugin.engine.outputs.checks import check_output_path
from cloud_fcn_plugin.engine.outputs.raster import MASK_COLORMAP, AtomicRasterWriter
from tests.engine.scene.rasters import (
    CRS_UTM,
    TRANSFORM,
    dn_stack,
    product_folder,
    write_raster,
)
from tests.engine.scene.test_mtl import C1_PRODUCT, c1_mtl_text


class TestCheckOutputPath:
    def test_new_file(self, tmp_path: Path) -> None:
        assert check_output_path(tmp_path / "mask.tif", overwrite=False) == tmp_path / "mask.tif"

    def test_existing_file(self, tmp_path: Path) -> None:
        (tmp_path / "mask.tif").write_bytes(b"old")
        with pytest.raises(OutputExistsError, match="exists: pass --overwrite"):
            check_output_path(tmp_path / "mask.tif", overwrite=False)
        assert check_output_path(tmp_path / "mask.tif", overwrite=True).name == "mask.tif"

    def test_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(OutputNotWritableError, match="does not exist: create it"):
            check_output_path(tmp_path / "no" / "mask.tif", overwrite=False)

    def test_folder_as_output(self, tmp_path: Path) -> None:
        with pytest.raises(OutputNotWritableError, match="is a folder"):
            check_output_path(tmp_path, overwrite=True)


def _writer(path: Path, **kwargs) -> AtomicRasterWriter:
    options = {
        "width": 300,
        "height": 270,
        "crs": CRS_UTM,
        "transform": TRANSFORM,
        "dtype": "uint8",
        "nodata": 255,
    }
    options.update(kwargs)
    return AtomicRasterWriter(path, **options)


class TestAtomicRasterWriter:
    def test_commit_writes_tiled_compressed_mask(self, tmp_path: Path) -> None:
        target = tmp_path / "mask.tif"
        block = np.ones((100, 120), np.uint8)
        with _writer(target, colormap=MASK_COLORMAP, description="cloud mask") as writer:
            writer.write(block, 0, 0)
            writer.write(block * 255, 250, 250)  # runs past the bottom-right edge
            assert not target.exists()
            assert writer.commit() == target
        with rasterio.open(target) as dataset:
            assert (dataset.width, dataset.height) == (300, 270)
            assert dataset.crs == CRS_UTM and dataset.transform == TRANSFORM
            assert dataset.dtypes[0] == "uint8" and dataset.nodata == 255
            assert dataset.block_shapes[0] == (256, 256)
            assert dataset.compression.name.upper() == "DEFLATE"
            assert dataset.descriptions[0] == "cloud mask"
            assert dataset.colormap(1)[1][:3] == (255, 255, 255)
            assert dataset.colormap(1)[0][:3] == MASK_COLORMAP[0][:3]
            data = dataset.read(1)
        assert data[:100, :120].all() and data[250:, 250:].min() == 255
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.tif"]

    def test_exception_leaves_nothing(self, tmp_path: Path) -> None:
        target = tmp_path / "mask.tif"
        with pytest.raises(RuntimeError, match="boom"), _writer(target) as writer:
            writer.write(np.zeros((10, 10), np.uint8), 0, 0)
            raise RuntimeError("boom")
        assert list(tmp_path.iterdir()) == []

    def test_keyboard_interrupt_keeps_old_output(self, tmp_path: Path) -> None:
        target = tmp_path / "mask.tif"
        target.write_bytes(b"previous result")
        with pytest.raises(KeyboardInterrupt), _writer(target, overwrite=True) as writer:
            assert writer.temp_path.exists() and writer.temp_path.name.startswith(".mask.tif")
            raise KeyboardInterrupt
        assert target.read_bytes() == b"previous result"
        assert [p.name for p in tmp_path.iterdir()] == ["mask.tif"]

    def test_no_commit_leaves_nothing(self, tmp_path: Path) -> None:
        with _writer(tmp_path / "mask.tif", dtype="float32", nodata=-1.0) as writer:
            writer.write(np.full((5, 5), 0.5, np.float32), 0, 0)
        assert list(tmp_path.iterdir()) == []

    def test_refuses_existing_output(self, tmp_path: Path) -> None:
        (tmp_path / "mask.tif").write_bytes(b"x")
        with pytest.raises(OutputExistsError, match="--overwrite"):
            _writer(tmp_path / "mask.tif")

    def test_overwrite_replaces(self, tmp_path: Path) -> None:
        target = tmp_path / "mask.tif"
        target.write_bytes(b"x")
        with _writer(target, overwrite=True, width=20, height=20) as writer:
            writer.write(np.zeros((20, 20), np.uint8), 0, 0)
            writer.commit()
        with rasterio.open(target) as dataset:
            assert dataset.read(1).max() == 0

    def test_write_after_commit_and_bad_block(self, tmp_path: Path) -> None:
        with _writer(tmp_path / "a.tif") as writer:
            writer.commit()
            with pytest.raises(ParameterError, match="already committed"):
                writer.write(np.zeros((2, 2), np.uint8), 0, 0)
        with pytest.raises(ParameterError, match="multiple of 16"):
            _writer(tmp_path / "b.tif", block_size=100)


# ------------------------------------------------------------------ what goes wrong (issue 11)


class TestDiskFull:
    def test_full_disk_fails_loudly_and_keeps_the_old_output(self, tiny_disk: Path) -> None:
        target = tiny_disk / "mask.tif"
        with _writer(target, width=64, height=64) as writer:
            writer.write(np.full((64, 64), 7, np.uint8), 0, 0)
            writer.commit()
        old = target.read_bytes()
        noise = np.random.default_rng(0).integers(0, 255, (1500, 1500), dtype=np.uint8)
        with (
            pytest.raises(OutputNotWritableError, match="free disk space"),
            _writer(target, width=1500, height=1500, overwrite=True) as writer,
        ):
            writer.write(noise, 0, 0)
            writer.commit()
        assert target.read_bytes() == old
        assert sorted(p.name for p in tiny_disk.iterdir()) == ["mask.tif"]


class TestOutputNeverTheInput:
    def test_input_raster_and_links_to_it_are_refused(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.errors import OutputConflictError
        from cloud_fcn_plugin.engine.outputs.checks import RASTER_SUFFIXES, check_outputs

        stack = write_raster(tmp_path / "stack.tif", dn_stack())
        link = tmp_path / "link.tif"
        link.symlink_to(stack)
        hard = tmp_path / "hard.tif"
        hard.hardlink_to(stack)
        for output in (stack, link, hard, tmp_path / "sub" / ".." / "stack.tif"):
            with pytest.raises(OutputConflictError, match="destroy"):
                check_outputs(stack, [("mask", output, RASTER_SUFFIXES)], overwrite=True)
        with pytest.raises(OutputConflictError, match="destroy"):
            check_outputs(link, [("mask", stack, RASTER_SUFFIXES)], overwrite=True)

    def test_product_band_files_and_mtl_are_refused(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.errors import OutputConflictError
        from cloud_fcn_plugin.engine.outputs.checks import check_outputs

        folder = product_folder(tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack())
        mtl = folder / f"{C1_PRODUCT}_MTL.txt"
        mtl.write_text(c1_mtl_text())
        for given in (folder, mtl):
            for output in (folder / f"{C1_PRODUCT}_B4.TIF", mtl):
                with pytest.raises(OutputConflictError):
                    check_outputs(given, [("mask", output, None)], overwrite=True)

    def test_outputs_must_differ(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.errors import OutputConflictError
        from cloud_fcn_plugin.engine.outputs.checks import check_outputs

        mask = tmp_path / "mask.tif"
        with pytest.raises(OutputConflictError, match="preview and the mask"):
            check_outputs(None, [("mask", mask, None), ("preview", mask, None)], overwrite=True)

    @pytest.mark.parametrize("name", ["mask.png", "mask.jpg", "mask.JPEG", "mask"])
    def test_raster_outputs_are_geotiffs(self, tmp_path: Path, name: str) -> None:
        from cloud_fcn_plugin.engine.outputs.checks import RASTER_SUFFIXES, check_outputs

        with pytest.raises(ParameterError, match="GeoTIFF"):
            check_outputs(None, [("mask", tmp_path / name, RASTER_SUFFIXES)], overwrite=False)
        assert check_outputs(None, [("mask", tmp_path / "m.TIFF", RASTER_SUFFIXES)], False)


class TestConcurrentWriters:
    def test_two_writers_of_one_path_do_not_share_a_temporary_file(self, tmp_path: Path) -> None:
        target = tmp_path / "mask.tif"
        first = _writer(target, overwrite=True)
        second = _writer(target, overwrite=True)
        assert first.temp_path != second.temp_path
        first.write(np.zeros((270, 300), np.uint8), 0, 0)
        second.write(np.ones((270, 300), np.uint8), 0, 0)
        first.commit()
        second.commit()
        with rasterio.open(target) as dataset:
            assert (dataset.read(1) == 1).all()
        assert [p.name for p in tmp_path.iterdir()] == ["mask.tif"]
        assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_a_stale_aux_xml_goes_with_the_output_it_described(tmp_path) -> None:
    """N-M3: the old mask's .aux.xml (QGIS's statistics) ruled the new mask's georeference."""
    import rasterio

    from cloud_fcn_plugin.engine.params import DetectionParams
    from cloud_fcn_plugin.engine.pipeline import detect_clouds
    from tests.onnx_models import SAMPLE

    out = tmp_path / "m.tif"
    detect_clouds(SAMPLE, out)
    with rasterio.open(out) as dataset:
        transform = dataset.transform
    (tmp_path / "m.tif.aux.xml").write_text(
        "<PAMDataset><GeoTransform>1000, 30, 0, 2000, 0, -30</GeoTransform></PAMDataset>"
    )
    detect_clouds(SAMPLE, out, DetectionParams(overwrite=True))
    assert not (tmp_path / "m.tif.aux.xml").exists()
    with rasterio.open(out) as dataset:
        assert dataset.transform == transform
