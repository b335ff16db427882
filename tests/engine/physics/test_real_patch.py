"""The physics on real L8 Biome patches (skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_fcn_plugin.engine.physics import (
    PHYSICS_CLOUD,
    Bands,
    FusionSettings,
    fuse,
    physics_mask,
    scene_statistics,
)

pytestmark = pytest.mark.data
BIOME_ORDER = (2, 3, 4, 5, 6, 7, 9, 10)  # B2-B7, B9 reflectance; B10 kelvin


def read_patch(biome_dir, split: str, name: str) -> tuple[Bands, np.ndarray]:
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(biome_dir / split / "Images" / f"{name}.tif") as src:
        stack = src.read()
    with rasterio.open(biome_dir / split / "Masks" / f"{name}.tif") as src:
        labels = src.read(1)
    return Bands.from_stack(stack, BIOME_ORDER), labels


def test_physics_alone_outlines_the_cloud_of_a_forest_patch(biome_dir):
    bands, labels = read_patch(biome_dir, "val", "Forest_00_1008")
    valid = labels > 0
    mask, _ = physics_mask(bands, scene_statistics(bands, valid), valid)
    cloud, truth = mask == PHYSICS_CLOUD, labels >= 192
    jaccard = (cloud & truth & valid).sum() / ((cloud | truth) & valid).sum()
    assert jaccard > 0.6


def test_thermal_veto_clears_a_snowfield_a_network_might_call_cloud(biome_dir):
    bands, labels = read_patch(biome_dir, "train", "SnowIce_01_0909")
    assert not (labels >= 192).any()  # labelled clear snow and ice
    valid = labels > 0
    stats = scene_statistics(bands, valid)
    prob = np.full(labels.shape, 0.9, np.float32)  # the worst case: all called cloud
    settings = FusionSettings(thermal_offset=-2.0, thermal_width=1.0, thermal_bright_guard=0.3)
    fused = fuse(prob, bands, stats, settings).probability
    assert (fused[valid] > 0.5).mean() < 0.05


def test_thermal_veto_keeps_the_cold_cloud_of_a_cloudy_patch(biome_dir):
    bands, labels = read_patch(biome_dir, "val", "Urban_03_0619")
    valid, truth = labels > 0, labels >= 192
    stats = scene_statistics(bands, valid)
    prob = np.where(truth, 0.9, 0.1).astype(np.float32)
    settings = FusionSettings(thermal_offset=-2.0, thermal_width=1.0, thermal_bright_guard=0.3)
    fused = fuse(prob, bands, stats, settings).probability
    assert (fused[truth & valid] > 0.5).mean() > 0.9
