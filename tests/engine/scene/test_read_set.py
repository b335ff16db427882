"""What a run reads (issue 17): every file behind the input, refused as an output, checked first."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import (
    InputReadError,
    OutputConflictError,
    OutputNotWritableError,
)
from cloud_fcn_plugin.engine.outputs.checks import (
    RASTER_SUFFIXES,
    check_output_path,
    check_outputs,
    same_file,
)
from cloud_fcn_plugin.engine.scene.read_set import input_files
from cloud_fcn_plugin.engine.scene.reader import inspect_input
from tests.conftest import write_geotiff

LONG = "a" * 300


def scene(path: Path) -> Path:
    return write_geotiff(path, np.full((4, 8, 8), 7000, np.uint16))


def nested_vrt(tmp_path: Path, depth: int = 3) -> tuple[Path, Path]:
    """``src.tif`` behind ``depth`` levels of VRT; return (outermost VRT, src.tif)."""
    source = scene(tmp_path / "src.tif")
    inner = source
    for level in range(depth):
        vrt = tmp_path / f"level{level}.vrt"
        subprocess.run(["gdalbuildvrt", "-q", str(vrt), str(inner)], check=True)
        inner = vrt
    return inner, source


class TestVrtSourcesAtAnyDepth:
    def test_every_level_is_in_the_read_set(self, tmp_path: Path) -> None:
        outer, source = nested_vrt(tmp_path)
        files = input_files(outer)
        for name in ("level0.vrt", "level1.vrt", "src.tif"):
            assert any(same_file(f, tmp_path / name) for f in files), (name, files)
        assert any(same_file(f, source) for f in files)

    @pytest.mark.parametrize("label", ["mask", "masked image"])
    def test_the_source_behind_a_nested_vrt_is_refused(self, tmp_path: Path, label: str) -> None:
        """C4: the source scene of ``outer.vrt -> inner.vrt -> src.tif`` is never replaced."""
        outer, source = nested_vrt(tmp_path, depth=2)
        with pytest.raises(OutputConflictError, match="destroy"):
            check_outputs(outer, [(label, source, RASTER_SUFFIXES)], overwrite=True)

    def test_a_vrt_that_refers_to_itself_ends(self, tmp_path: Path) -> None:
        vrt = tmp_path / "self.vrt"
        vrt.write_text(
            '<VRTDataset rasterXSize="2" rasterYSize="2"><VRTRasterBand dataType="Byte" '
            'band="1"><SimpleSource><SourceFilename relativeToVRT="1">self.vrt'
            "</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>"
            "</VRTDataset>"
        )
        assert any(same_file(f, vrt) for f in input_files(vrt))


class TestPathsTheOsRejects:
    """H8: over-long names and symlink loops give one line, never an OSError traceback."""

    def test_same_file_never_raises(self, tmp_path: Path) -> None:
        (tmp_path / "la").symlink_to(tmp_path / "lb")
        (tmp_path / "lb").symlink_to(tmp_path / "la")
        assert not same_file(tmp_path / "la", tmp_path / f"{LONG}.tif")
        assert not same_file(tmp_path / f"{LONG}.tif", tmp_path / "x.tif")

    def test_an_over_long_output_name_is_one_line(self, tmp_path: Path) -> None:
        with pytest.raises(OutputNotWritableError, match="too long"):
            check_output_path(tmp_path / f"{LONG}.tif", overwrite=False)

    def test_an_output_in_a_symlink_loop_is_one_line(self, tmp_path: Path) -> None:
        (tmp_path / "la").symlink_to(tmp_path / "lb")
        (tmp_path / "lb").symlink_to(tmp_path / "la")
        with pytest.raises(OutputNotWritableError, match="link"):
            check_output_path(tmp_path / "la", overwrite=True)

    def test_inputs_the_os_rejects_are_one_line(self, tmp_path: Path) -> None:
        (tmp_path / "la").symlink_to(tmp_path / "lb")
        (tmp_path / "lb").symlink_to(tmp_path / "la")
        for path in (tmp_path / f"{LONG}.tif", tmp_path / "la"):
            with pytest.raises(InputReadError):
                inspect_input(path)
            input_files(path)  # never raises: the read set of a path that is not there


class TestNotRegularFiles:
    def test_a_fifo_is_refused_before_gdal_opens_it(self, tmp_path: Path) -> None:
        """H10: GDAL's open blocks on a FIFO and ignores SIGTERM."""
        fifo = tmp_path / "f.tif"
        os.mkfifo(fifo)
        with pytest.raises(InputReadError, match="not a regular file"):
            inspect_input(fifo)
