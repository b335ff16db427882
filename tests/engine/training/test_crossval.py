"""Grouped cross-validation: groups, folds, the stored out-of-fold predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import InputNotFoundError, ParameterError
from cloud_fcn_plugin.engine.training.crossval import (
    FoldModel,
    fold_model,
    load_out_of_fold,
    make_folds,
    patch_group,
    save_out_of_fold,
    unseen_fold_models,
)
from cloud_fcn_plugin.engine.training.datasets import PatchSpec, biome_patches, cloud38_patches
from cloud_fcn_plugin.engine.training.oof_scores import OutOfFold


def _spec(name: str, dataset: str = "biome") -> PatchSpec:
    return PatchSpec(name=name, image=Path(f"{name}.tif"), dataset=dataset)


class TestGroups:
    def test_biome_patches_group_by_biome(self):
        assert patch_group(_spec("GrassCrops_02_0608")) == "GrassCrops"
        assert patch_group(_spec("SnowIce_11_1123")) == "SnowIce"

    def test_38cloud_patches_group_by_scene(self):
        name = "patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1"
        assert patch_group(_spec(name, "38cloud")) == (
            "38-Cloud LC08_L1TP_002053_20160520_20170324_01_T1"
        )

    def test_other_patches_are_their_own_group(self):
        assert patch_group(_spec("my_patch", "pairs")) == "my_patch"

    def test_the_shared_data_gives_eight_biomes_and_one_scene(self, biome_dir, cloud38_dir):
        specs = biome_patches(biome_dir / "train") + biome_patches(biome_dir / "val")
        specs += cloud38_patches(cloud38_dir)
        groups = {patch_group(s) for s in specs}
        assert len(specs) == 32 and len(groups) == 9


class TestFolds:
    SPECS = (
        [_spec(f"Barren_0{i}_0001") for i in range(5)]
        + [_spec(f"Forest_0{i}_0001") for i in range(3)]
        + [_spec(f"Water_0{i}_0001") for i in range(2)]
        + [_spec("Urban_00_0001")]
    )

    def test_no_group_is_split_and_every_group_is_held_out_once(self):
        folds = make_folds(self.SPECS, 3)
        held = [g for fold in folds for g in fold]
        assert sorted(held) == ["Barren", "Forest", "Urban", "Water"]

    def test_folds_balance_patch_counts_deterministically(self):
        assert make_folds(self.SPECS, 2) == [["Barren", "Urban"], ["Forest", "Water"]]
        assert make_folds(self.SPECS, 2) == make_folds(list(reversed(self.SPECS)), 2)

    @pytest.mark.parametrize("folds", [1, 5])
    def test_impossible_fold_counts_are_refused(self, folds):
        with pytest.raises(ParameterError, match="between 2 and the number of groups"):
            make_folds(self.SPECS, folds)


def _oof(name: str, group: str, fold: int, probability, truth, gain: float = 1.0) -> OutOfFold:
    probability = np.asarray(probability, np.float32).reshape(1, -1)
    truth = np.asarray(truth, bool).reshape(1, -1)
    return OutOfFold(name, group, fold, gain, probability, truth, np.ones_like(truth))


class TestStoredPredictions:
    def test_out_of_fold_predictions_round_trip(self, tmp_path):
        results = [
            _oof("a", "A", 0, [0.25, 0.75], [0, 1]),
            _oof("a", "A", 0, [0.5, 0.5], [0, 1], 0.75),
        ]
        path = tmp_path / "oof.npz"
        save_out_of_fold(path, results)
        loaded = load_out_of_fold(path)
        assert [(r.name, r.group, r.fold, r.gain) for r in loaded] == [
            ("a", "A", 0, 1.0),
            ("a", "A", 0, 0.75),
        ]
        np.testing.assert_array_equal(loaded[0].probability, results[0].probability)
        np.testing.assert_array_equal(loaded[0].truth, results[0].truth)
        assert not list(tmp_path.glob("*.partial*"))


class TestFoldModel:
    def _run(self, root: Path, report: dict) -> Path:
        (root / "report.json").write_text(json.dumps(report))
        for k, held in enumerate((["Barren_00"], ["Forest_00", "ukis_sentinel2"])):
            (root / f"fold{k}").mkdir()
            (root / f"fold{k}" / "recipe.json").write_text(json.dumps({"held_out": held}))
        return root

    def test_the_fold_that_held_the_patch_out_at_the_runs_thresholds(self, tmp_path):
        root = self._run(tmp_path, {"threshold": 0.622, "shadow": {"threshold": 0.134}})
        assert fold_model(root, "ukis_sentinel2") == FoldModel(
            root / "fold1" / "last.safetensors", 0.622, 0.134
        )
        assert fold_model(root, "Barren_00").checkpoint == root / "fold0" / "last.safetensors"

    def test_a_cloud_only_run_has_no_shadow_threshold(self, tmp_path):
        root = self._run(tmp_path, {"threshold": 0.3})
        assert fold_model(root, "Forest_00").shadow_threshold is None

    def test_a_patch_no_fold_held_out_or_an_unfinished_run_is_refused(self, tmp_path):
        root = self._run(tmp_path, {"threshold": 0.3})
        with pytest.raises(InputNotFoundError, match="no fold .* holds Urban_00 out"):
            fold_model(root, "Urban_00")
        with pytest.raises(InputNotFoundError, match="no report.json"):
            fold_model(tmp_path / "fold0", "Barren_00")

    def test_a_patch_the_recipe_never_saw_gets_every_fold(self, tmp_path):
        root = self._run(tmp_path, {"threshold": 0.3})
        for k in (0, 1):
            (root / f"fold{k}" / "last.safetensors").write_bytes(b"")
        unseen = unseen_fold_models(root, "teacher_LC08_L2SP_017036")
        assert unseen == [FoldModel(root / f"fold{k}" / "last.safetensors", 0.3) for k in (0, 1)]
        assert unseen_fold_models(root, "Forest_00") == [fold_model(root, "Forest_00")]
        with pytest.raises(InputNotFoundError, match="no report.json"):
            unseen_fold_models(tmp_path / "fold0", "Barren_00")
