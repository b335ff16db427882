"""Scoring stored out-of-fold predictions: the threshold, the report's tables, ensembles.

:mod:`.crossval` makes the predictions (and the peers' comparison its own); this module
only scores them: the decision threshold that maximises the pooled Jaccard of every
out-of-fold prediction together, every figure (pooled, per fold, per group, per patch)
at that threshold and at 0.5, and the average of several cross-validations run on the
same folds (an ensemble of seeds, still out of fold).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import ParameterError
from .metrics import Confusion, ThresholdSweep, confusion

#: An L8 Biome patch's name (``Barren_00_0214``): its biome is the group.
BIOME_NAME = re.compile(r"^([A-Za-z]+)_\d+_\d+$")
#: Name prefix of patches labelled by a teacher model (``scripts/prepare_training_data.py``):
#: they are trained on and predicted out of fold, but never score or calibrate the model.
TEACHER_PREFIX = "teacher_"


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold predictions of one patch.

    Attributes:
        name: patch name.
        group: its group (see :func:`~.crossval.patch_group`).
        fold: the fold that held it out.
        gain: brightness gain the patch was predicted at (1.0 = as delivered).
        probability: float32 (H, W) cloud probability.
        truth: bool (H, W) cloud label.
        valid: bool (H, W) labelled, non-fill pixels.
        shadow: float32 (H, W) cloud-shadow probability of a multi-class model, else None.
        shadow_truth: bool (H, W) shadow label (with ``shadow``).
        shadow_valid: bool (H, W) where the patch's source labels shadow (with ``shadow``).
    """

    name: str
    group: str
    fold: int
    gain: float
    probability: np.ndarray
    truth: np.ndarray
    valid: np.ndarray
    shadow: np.ndarray | None = None
    shadow_truth: np.ndarray | None = None
    shadow_valid: np.ndarray | None = None

    def shadow_part(self) -> OutOfFold | None:
        """The same patch scored for shadow (probability, truth, validity), if predicted."""
        if self.shadow is None:
            return None
        return replace(
            self, probability=self.shadow, truth=self.shadow_truth, valid=self.shadow_valid,
            shadow=None,
        )


def choose_threshold(results: Sequence[OutOfFold]) -> float:
    """The threshold that maximises the pooled Jaccard of all out-of-fold predictions."""
    sweep = ThresholdSweep()
    for item in results:
        sweep.add(item.probability, item.truth, item.valid)
    threshold, _ = sweep.best("jaccard")
    return float(threshold)


def _scores(results: Sequence[OutOfFold], threshold: float) -> dict[str, Any]:
    total = sum(
        (confusion(r.probability > threshold, r.truth, r.valid) for r in results), Confusion()
    )
    return {"patches": len(results), **total.as_dict()}


def cv_report(
    everything: Sequence[OutOfFold], folds: Sequence[Sequence[str]], fixed: float | None = None
) -> dict[str, Any]:
    """Pooled, per-fold and per-group scores at the out-of-fold threshold and at 0.5.

    The threshold is chosen on the patches as delivered (gain 1); the other gains
    are reported pooled, as a measure of robustness to brightness. ``fixed`` adds
    the same tables at that threshold (``at_fixed``).
    """
    everything = [r for r in everything if not r.name.startswith(TEACHER_PREFIX)]
    results = [r for r in everything if r.gain == 1.0]
    other_gains = sorted({r.gain for r in everything} - {1.0}, reverse=True)
    threshold = choose_threshold(results)
    report: dict[str, Any] = {
        "protocol": (
            f"{len(folds)}-fold cross-validation grouped by biome/scene; last checkpoint of "
            "each fold; threshold chosen on the pooled out-of-fold predictions"
        ),
        "folds": [list(f) for f in folds],
        "threshold": round(threshold, 4),
    }
    biome = [r for r in results if BIOME_NAME.match(r.name)]
    cuts = [("oof", threshold), ("0.5", 0.5)] + ([("fixed", fixed)] if fixed is not None else [])
    if fixed is not None:
        report["fixed_threshold"] = fixed
    for key, value in cuts:
        report[f"at_{key}"] = {
            "pooled": _scores(results, value),
            "pooled_biome": _scores(biome, value) if biome else None,
            "pooled_at_gain": {
                str(g): _scores([r for r in everything if r.gain == g], value) for g in other_gains
            },
            "by_fold": {
                str(k): _scores([r for r in results if r.fold == k], value)
                for k in sorted({r.fold for r in results})
            },
            "by_group": {
                g: _scores([r for r in results if r.group == g], value)
                for g in sorted({r.group for r in results})
            },
            "by_patch": {
                r.name: _scores([r], value) for r in sorted(results, key=lambda r: r.name)
            },
        }
    shadows = [part for r in results if (part := r.shadow_part()) is not None]
    if shadows:
        report["shadow"] = _shadow_report(shadows)
    return report


def _shadow_report(shadows: list[OutOfFold]) -> dict[str, Any]:
    """Shadow scores at the shadow threshold chosen on the pooled out-of-fold shadow."""
    threshold = choose_threshold(shadows)
    biome = [r for r in shadows if BIOME_NAME.match(r.name)]
    return {
        "threshold": round(threshold, 4),
        "pooled": _scores(shadows, threshold),
        "pooled_biome": _scores(biome, threshold) if biome else None,
        "by_group": {
            g: _scores([r for r in shadows if r.group == g], threshold)
            for g in sorted({r.group for r in shadows})
        },
    }


def _row(name: str, scores: dict[str, Any] | None) -> str:
    if not scores:
        return f"| {name} | - | - | - | - | - |"
    cells = [
        "-" if scores[k] is None or math.isnan(scores[k]) else f"{100 * scores[k]:.1f}"
        for k in ("jaccard", "precision", "recall", "overall_accuracy")
    ]
    return f"| {name} | {scores['patches']} | " + " | ".join(cells) + " |"


def report_markdown(report: dict[str, Any]) -> str:
    """The report's tables as Markdown."""
    lines = [f"Protocol: {report['protocol']}.", ""]
    titles = {"oof": f"threshold {report['threshold']:.3f} (out of fold)", "0.5": "threshold 0.5"}
    if "fixed_threshold" in report:
        titles["fixed"] = f"threshold {report['fixed_threshold']:.3f} (given)"
    for key, title in titles.items():
        block = report[f"at_{key}"]
        rows = [
            _row("all, pooled", block["pooled"]),
            _row("L8 Biome, pooled", block["pooled_biome"]),
        ]
        rows += [_row(f"all, pooled, at gain {g}", v) for g, v in block["pooled_at_gain"].items()]
        rows += [_row(f"fold {k}", v) for k, v in block["by_fold"].items()]
        rows += [_row(g, v) for g, v in block["by_group"].items()]
        lines += _table(f"At {title}", rows)
    shadow = report.get("shadow")
    if shadow:
        rows = [
            _row("shadow-labelled, pooled", shadow["pooled"]),
            _row("L8 Biome, pooled", shadow["pooled_biome"]),
        ]
        rows += [_row(g, v) for g, v in shadow["by_group"].items()]
        lines += _table(f"Cloud shadow, at threshold {shadow['threshold']:.3f} (out of fold)", rows)
    return "\n".join(lines)


def _table(title: str, rows: list[str]) -> list[str]:
    """A titled table of scores per subset, and the blank line after it."""
    header = "| subset | patches | Jaccard | precision | recall | OA |"
    return [f"### {title}", "", header, "|---|---|---|---|---|---|", *rows, ""]


def average_out_of_fold(runs: Sequence[Sequence[OutOfFold]]) -> list[OutOfFold]:
    """An ensemble of cross-validations: each patch's probabilities averaged over ``runs``.

    The runs must have predicted the same patches, at the same gains, in the same folds
    (the same recipe with other seeds, or recipes that add groups of their own: only the
    patches every run predicted are kept), so that every average is out of fold.

    Raises:
        ParameterError: no patch is common to the runs, or a patch was held out by
            different folds in different runs.
    """
    keyed = [{(r.name, r.gain): r for r in run} for run in runs]
    common = [key for key in keyed[0] if all(key in other for other in keyed[1:])]
    if not common:
        raise ParameterError("These cross-validations share no patch: nothing to average.")
    averaged = []
    for key in common:
        members = [run[key] for run in keyed]
        if len({m.fold for m in members}) > 1:
            raise ParameterError(
                f"{key[0]} is held out by different folds in these cross-validations: "
                "an average would not be out of fold. Average runs with the same folds."
            )
        shadows = [m.shadow for m in members]
        shadow = None if any(s is None for s in shadows) else np.mean(shadows, axis=0)
        averaged.append(
            replace(
                members[0],
                probability=np.mean([m.probability for m in members], axis=0),
                shadow=shadow,
            )
        )
    return averaged
