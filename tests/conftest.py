"""Shared fixtures: where the real Landsat data lives, and a headless Qt platform."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The machine is small and shared: time limits per example would only measure the noise.
settings.register_profile(
    "cloud_fcn", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("cloud_fcn")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The shared data is read in place: GDAL and QGIS must not write .aux.xml files beside it.
os.environ["GDAL_PAM_ENABLED"] = "NO"

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))

SCENES = {
    "toa_120m": "scenes/LC80130312015295LGN00_toa_120m",
    "l1_900m": "scenes/LC08_L1TP_016037_20170813_C1_900m",
    "sr_600m": "scenes/LC08_L2SP_001062_20201031_C2_600m",
    "rgb_30m": "scenes/LC08_L1TP_224078_20200518_C1_30m_rgb",
}


def _require(relative: str) -> Path:
    path = DATA_DIR / relative
    if not path.exists():
        pytest.skip(f"real Landsat data not found at {path} (set CLOUD_FCN_DATA to ../shared/data)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real-data folder; skips the test when it is absent."""
    return _require(".")


@pytest.fixture(scope="session")
def scene_dirs() -> dict[str, Path]:
    """Folders of the whole real scenes, keyed by short names (see ``SCENES``)."""
    return {key: _require(rel) for key, rel in SCENES.items()}


@pytest.fixture(scope="session")
def cloud38_dir() -> Path:
    """The 38-Cloud training sample in the dataset's own layout."""
    return _require("38cloud_sample/38-Cloud_training")


@pytest.fixture(scope="session")
def biome_dir() -> Path:
    """The L8 Biome patches (train/val, Images/Masks)."""
    return _require("l8biome_patches")


BRIGHTNESS_GAIN = 20.0 / 3.0
BRIGHTNESS_BIAS = -6.0


def brightness_probability(reflectance):
    """What the brightness checkpoint predicts: sigmoid(20 * mean(red, green, blue) - 6).

    Args:
        reflectance: array (4, ...) in the order red, green, blue, NIR.
    """
    import numpy as np

    logit = BRIGHTNESS_GAIN * reflectance[:3].sum(axis=0) + BRIGHTNESS_BIAS
    return 1.0 / (1.0 + np.exp(-logit))


def save_brightness_checkpoint(path: Path, tile_size: int = 64, overlap: int = 8) -> Path:
    """Save a ``pixel_linear`` checkpoint whose output is known by arithmetic.

    It calls pixels whose mean visible reflectance exceeds 0.3 cloud: a crude but
    real brightness test, deterministic and translation-equivariant.
    """
    import torch

    from cloud_fcn_plugin.engine.models import build_model
    from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
    from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint

    model = build_model("pixel_linear")
    conv = next(module for module in model.modules() if isinstance(module, torch.nn.Conv2d))
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([BRIGHTNESS_GAIN] * 3 + [0.0]).view(1, 4, 1, 1))
        conv.bias.fill_(BRIGHTNESS_BIAS)
    metadata = CheckpointMetadata(
        architecture="pixel_linear",
        arch_args={"in_channels": 4},
        mean=(0.0, 0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0, 1.0),
        threshold=0.5,
        tile_size=tile_size,
        overlap=overlap,
        provenance={"note": "hand-set brightness test for the test suite"},
    )
    save_checkpoint(path, model, metadata)
    return path


@pytest.fixture(scope="session")
def brightness_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny deterministic checkpoint (see ``save_brightness_checkpoint``)."""
    folder = tmp_path_factory.mktemp("weights")
    return save_brightness_checkpoint(folder / "brightness.safetensors")


def write_geotiff(
    path: Path,
    bands,
    *,
    nodata=None,
    crs: str = "EPSG:32618",
    origin: tuple[float, float] = (600000.0, 4500000.0),
    pixel: float = 30.0,
    descriptions=None,
) -> Path:
    """Write a small georeferenced multi-band GeoTIFF for tests."""
    import rasterio
    from rasterio.transform import from_origin

    count, height, width = bands.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=bands.dtype,
        crs=crs,
        transform=from_origin(*origin, pixel, pixel),
        nodata=nodata,
    ) as dst:
        dst.write(bands)
        for index, text in enumerate(descriptions or (), 1):
            dst.set_band_description(index, text)
    return path


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 1 MB tmpfs mounted in ``tmp_path``: a disk that fills up (root only)."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("mounting a 1 MB tmpfs to fill a disk needs root")
    folder = tmp_path / "tiny_disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def float32_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the CPU models in float32 torch, for tests that hold a result to its arithmetic.

    ``auto`` runs bfloat16 on CPUs with AMX (held to float32 within its own tolerance in
    tests/engine/models/test_onnx_backend.py).
    """
    monkeypatch.setenv("CLOUD_FCN_CPU_BACKEND", "torch")
