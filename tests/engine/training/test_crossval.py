"""Grouped cross-validation: groups, folds, the out-of-fold threshold and the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.training.crossval import (
    OutOfFold,
    average_out_of_fold,
    choose_threshold,
    cv_report,
    load_out_of_fold,
    make_folds,
    patch_group,
    report_markdown,
    save_out_of_fold,
)
from cloud_fcn_plugin.engine.training.datasets import PatchSpec, biome_patches, cloud38_patches


def _spec(name: str, dataset: str = "biome") -> PatchSpec:
    return PatchSpec(name=name, image=Path(f"{name}.tif"), dataset=dataset)


def _oof(name: str, group: str, fold: int, probability, truth, gain: float = 1.0) -> OutOfFold:
    probability = np.asarray(probability, np.float32).reshape(1, -1)
    truth = np.asarray(truth, bool).reshape(1, -1)
    return OutOfFold(name, group, fold, gain, probability, truth, np.ones_like(truth))


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


class TestScoring:
    def test_threshold_maximises_pooled_out_of_fold_jaccard(self):
        # Cloud has probability 0.6 or more and clear 0.4 or less: any cut between is perfect.
        results = [
            _oof("a", "A", 0, [0.9, 0.6, 0.4, 0.1], [1, 1, 0, 0]),
            _oof("b", "B", 1, [0.7, 0.3], [1, 0]),
        ]
        assert 0.4 <= choose_threshold(results) < 0.6

    def test_report_tables_pool_folds_and_groups(self):
        results = [
            _oof("a", "A", 0, [0.9, 0.2], [1, 1]),  # one cloud pixel missed at any cut > 0.2
            _oof("b", "B", 1, [0.9, 0.1], [1, 0]),
            _oof("b", "B", 1, [0.1, 0.1], [1, 0], gain=0.75),  # darker: cloud missed
        ]
        report = cv_report(results, [["A"], ["B"]])
        at_half = report["at_0.5"]
        assert at_half["pooled"]["patches"] == 2  # the darker copy is not pooled with these
        assert at_half["pooled"]["jaccard"] == pytest.approx(2 / 3)
        assert at_half["by_fold"]["1"]["jaccard"] == 1.0
        assert at_half["by_group"]["A"]["recall"] == 0.5
        assert at_half["pooled_at_gain"]["0.75"]["recall"] == 0.0
        text = report_markdown(report)
        assert "| all, pooled | 2 | 66.7 |" in text and "at gain 0.75" in text

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


class TestEnsemble:
    def test_seeds_averaged_patch_by_patch_on_the_patches_all_predicted(self):
        seed0 = [_oof("a", "A", 0, [0.2, 0.8], [0, 1]), _oof("b", "B", 1, [0.4, 0.4], [0, 1])]
        seed1 = [_oof("b", "B", 1, [0.6, 0.8], [0, 1]), _oof("a", "A", 0, [0.4, 0.6], [0, 1])]
        seed1.append(_oof("t", "teacher_x", 1, [0.5, 0.5], [0, 1]))  # only one run has it
        averaged = {r.name: r for r in average_out_of_fold([seed0, seed1])}
        assert sorted(averaged) == ["a", "b"]
        np.testing.assert_allclose(averaged["a"].probability, [[0.3, 0.7]])
        np.testing.assert_allclose(averaged["b"].probability, [[0.5, 0.6]])
        assert averaged["b"].fold == 1 and averaged["b"].group == "B"

    def test_runs_with_other_folds_are_refused(self):
        seed0 = [_oof("a", "A", 0, [0.2, 0.8], [0, 1])]
        other = [_oof("a", "A", 1, [0.4, 0.6], [0, 1])]
        with pytest.raises(ParameterError, match="different folds"):
            average_out_of_fold([seed0, other])
        with pytest.raises(ParameterError, match="share no patch"):
            average_out_of_fold([seed0, [_oof("z", "Z", 0, [0.1, 0.1], [0, 1])]])
