"""Cloud mask scores against hand-computed confusion examples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.training.metrics import (
    Confusion,
    ThresholdSweep,
    confusion,
    per_scene_mean,
    pooled,
    summarize,
)


class TestConfusion:
    def test_counts_and_scores_by_hand(self):
        # pred 1 1 0 0 1 / truth 1 0 1 0 1: tp 2, fp 1, fn 1, tn 1
        c = confusion(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 1, 0, 1]))
        assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 1)
        assert c.jaccard == pytest.approx(2 / 4)
        assert c.precision == pytest.approx(2 / 3)
        assert c.recall == pytest.approx(2 / 3)
        assert c.specificity == pytest.approx(1 / 2)
        assert c.overall_accuracy == pytest.approx(3 / 5)

    def test_valid_mask_excludes_fill(self):
        pred = np.array([[1, 1], [0, 0]], bool)
        truth = np.array([[1, 0], [1, 0]], bool)
        valid = np.array([[True, False], [True, True]])
        c = confusion(pred, truth, valid)
        assert (c.tp, c.fp, c.fn, c.tn) == (1, 0, 1, 1)

    def test_empty_truth_and_empty_prediction_is_perfect(self):
        c = confusion(np.zeros(6), np.zeros(6))
        assert c.scores() == {
            "jaccard": 1.0,
            "precision": 1.0,
            "recall": 1.0,
            "specificity": 1.0,
            "overall_accuracy": 1.0,
        }

    def test_empty_truth_with_false_alarms(self):
        c = confusion(np.array([1, 0, 0, 0]), np.zeros(4))
        assert c.jaccard == 0.0
        assert c.precision == 0.0
        assert c.recall == 0.0  # nothing to find, but something was wrongly found
        assert c.specificity == pytest.approx(3 / 4)
        assert c.overall_accuracy == pytest.approx(3 / 4)

    def test_empty_prediction_misses_cloud(self):
        c = confusion(np.zeros(4), np.array([1, 1, 0, 0]))
        assert c.jaccard == 0.0
        assert c.precision == 0.0  # nothing predicted, cloud was missed
        assert c.recall == 0.0
        assert c.specificity == 1.0
        assert c.overall_accuracy == pytest.approx(1 / 2)

    def test_all_cloud_truth_all_cloud_prediction(self):
        c = confusion(np.ones(3), np.ones(3))
        assert c.specificity == 1.0 and c.jaccard == 1.0 and c.precision == 1.0

    def test_all_cloud_truth_with_misses_has_zero_specificity(self):
        c = confusion(np.array([1, 0, 1]), np.ones(3))
        assert c.specificity == 0.0
        assert c.recall == pytest.approx(2 / 3)

    def test_no_valid_pixel_gives_nan(self):
        c = confusion(np.ones(3), np.ones(3), np.zeros(3, bool))
        assert c.total == 0
        assert all(math.isnan(v) for v in c.scores().values())

    def test_shape_mismatch_raises(self):
        with pytest.raises(ParameterError, match="same scene"):
            confusion(np.ones((2, 2)), np.ones((2, 3)))

    def test_addition_sums_counts(self):
        assert Confusion(1, 2, 3, 4) + Confusion(10, 20, 30, 40) == Confusion(11, 22, 33, 44)


class TestAveraging:
    def test_pooled_and_per_scene_differ_by_weighting(self):
        big = Confusion(tp=90, fp=10, fn=0, tn=0)  # Jaccard 0.9
        small = Confusion(tp=0, fp=0, fn=10, tn=0)  # Jaccard 0
        assert pooled([big, small])["jaccard"] == pytest.approx(90 / 110)
        assert per_scene_mean([big, small])["jaccard"] == pytest.approx(0.45)

    def test_per_scene_mean_skips_scenes_without_pixels(self):
        scene = Confusion(tp=1, fp=1, fn=0, tn=2)
        assert per_scene_mean([scene, Confusion()]) == scene.scores()

    def test_summarize_has_both(self):
        out = summarize([Confusion(1, 0, 0, 1)])
        assert set(out) == {"pooled", "per_scene"}

    def test_per_scene_mean_of_nothing_is_nan(self):
        assert all(math.isnan(v) for v in per_scene_mean([]).values())


class TestThresholdSweep:
    @settings(max_examples=25, deadline=None)
    @given(st.integers(0, 2**31 - 1), st.integers(1, 99))
    def test_matches_direct_counts_on_the_grid(self, seed, k):
        rng = np.random.default_rng(seed)
        # Probabilities in the middle of the 1/1000 bins avoid ties with the grid.
        prob = (rng.integers(0, 1000, size=200) + 0.5) / 1000
        truth = rng.random(200) < 0.4
        valid = rng.random(200) < 0.9
        sweep = ThresholdSweep(bins=1000)
        sweep.add(prob, truth, valid)
        threshold = k / 100
        assert sweep.at(threshold) == confusion(prob > threshold, truth, valid)

    def test_best_finds_the_separating_threshold(self):
        prob = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
        truth = np.array([0, 0, 0, 1, 1, 1], bool)
        sweep = ThresholdSweep(bins=100)
        sweep.add(prob, truth)
        threshold, counts = sweep.best("jaccard")
        assert 0.3 < threshold <= 0.7
        assert counts.jaccard == 1.0
        assert abs(threshold - 0.5) < 0.01  # the flat optimum resolves to the middle

    def test_best_without_pixels_raises(self):
        with pytest.raises(ParameterError, match="valid pixel"):
            ThresholdSweep().best()

    def test_unknown_metric_raises(self):
        sweep = ThresholdSweep()
        sweep.add(np.array([0.5]), np.array([True]))
        with pytest.raises(ParameterError, match="Unknown metric"):
            sweep.best("f1")
