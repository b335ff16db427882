"""The evaluation scripts score a network out of fold: each patch by the fold that held it out."""

from __future__ import annotations

import json
from pathlib import Path

from tests.plugin.qgis_subprocess import load_script

FOLDS = [["Barren", "ukis_landsat5"], ["Forest", "Water", "ukis_sentinel2"], ["Urban"]]


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "cv"
    run.mkdir()
    report = {"folds": FOLDS, "threshold": 0.622, "shadow": {"threshold": 0.134}}
    (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return run


def test_physics_eval_takes_the_fold_that_held_the_biome_out(tmp_path: Path) -> None:
    run = _run(tmp_path)
    fold_of = load_script("physics_eval").fold_of
    assert fold_of(run, "Water") == (run / "fold1" / "last.safetensors", 0.622)
    assert fold_of(run, "Urban")[0] == run / "fold2" / "last.safetensors"


def test_shadow_eval_takes_the_fold_and_its_out_of_fold_thresholds(tmp_path: Path) -> None:
    run = _run(tmp_path)
    sixband_for = load_script("shadow_eval").sixband_for
    model, thresholds = sixband_for("sentinel2", f"cv:{run}")  # ukis patches by their name
    assert model == str(run / "fold1" / "last.safetensors")
    assert thresholds == {"threshold": 0.622, "shadow_threshold": 0.134}
    assert sixband_for("Barren", f"cv:{run}")[0] == str(run / "fold0" / "last.safetensors")
    assert sixband_for("Barren", "sixband") == ("sixband", {})  # the bundled model
