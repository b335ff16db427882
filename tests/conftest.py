"""Shared fixtures: where the real Landsat data lives, and a headless Qt platform."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

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
