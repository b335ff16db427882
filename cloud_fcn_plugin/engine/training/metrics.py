"""Cloud mask scores: confusion counts and the ratios remote sensing papers report.

Cloud is the positive class. Every score comes from four counts over the valid
pixels (fill is never counted):

* Jaccard (intersection over union) ``tp / (tp + fp + fn)``
* precision ``tp / (tp + fp)``, recall ``tp / (tp + fn)``
* specificity ``tn / (tn + fp)``, overall accuracy ``(tp + tn) / total``

A ratio whose denominator is zero is defined by whether the image leaves
anything to get wrong, so that a clear scene called clear scores 1 everywhere:

* Jaccard is 1 when there is no cloud in the truth nor in the prediction.
* precision (nothing predicted as cloud) is 1 if the truth has no cloud either
  (no cloud was missed), else 0.
* recall (no cloud in the truth) is 1 if nothing was predicted as cloud, else 0.
* specificity (the truth is all cloud) is 1 if nothing was predicted clear, else 0.
* with no valid pixel at all every score is NaN, and per-scene averages skip it.

"Pooled" scores add the counts of all scenes first (large scenes weigh more);
"per-scene" scores average each scene's ratios (every scene weighs the same,
the way 38-Cloud papers report).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

METRIC_NAMES = ("jaccard", "precision", "recall", "specificity", "overall_accuracy")


@dataclass(frozen=True)
class Confusion:
    """Pixel counts of one comparison of a predicted mask with the truth.

    Attributes:
        tp: cloud predicted as cloud.
        fp: clear predicted as cloud.
        fn: cloud predicted as clear.
        tn: clear predicted as clear.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: Confusion) -> Confusion:
        return Confusion(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def total(self) -> int:
        """Number of valid pixels compared."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def jaccard(self) -> float:
        """Intersection over union of the cloud class."""
        if self.total == 0:
            return math.nan
        return _ratio(self.tp, self.tp + self.fp + self.fn, self.fp + self.fn == 0)

    @property
    def precision(self) -> float:
        """Share of the pixels predicted cloud that are cloud."""
        if self.total == 0:
            return math.nan
        return _ratio(self.tp, self.tp + self.fp, self.fn == 0)

    @property
    def recall(self) -> float:
        """Share of the cloud pixels found (producer's accuracy, sensitivity)."""
        if self.total == 0:
            return math.nan
        return _ratio(self.tp, self.tp + self.fn, self.fp == 0)

    @property
    def specificity(self) -> float:
        """Share of the clear pixels called clear."""
        if self.total == 0:
            return math.nan
        return _ratio(self.tn, self.tn + self.fp, self.fn == 0)

    @property
    def overall_accuracy(self) -> float:
        """Share of all valid pixels classified correctly."""
        if self.total == 0:
            return math.nan
        return (self.tp + self.tn) / self.total

    @property
    def cloud_fraction(self) -> float:
        """Share of the valid pixels that are cloud in the truth."""
        return math.nan if self.total == 0 else (self.tp + self.fn) / self.total

    def scores(self) -> dict[str, float]:
        """Return the five scores keyed by :data:`METRIC_NAMES`."""
        return {name: getattr(self, name) for name in METRIC_NAMES}

    def as_dict(self) -> dict[str, float | int]:
        """Return counts and scores, ready for JSON."""
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, **self.scores()}


def _ratio(numerator: int, denominator: int, nothing_wrong: bool) -> float:
    if denominator == 0:
        return 1.0 if nothing_wrong else 0.0
    return numerator / denominator


def confusion(
    prediction: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None
) -> Confusion:
    """Count agreement of a predicted cloud mask with the truth.

    Args:
        prediction: boolean (or 0/1) predicted cloud mask.
        truth: boolean (or 0/1) true cloud mask of the same shape.
        valid: optional boolean mask of the pixels to count (fill excluded).

    Returns:
        The four counts.
    """
    pred = np.asarray(prediction).astype(bool)
    true = np.asarray(truth).astype(bool)
    if pred.shape != true.shape:
        raise ParameterError(
            f"Prediction shape {pred.shape} differs from ground truth shape {true.shape}: "
            "compare masks of the same scene."
        )
    if valid is not None:
        keep = np.asarray(valid).astype(bool)
        pred, true = pred[keep], true[keep]
    tp = int(np.count_nonzero(pred & true))
    fp = int(np.count_nonzero(pred & ~true))
    fn = int(np.count_nonzero(~pred & true))
    return Confusion(tp=tp, fp=fp, fn=fn, tn=int(pred.size) - tp - fp - fn)


def pooled(confusions: Iterable[Confusion]) -> dict[str, float]:
    """Scores of the summed counts of several scenes."""
    return sum(confusions, Confusion()).scores()


def per_scene_mean(confusions: Iterable[Confusion]) -> dict[str, float]:
    """Scores averaged over scenes, skipping scenes without a valid pixel."""
    rows = [c.scores() for c in confusions if c.total > 0]
    if not rows:
        return dict.fromkeys(METRIC_NAMES, math.nan)
    return {name: float(np.mean([row[name] for row in rows])) for name in METRIC_NAMES}


def summarize(confusions: Sequence[Confusion]) -> dict[str, dict[str, float]]:
    """Pooled and per-scene averaged scores, as the reports print them."""
    return {"pooled": pooled(confusions), "per_scene": per_scene_mean(confusions)}


class ThresholdSweep:
    """Confusion counts at many thresholds from one pass over the probabilities.

    Probabilities are binned into ``bins`` equal steps; the counts at a
    threshold ``t`` on the grid ``k / bins`` are those of the engine's mask
    ``probability > t``, except for probabilities exactly equal to ``t``, which
    count as cloud here (a measure-zero difference for network outputs).
    """

    def __init__(self, bins: int = 1000) -> None:
        """Start an empty accumulator.

        Args:
            bins: number of probability bins (threshold resolution ``1 / bins``).
        """
        self.bins = bins
        self._cloud = np.zeros(bins + 1, dtype=np.int64)
        self._clear = np.zeros(bins + 1, dtype=np.int64)

    def add(
        self, probability: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None
    ) -> None:
        """Accumulate one scene (probabilities in 0..1)."""
        prob = np.asarray(probability, dtype=np.float64)
        true = np.asarray(truth).astype(bool)
        if valid is not None:
            keep = np.asarray(valid).astype(bool)
            prob, true = prob[keep], true[keep]
        # Bin k holds probabilities in [k/bins, (k+1)/bins); 1.0 gets its own bin.
        index = np.clip(np.floor(prob * self.bins), 0, self.bins).astype(np.int64)
        self._cloud += np.bincount(index[true], minlength=self.bins + 1)
        self._clear += np.bincount(index[~true], minlength=self.bins + 1)

    def at(self, threshold: float) -> Confusion:
        """Counts of the mask ``probability > threshold`` (threshold rounded to the grid)."""
        k = int(round(threshold * self.bins))
        tp = int(self._cloud[k:].sum())
        fp = int(self._clear[k:].sum())
        return Confusion(
            tp=tp, fp=fp, fn=int(self._cloud.sum()) - tp, tn=int(self._clear.sum()) - fp
        )

    def table(self, thresholds: Sequence[float]) -> list[tuple[float, Confusion]]:
        """Counts at each of ``thresholds``."""
        return [(float(t), self.at(t)) for t in thresholds]

    def best(
        self, metric: str = "jaccard", low: float = 0.05, high: float = 0.95
    ) -> tuple[float, Confusion]:
        """Threshold in ``[low, high]`` that maximises a pooled score.

        Ties go to the threshold closest to 0.5, so a flat optimum does not drift
        to an extreme that would not generalise.
        """
        if metric not in METRIC_NAMES:
            raise ParameterError(f"Unknown metric {metric!r}: choose one of {METRIC_NAMES}.")
        if self._cloud.sum() + self._clear.sum() == 0:
            raise ParameterError("No valid pixel was scored: calibrate on labelled, valid data.")
        grid = np.arange(round(low * self.bins), round(high * self.bins) + 1) / self.bins
        scored = [(getattr(self.at(t), metric), -abs(t - 0.5), t) for t in grid]
        _, _, best_t = max(scored)
        return float(best_t), self.at(best_t)
