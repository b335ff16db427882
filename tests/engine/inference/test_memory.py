"""Memory a run needs: activations simulated on the meta device, strips by their width."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from cloud_fcn_plugin.engine.errors import OutOfMemoryError
from cloud_fcn_plugin.engine.inference import memory
from cloud_fcn_plugin.engine.inference.memory import StripLayout, activation_bytes, fit_tile_size
from tests.conftest import REPO_ROOT

GB = 1024**3
SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"
UNET_W4 = {"architecture": "unet", "arch_args": {"width": 4.0, "in_channels": 4}}
NARROW = StripLayout(width=2100, height=2100, bands=4, itemsize=2)


class TestActivations:
    def test_the_wide_unet_at_2048_needs_gigabytes_without_allocating_them(self) -> None:
        needed = activation_bytes(tile=2048, **UNET_W4)
        # Measured: 0.58 GB resident at 512 px, so about 9 GB at 2048 px (audit H6: 9.0 GB).
        assert 7 * GB < needed < 12 * GB

    def test_activations_grow_with_the_tile_area(self) -> None:
        small, large = (activation_bytes("cloudfcn_lite", {"width": 1.0}, t) for t in (256, 512))
        assert 3.5 < large / small < 4.5

    def test_a_model_the_registry_cannot_build_is_not_estimated(self) -> None:
        assert activation_bytes("onnx", {}, 512) is None


class TestFitTileSize:
    def test_a_tile_that_fits_is_kept(self) -> None:
        assert fit_tile_size(512, 16, NARROW, concurrent_tiles=2, budget=8 * GB, **UNET_W4) == 512

    def test_an_in_bounds_checkpoint_gets_a_smaller_tile_with_a_note(self) -> None:
        notes: list[str] = []
        size = fit_tile_size(
            2048, 16, NARROW, concurrent_tiles=2, budget=8 * GB, log=notes.append, **UNET_W4
        )
        assert 256 <= size < 2048 and size % 32 == 0
        assert 2 * 1.6 * activation_bytes(tile=size, **UNET_W4) < 8 * GB
        (note,) = notes
        assert note.startswith(f"Tile size lowered from 2048 to {size} px")
        assert "--tile-size" in note

    def test_a_batch_never_lowers_the_tile_for_free_memory(self) -> None:
        """N-H7: masks of one batch followed each worker's momentary free memory."""
        need = 2 * 1.6 * activation_bytes(tile=512, **UNET_W4) + NARROW.strip_bytes(512)
        between = int(need * 0.9)  # lowered outside a batch (75 % share), fits what is free
        assert fit_tile_size(512, 16, NARROW, concurrent_tiles=2, budget=between, **UNET_W4) < 512
        with memory.tile_from_parameters():
            kept = fit_tile_size(512, 16, NARROW, concurrent_tiles=2, budget=between, **UNET_W4)
            assert kept == 512
            with pytest.raises(OutOfMemoryError, match="does not lower the tile size"):
                fit_tile_size(2048, 16, NARROW, concurrent_tiles=2, budget=8 * GB, **UNET_W4)

    def test_a_model_too_big_for_any_tile_is_one_line(self) -> None:
        with pytest.raises(OutOfMemoryError, match="This model needs about .* smaller model"):
            fit_tile_size(512, 16, NARROW, concurrent_tiles=2, budget=GB // 100, **UNET_W4)

    def test_a_raster_too_wide_for_any_strip_is_one_line(self) -> None:
        wide = StripLayout(width=2_000_000, height=512, bands=4, itemsize=4)
        with pytest.raises(OutOfMemoryError, match="too wide.*2,000,000 px.*gdal_translate"):
            fit_tile_size(
                512, 16, wide, concurrent_tiles=2, budget=2 * GB,
                architecture="pixel_linear", arch_args={"in_channels": 4},
            )  # fmt: skip

    def test_strips_of_a_wide_raster_lower_the_tile(self) -> None:
        wide = StripLayout(width=200_000, height=200_000, bands=4, itemsize=4)
        size = fit_tile_size(
            512, 16, wide, concurrent_tiles=2, budget=4 * GB,
            architecture="cloudfcn_lite", arch_args={"width": 1.0, "in_channels": 4},
        )  # fmt: skip
        assert size < 512 and wide.strip_bytes(size) < 4 * GB

    def test_the_address_space_limit_counts(self, monkeypatch) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        import psutil

        used = psutil.Process().memory_info().vms
        resource.setrlimit(resource.RLIMIT_AS, (used + 2 * GB, hard))
        try:
            assert memory.available_bytes() <= 2 * GB
        finally:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limited(gigabytes: int):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (gigabytes * GB, gigabytes * GB))

    return limit


@pytest.mark.slow
class TestCommandLine:
    """H5 as the audit ran it: ``ulimit -v 8000000`` and a 2,000,000 px wide VRT."""

    def test_a_too_wide_raster_is_refused_before_reading(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        w, h = 508, 458
        source = "".join(
            f'<VRTRasterBand dataType="Float32" band="{b}"><NoDataValue>0</NoDataValue>'
            f'<SimpleSource><SourceFilename relativeToVRT="0">{SAMPLE}</SourceFilename>'
            f'<SourceBand>{b}</SourceBand><SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/></SimpleSource></VRTRasterBand>'
            for b in range(1, 5)
        )
        vrt = tmp_path / "wide2m.vrt"
        vrt.write_text(
            f'<VRTDataset rasterXSize="2000000" rasterYSize="512"><SRS>EPSG:32618</SRS>'
            f"<GeoTransform>696345,120,0,4563375,0,-120</GeoTransform>{source}</VRTDataset>"
        )
        command = [sys.executable, str(REPO_ROOT / "scripts" / "detect.py"), str(vrt), "-o",
                   str(tmp_path / "w.tif"), "--weights", str(brightness_weights), "--product",
                   "toa"]  # fmt: skip
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=600, preexec_fn=_limited(8)
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "too wide" in errors[0], result.stderr
        assert not (tmp_path / "w.tif").exists()


OUT_OF_MEMORY_FORWARD = """
import resource, sys
sys.path.insert(0, sys.argv[1])
import numpy as np, psutil
from cloud_fcn_plugin.engine.errors import CloudFcnError
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.inference.predictor import Predictor
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata

model = build_model("cloudfcn_lite", width=1.0, in_channels=4)
predictor = Predictor(model, CheckpointMetadata("cloudfcn_lite", dict(model.arch_args)),
                      device="cpu", batch_size=1, cpu_workers=1)
tiles = np.zeros((1, 4, 2048, 2048), np.float32)
used = psutil.Process().memory_info().vms
resource.setrlimit(resource.RLIMIT_AS, (used + 400 * 2**20, resource.RLIM_INFINITY))
try:
    predictor.predict_tiles(tiles)
except CloudFcnError as exc:
    print(type(exc).__name__, isinstance(exc, MemoryError), exc)
"""


class TestOutOfMemory:
    def test_the_cpu_allocator_failing_is_one_line(self) -> None:
        # A real allocation failure: the forward pass under a 400 MB address-space margin.
        result = subprocess.run(
            [sys.executable, "-c", OUT_OF_MEMORY_FORWARD, str(REPO_ROOT)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.stdout.startswith("OutOfMemoryError True Out of memory predicting 1 tile"), (
            result.stdout + result.stderr
        )
        assert "--tile-size" in result.stdout and "Traceback" not in result.stderr
