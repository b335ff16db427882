"""One gate for every file a run opens: the input and each file found through it.

The gate is tested once, then through each way a file is found (a product folder's MTL,
a VRT's sources at any depth, a checkpoint's sidecar, a list file, the partial sweep),
with real FIFOs, devices, /proc files and raw-band VRTs: nothing hangs, nothing of a
file's contents reaches a message, nothing of the read set is deleted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.batch.inputs import expand_inputs
from cloud_fcn_plugin.engine.errors import (
    CloudFcnError,
    InputNotFoundError,
    InputReadError,
    ParameterError,
    WeightsError,
)
from cloud_fcn_plugin.engine.files.atomic import _HOST, remove_partial_outputs
from cloud_fcn_plugin.engine.files.gate import (
    gate_file,
    gate_raster,
    read_small_json,
    read_small_text,
)
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from cloud_fcn_plugin.engine.scene.read_set import ReadSet
from cloud_fcn_plugin.engine.scene.reader import inspect_input, open_scene
from tests.engine.scene.rasters import dn_stack, product_folder
from tests.engine.scene.test_mtl import C1_PRODUCT, c1_mtl_text
from tests.onnx_models import RGBN_WEIGHTS, SAMPLE

SECRET = "TOP-SECRET-LINE=hunter2"
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


def one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text and "hunter2" not in text and "TOP-SECRET" not in text
    return text


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs (POSIX)")
    path = tmp_path / "pipe.tif"
    os.mkfifo(path)
    return path


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n" + "x" * 4000)
    return path


class TestTheGate:
    def test_regular_file_passes_and_folders_only_when_asked(self, tmp_path: Path) -> None:
        file = tmp_path / "a.txt"
        file.write_text("ok")
        assert gate_file(file).st_size == 2
        gate_file(tmp_path, folder_ok=True)
        with pytest.raises(InputReadError, match="not a regular file"):
            gate_file(tmp_path)

    @posix_only
    @pytest.mark.parametrize("special", ["fifo", "/dev/zero", "/dev/null"])
    def test_fifo_and_devices_are_refused(self, fifo: Path, special: str) -> None:
        path = fifo if special == "fifo" else Path(special)
        with pytest.raises(InputReadError, match="not a regular file") as error:
            read_small_text(path, "the MTL file", 1000)
        one_line(error)

    @pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
    def test_system_files_are_refused_even_through_a_link(self, tmp_path: Path) -> None:
        link = tmp_path / "LC08_MTL.txt"
        link.symlink_to("/proc/self/environ")
        for path in (Path("/proc/self/environ"), link):
            with pytest.raises(InputReadError, match="system file") as error:
                gate_file(path)
            one_line(error)

    def test_size_is_bounded_before_reading(self, tmp_path: Path) -> None:
        big = tmp_path / "w.json"
        with big.open("wb") as stream:
            stream.truncate(2 << 30)  # sparse: 2 GB that take no disk
        with pytest.raises(InputReadError, match="more than the 1,000") as error:
            read_small_json(big, "the sidecar", 1000)
        one_line(error)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InputNotFoundError, match="does not exist"):
            read_small_text(tmp_path / "gone.txt", "the list", 10)


def vrt(path: Path, source: str, *, raw: bool = False, relative: bool = False) -> Path:
    if raw:
        band = (
            '<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand">'
            f"<SourceFilename>{source}</SourceFilename><ImageOffset>0</ImageOffset>"
            "<PixelOffset>1</PixelOffset><LineOffset>64</LineOffset></VRTRasterBand>"
        )
    else:
        band = (
            '<VRTRasterBand dataType="Float32" band="1"><SimpleSource>'
            f'<SourceFilename relativeToVRT="{int(relative)}">{source}</SourceFilename>'
            "<SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>"
        )
    path.write_text(f'<VRTDataset rasterXSize="64" rasterYSize="8">{band}</VRTDataset>')
    return path


class TestFilesBesideARaster:
    """What GDAL opens beside a raster when it opens it (metadata, masks, overviews)."""

    @posix_only
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("sidecar", ["s.tif.aux.xml", "s.tif.msk", "s.tif.ovr", "s.aux"])
    def test_a_fifo_beside_it_is_refused_before_gdal_opens_it(
        self, tmp_path: Path, sidecar: str
    ) -> None:
        raster = tmp_path / "s.tif"
        shutil.copy(SAMPLE, raster)
        os.mkfifo(tmp_path / sidecar)
        with pytest.raises(InputReadError, match=rf"{sidecar} \(a file GDAL reads beside s.tif"):
            gate_raster(raster)
        with pytest.raises(InputReadError, match="not a regular file") as error:
            open_scene(raster)  # the way every raster of a run is opened: no hang
        one_line(error)

    @posix_only
    def test_other_files_and_names_are_left_alone(self, tmp_path: Path) -> None:
        raster = tmp_path / "s.tif"
        shutil.copy(SAMPLE, raster)
        os.mkfifo(tmp_path / "s2.tif.aux.xml")  # another raster's, not this one's
        (tmp_path / "s.tif.d").mkdir()
        (tmp_path / "s.tif.aux.xml").symlink_to(tmp_path / "gone.xml")  # dangling
        (tmp_path / "s.tfw").write_text("30\n0\n0\n-30\n0\n0\n")
        gate_raster(raster)


class TestVrtSources:
    def test_a_vrt_of_rasters_passes(self, tmp_path: Path) -> None:
        vrt(tmp_path / "inner.vrt", str(SAMPLE))
        gate_raster(vrt(tmp_path / "outer.vrt", "inner.vrt", relative=True))

    def test_raw_band_over_any_file_is_refused(self, tmp_path: Path, secret: Path) -> None:
        path = vrt(tmp_path / "raw.vrt", str(secret), raw=True)
        with pytest.raises(InputReadError, match="raw band") as error:
            inspect_input(path)
        one_line(error)
        # GDAL is told the same (GDAL_VRT_ENABLE_RAWRASTERBAND, honoured from GDAL 3.7).
        assert os.environ["GDAL_VRT_ENABLE_RAWRASTERBAND"] == "NO"

    @pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
    def test_system_file_two_vrts_deep_is_refused(self, tmp_path: Path) -> None:
        vrt(tmp_path / "inner.vrt", "/proc/self/environ")
        outer = vrt(tmp_path / "outer.vrt", "inner.vrt", relative=True)
        with pytest.raises(InputReadError, match="system file") as error:
            open_scene(outer)
        one_line(error)

    def test_fifo_source_is_refused_before_gdal_opens_it(self, tmp_path: Path, fifo: Path) -> None:
        outer = vrt(tmp_path / "fifo_src.vrt", fifo.name, relative=True)
        # Without the gate GDAL waits for a writer forever; with it, one line at once.
        with pytest.raises(InputReadError, match="a source of fifo_src.vrt.*not a regular"):
            detect_clouds(outer, tmp_path / "m.tif")
        assert not (tmp_path / "m.tif").exists()
        assert ReadSet([outer]).find(outer) == outer  # the read set still lists the VRT

    @pytest.mark.parametrize(
        "source", ["/vsicurl/http://x/a.tif", "HDF5:a.h5://b", "<VRTDataset/>"]
    )
    def test_sources_that_are_no_file_are_refused(self, tmp_path: Path, source: str) -> None:
        path = vrt(tmp_path / "v.vrt", source.replace("<", "&lt;"))
        with pytest.raises(InputReadError, match="not a file on disk"):
            gate_raster(path)


class TestFilesFoundThroughTheInput:
    """A product folder's MTL, a sidecar, a list file: the same gate."""

    def product(self, tmp_path: Path) -> Path:
        return product_folder(tmp_path / "p", (2, 3, 4, 5), f"{C1_PRODUCT}_B{{}}.TIF", dn_stack())

    @posix_only
    @pytest.mark.parametrize("target", ["fifo", "/dev/zero"])
    def test_mtl_in_a_folder_that_never_ends(self, tmp_path: Path, target: str) -> None:
        folder = self.product(tmp_path)
        mtl = folder / f"{C1_PRODUCT}_MTL.txt"
        if target == "fifo":
            os.mkfifo(mtl)
        else:
            mtl.symlink_to(target)
        with pytest.raises(InputReadError, match="MTL file.*not a regular file") as error:
            inspect_input(folder)
        one_line(error)

    def test_mtl_linked_to_a_secret_is_never_quoted(self, tmp_path: Path, secret: Path) -> None:
        folder = self.product(tmp_path)
        (folder / f"{C1_PRODUCT}_MTL.txt").symlink_to(secret)
        with pytest.raises(CloudFcnError, match="really a Landsat MTL") as error:
            inspect_input(folder)
        one_line(error)

    def test_an_mtl_too_large_is_refused_unread(self, tmp_path: Path) -> None:
        folder = self.product(tmp_path)
        mtl = folder / f"{C1_PRODUCT}_MTL.txt"
        mtl.write_text(c1_mtl_text())
        with mtl.open("ab") as stream:
            stream.truncate(1 << 30)
        with pytest.raises(InputReadError, match="more than"):
            inspect_input(folder)

    def test_a_sidecar_too_large_is_refused_unread(self, tmp_path: Path) -> None:
        weights = tmp_path / "w.safetensors"
        shutil.copy(RGBN_WEIGHTS, weights)
        with (tmp_path / "w.json").open("wb") as stream:
            stream.truncate(2 << 30)
        with pytest.raises(WeightsError, match="sidecar w.json: .* more than the"):
            load_checkpoint(weights)

    def test_a_list_file_too_large_is_refused_unread(self, tmp_path: Path) -> None:
        listing = tmp_path / "scenes.txt"
        listing.write_text(f"{SAMPLE}\n")
        with listing.open("ab") as stream:
            stream.truncate(1 << 30)
        with pytest.raises(ParameterError, match="more than") as error:
            expand_inputs([listing])
        one_line(error)


class TestPartialSweep:
    def test_an_input_named_like_a_leftover_is_never_swept(self, tmp_path: Path) -> None:
        output = tmp_path / "m.tif"
        named = tmp_path / f".m.tif.partial-999999999@{_HOST}-scene.tif"
        shutil.copy(SAMPLE, named)
        assert remove_partial_outputs([output], ReadSet([named])) == []
        assert named.exists()
        detect_clouds(named, output)  # the run reads it, and never sweeps it first
        assert named.exists() and output.exists()

    def test_a_dead_runs_leftover_is_swept(self, tmp_path: Path) -> None:
        output = tmp_path / "m.tif"
        leftover = tmp_path / f".m.tif.partial-999999999@{_HOST}-abc"
        leftover.write_bytes(np.zeros(4, np.uint8).tobytes())
        assert remove_partial_outputs([output], ReadSet()) == [leftover]
