"""scripts/shadow_eval.py: the 6-band shadow class scored out of fold."""

from __future__ import annotations

import json
from pathlib import Path

from tests.plugin.qgis_subprocess import load_script


def test_each_patch_gets_its_folds_model_and_the_runs_thresholds(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(
        json.dumps({"threshold": 0.622, "shadow": {"threshold": 0.134}})
    )
    for k, held in enumerate((["Barren_00"], ["Forest_00", "ukis_sentinel2"])):
        (tmp_path / f"fold{k}").mkdir()
        (tmp_path / f"fold{k}" / "recipe.json").write_text(json.dumps({"held_out": held}))
    sixband_for = load_script("shadow_eval").sixband_for
    model, thresholds = sixband_for("ukis_sentinel2", f"cv:{tmp_path}")
    assert model == str(tmp_path / "fold1" / "last.safetensors")
    assert thresholds == {"threshold": 0.622, "shadow_threshold": 0.134}
    barren, _ = sixband_for("Barren_00", f"cv:{tmp_path}")
    assert barren == str(tmp_path / "fold0" / "last.safetensors")
    assert sixband_for("Barren_00", "sixband") == ("sixband", {})  # the bundled model
