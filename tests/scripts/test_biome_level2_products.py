"""scripts/biome_level2_products.py: a Biome patch read back by the engine as a Level-2 product."""

from __future__ import annotations

import sys

import numpy as np
import rasterio

from cloud_fcn_plugin.engine.scene.reader import open_scene
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import biome_level2_products as level2

PATCH = "l8biome_patches/val/Images/Urban_03_0619.tif"


def test_the_engine_reads_the_patch_back_as_surface_reflectance(data_dir, tmp_path):
    (mtl,) = (data_dir / level2.SCENE).glob("*_MTL.txt")
    level2.write_product(data_dir / PATCH, tmp_path, mtl, (0.06, 0.03, 0.02))
    with rasterio.open(data_dir / PATCH) as src:
        patch = src.read()
    folder = tmp_path / "Urban_03_0619"
    assert (tmp_path / "Urban_03_0619.labels.tif").exists()
    assert "SUN_ELEVATION = 90.00000000" in next(folder.glob("*_MTL.txt")).read_text()
    with open_scene(folder, model_bands=(2, 3, 4, 5, 6, 10), surface_temperature=True) as reader:
        assert reader.product == "sr"
        stack, valid = reader.read(0, 0, reader.height, reader.width)
    assert valid.all()
    haze = np.array([0.06, 0.03, 0.02, 0.0, 0.0])[:, None, None]
    # SR = TOA less the haze, within half a DN of the Level-2 scaling (2.75e-5).
    np.testing.assert_allclose(stack[:5], patch[:5] - haze, atol=2e-5)
    np.testing.assert_allclose(stack[5], patch[7], atol=0.002)  # kelvin, ST_B10's scaling
