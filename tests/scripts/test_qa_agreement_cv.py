"""scripts/qa_agreement_cv.py: each scene by the folds that never saw it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import qa_agreement_cv


def make_cv(root: Path, held_out: list[list[str]]) -> Path:
    """A cross-validation folder as train.py writes it."""
    (root / "report.json").write_text(json.dumps({"threshold": 0.3}))
    for k, held in enumerate(held_out):
        (root / f"fold{k}").mkdir()
        (root / f"fold{k}" / "recipe.json").write_text(json.dumps({"held_out": held}))
        (root / f"fold{k}" / "last.safetensors").write_bytes(b"")
    return root


def test_a_scene_the_recipe_trained_on_gets_the_fold_that_held_it_out(tmp_path):
    cv = make_cv(tmp_path, [["Barren_00"], ["teacher_LC08_L2SP_005009", "Water_01"]])
    (params,) = qa_agreement_cv.fold_params(cv, Path("scenes/LC08_L2SP_005009"))
    assert (params.weights, params.threshold) == (cv / "fold1" / "last.safetensors", 0.3)
    assert (params.physics, params.shadow) == ("on", "network")


def test_a_scene_the_recipe_never_saw_gets_every_fold(tmp_path):
    cv = make_cv(tmp_path, [["Barren_00"], ["Water_01"]])
    params = qa_agreement_cv.fold_params(cv, Path("scenes/LC08_L2SP_017036"))
    assert [p.weights for p in params] == [cv / f"fold{k}" / "last.safetensors" for k in (0, 1)]
    assert all(p.threshold == 0.3 for p in params)
