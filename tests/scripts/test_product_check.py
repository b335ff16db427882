"""scripts/product_check.py: a cross-validation named in the options scores out of fold."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import product_check


@pytest.fixture
def cv(tmp_path):
    """A cross-validation folder as train.py writes it: two folds and the report."""
    (tmp_path / "report.json").write_text(json.dumps({"threshold": 0.27}))
    for k, held in enumerate((["Barren_00"], ["Forest_00", "Water_01"])):
        (tmp_path / f"fold{k}").mkdir()
        (tmp_path / f"fold{k}" / "recipe.json").write_text(json.dumps({"held_out": held}))
    return tmp_path


def test_each_patch_gets_the_fold_that_held_it_out(cv):
    options = product_check.out_of_fold(f"@cv:{cv} --physics on", "Water_01")
    assert options == f"--weights {cv / 'fold1' / 'last.safetensors'} --threshold 0.27 --physics on"


def test_options_without_a_cross_validation_are_left_alone():
    assert product_check.out_of_fold("--model rgbn", "Water_01") == "--model rgbn"


def test_a_patch_no_fold_held_out_stops_the_check(cv):
    with pytest.raises(SystemExit, match="no fold .* holds Urban_00 out"):
        product_check.out_of_fold(f"@cv:{cv}", "Urban_00")
