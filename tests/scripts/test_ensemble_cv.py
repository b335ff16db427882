"""scripts/ensemble_cv.py: each patch by the fold models that never saw it, alone and as one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cloud_fcn_plugin.engine.models.choice import bundled_model_path
from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import biome_level2_products as level2
import ensemble_cv

PATCH = "l8biome_patches/val/Images/Urban_03_0619.tif"


def make_cv(root: Path, model: str, held_out: list[list[str]]) -> Path:
    """A cross-validation folder as train.py writes it, its folds the bundled model."""
    root.mkdir()
    (root / "report.json").write_text(json.dumps({"threshold": 0.3}))
    for k, held in enumerate(held_out):
        (root / f"fold{k}").mkdir()
        (root / f"fold{k}" / "recipe.json").write_text(json.dumps({"held_out": held}))
        (root / f"fold{k}" / "last.safetensors").symlink_to(bundled_model_path(model))
    return root


def test_a_level2_folder_is_scored_alone_and_as_the_ensemble(data_dir, tmp_path):
    (mtl,) = (data_dir / level2.SCENE).glob("*_MTL.txt")
    folders = tmp_path / "level2"
    level2.write_product(data_dir / PATCH, folders, mtl, ())
    six = make_cv(tmp_path / "six", "sixband", [["Urban_03_0619"], ["Water_01"]])
    four = make_cv(tmp_path / "four", "rgbn", [["Barren_00"], ["Urban_03_0619"]])
    work = tmp_path / "work"
    work.mkdir()
    (per_config,) = ensemble_cv.product_rows(folders, [six], [four], work)
    assert set(per_config) == set(ensemble_cv.CONFIGS)
    tp, fp, fn = per_config["ensemble"]["Urban_03_0619"]
    assert tp > 0
    # Cloud where either finds it: never fewer true positives than either model alone.
    assert all(tp >= per_config[c]["Urban_03_0619"][0] for c in ("6-band", "4-band"))
    table = "\n".join(ensemble_cv.product_table("level2", [per_config]))
    assert "| ensemble |" in table and "Patches of the ensemble" in table


def test_a_patch_the_recipe_never_saw_is_scored_by_every_fold(tmp_path):
    four = make_cv(tmp_path / "four", "rgbn", [["Barren_00"], ["Water_01"]])
    folds = ensemble_cv._unseen(four, "ukis_sentinel2")
    assert folds == [(four / f"fold{k}" / "last.safetensors", 0.3) for k in (0, 1)]
    assert ensemble_cv._unseen(four, "Water_01") == [(four / "fold1" / "last.safetensors", 0.3)]
