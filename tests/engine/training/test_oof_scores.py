"""Scoring out-of-fold predictions: the threshold, the report's tables, ensembles of runs."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.training.oof_scores import (
    OutOfFold,
    average_out_of_fold,
    choose_threshold,
    cv_report,
    report_markdown,
)


def _oof(name: str, group: str, fold: int, probability, truth, gain: float = 1.0) -> OutOfFold:
    probability = np.asarray(probability, np.float32).reshape(1, -1)
    truth = np.asarray(truth, bool).reshape(1, -1)
    return OutOfFold(name, group, fold, gain, probability, truth, np.ones_like(truth))


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
