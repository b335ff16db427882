"""Score a checkpoint on a labelled dataset with the engine's own tiled inference.

Per-patch layouts (L8 Biome, 38-Cloud training, image+mask pairs) are scored
patch by patch. The 38-Cloud test layout follows the dataset's protocol: the
patch predictions are placed back on their scene grid from the patch names, the
padding is removed, and each whole scene is compared with
``Entire_scene_gts/edited_corrected_gts_<scene id>.TIF``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputReadError
from ..files.gdal_read import open_raster
from ..inference.predictor import Predictor
from ..inference.whole_scene import predict_scene
from .datasets import PatchSpec, assemble_scene, cloud38_scene_truth, group_by_scene, read_band
from .metrics import Confusion, ThresholdSweep, confusion, summarize

Log = Callable[[str], None]
PREVIEW_STEP = 8  # 38-Cloud scenes are previewed at 1/8 resolution in overlays
SWEEP_THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))


@dataclass
class Unit:
    """One scored unit (a patch or a whole scene) and what its overlay needs.

    Attributes:
        name: patch or scene name.
        confusion: counts at the evaluation threshold.
        probability: cloud probability (kept only for overlays).
        truth: true cloud mask (kept only for overlays).
        valid: pixels scored (kept only for overlays).
        spec: the patch, to re-read its image for an overlay.
        rgb: a small true-colour preview (whole scenes).
    """

    name: str
    confusion: Confusion
    probability: np.ndarray | None = None
    truth: np.ndarray | None = None
    valid: np.ndarray | None = None
    spec: PatchSpec | None = None
    rgb: np.ndarray | None = None

    @property
    def error_rate(self) -> float:
        """Share of scored pixels that are wrong (ranks the worst units)."""
        c = self.confusion
        return (c.fp + c.fn) / c.total if c.total else 0.0


@dataclass
class Evaluation:
    """All units of a dataset, the threshold used and the probability sweep."""

    threshold: float
    units: list[Unit] = field(default_factory=list)
    sweep: ThresholdSweep = field(default_factory=ThresholdSweep)
    unit_kind: str = "patch"

    def summary(self) -> dict[str, dict[str, float]]:
        """Pooled and per-unit averaged scores."""
        return summarize([u.confusion for u in self.units])

    def worst(self, count: int) -> list[Unit]:
        """The ``count`` units with the highest error rate."""
        return sorted(self.units, key=lambda u: u.error_rate, reverse=True)[:count]

    def add(self, unit: Unit, keep_worst: int) -> None:
        """Append a unit, keeping the arrays of the ``keep_worst`` worst units only."""
        self.units.append(unit)
        kept = [u for u in self.units if u.probability is not None]
        if len(kept) > keep_worst:
            best = min(kept, key=lambda u: u.error_rate)
            best.probability = best.truth = best.valid = best.rgb = None


def check_pairs(specs: Sequence[PatchSpec]) -> None:
    """Check from the file headers that every mask has its image's size, before any work.

    Raises:
        InputReadError: a mask and its image differ in size, or one cannot be opened.
    """
    for spec in specs:
        image = spec.image if spec.image is not None else (spec.band_files or (None,))[0]
        if spec.mask is None or image is None:
            continue
        mask_size, image_size = raster_size(spec.mask), raster_size(image)
        if mask_size != image_size:
            raise InputReadError(
                f"Mask {spec.mask} is {mask_size[0]}x{mask_size[1]} but its image is "
                f"{image_size[0]}x{image_size[1]}: pair each image with its own mask."
            )


def raster_size(path: Path) -> tuple[int, int]:
    """Width and height of a raster, from its header only (opened through the file gate)."""
    with open_raster(path) as src:
        return src.width, src.height


def evaluate_patches(
    predictor: Predictor,
    specs: Sequence[PatchSpec],
    threshold: float,
    keep_worst: int = 0,
    log: Log | None = None,
) -> Evaluation:
    """Score patches that carry their own ground truth; fill is never scored.

    Args:
        predictor: the loaded model.
        specs: labelled patches.
        threshold: decision threshold.
        keep_worst: keep the arrays of this many worst patches for overlays.
        log: receives one line per patch.
    """
    result = Evaluation(threshold)
    for index, spec in enumerate(specs, start=1):
        with spec.open_reader() as reader:
            probability, valid = predict_scene(reader, predictor)
        truth, labelled = spec.read_truth()
        valid = valid & labelled
        result.sweep.add(probability, truth, valid)
        counts = confusion(probability > threshold, truth, valid)
        result.add(Unit(spec.name, counts, probability, truth, valid, spec), keep_worst)
        if log:
            log(f"[{index}/{len(specs)}] {spec.name}: Jaccard {counts.jaccard:.4f}")
    return result


def evaluate_38cloud_scenes(
    predictor: Predictor,
    specs: Sequence[PatchSpec],
    root: str | Path,
    threshold: float,
    valid_only: bool = False,
    keep_worst: int = 0,
    log: Log | None = None,
) -> Evaluation:
    """Score whole 38-Cloud test scenes reassembled from their patch predictions.

    Args:
        predictor: the loaded model.
        specs: the test patches (names ``patch_<n>_<row>_by_<col>_<scene id>``).
        root: the 38-Cloud test folder holding ``Entire_scene_gts/``.
        threshold: decision threshold.
        valid_only: score only non-fill pixels; the official protocol (default)
            scores every pixel of the scene ground truth.
        keep_worst: keep 1/8-resolution arrays of this many worst scenes for overlays.
        log: receives one line per scene.
    """
    result = Evaluation(threshold, unit_kind="scene")
    scenes = group_by_scene(specs)
    for index, (scene_id, members) in enumerate(sorted(scenes.items()), start=1):
        truth = read_band(cloud38_scene_truth(root, scene_id)) > 0
        probs, valids, previews = [], [], []
        for position, spec in members:
            with spec.open_reader() as reader:
                probability, valid = predict_scene(reader, predictor)
                if keep_worst:
                    previews.append((position, _rgb_preview(reader)))
            # Fill is clear in the scene truth; the network's output there is meaningless.
            probs.append((position, np.where(valid, probability, 0.0).astype(np.float32)))
            valids.append((position, valid))
        probability = assemble_scene(probs, truth.shape)
        valid = assemble_scene(valids, truth.shape) if valid_only else np.ones(truth.shape, bool)
        result.sweep.add(probability, truth, valid)
        counts = confusion(probability > threshold, truth, valid)
        unit = Unit(scene_id, counts)
        if keep_worst:
            # Whole scenes are large: overlays show them at 1/PREVIEW_STEP resolution.
            step = (slice(None, None, PREVIEW_STEP),) * 2
            unit.probability, unit.truth, unit.valid = probability[step], truth[step], valid[step]
            unit.rgb = _assemble_preview(previews, unit.truth.shape)
        result.add(unit, keep_worst)
        if log:
            log(f"[{index}/{len(scenes)}] {scene_id}: Jaccard {counts.jaccard:.4f}")
    return result


def _rgb_preview(reader: Any) -> np.ndarray:
    reflectance, _ = reader.read_all()
    return np.ascontiguousarray(reflectance[:3, ::PREVIEW_STEP, ::PREVIEW_STEP])


def _assemble_preview(previews: list, shape: tuple[int, int]) -> np.ndarray:
    """A 1/``PREVIEW_STEP`` true-colour scene from patch previews."""
    size = 384 // PREVIEW_STEP
    bands = [assemble_scene([(p, rgb[b]) for p, rgb in previews], shape, size) for b in range(3)]
    return np.stack(bands)


# --------------------------------------------------------------------- reports


def sweep_rows(sweep: ThresholdSweep, thresholds: Sequence[float] = SWEEP_THRESHOLDS) -> list:
    """Pooled scores at each threshold."""
    return [{"threshold": t, **c.as_dict()} for t, c in sweep.table(thresholds)]


def to_json(evaluation: Evaluation, sweep: bool = False) -> dict[str, Any]:
    """Everything as plain JSON (NaN written as null)."""
    data: dict[str, Any] = {
        "threshold": evaluation.threshold,
        "unit": evaluation.unit_kind,
        **evaluation.summary(),
        "units": [{"name": u.name, **u.confusion.as_dict()} for u in evaluation.units],
    }
    if sweep:
        best_t, best = evaluation.sweep.best("jaccard")
        data["sweep"] = sweep_rows(evaluation.sweep)
        data["best_threshold_jaccard"] = {"threshold": best_t, **best.as_dict()}
    return _nan_to_none(data)


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.2f}"


_HEADER = "| {} | precision | recall | specificity | Jaccard | overall accuracy |"
_RULE = "|---|---:|---:|---:|---:|---:|"
_ORDER = ("precision", "recall", "specificity", "jaccard", "overall_accuracy")


def _row(label: str, scores: dict[str, float]) -> str:
    return "| " + " | ".join([label, *(_pct(scores[k]) for k in _ORDER)]) + " |"


def to_markdown(evaluation: Evaluation, title: str, sweep: bool = False) -> str:
    """Markdown tables (in percent): summary, every unit, and the optional sweep."""
    summary = evaluation.summary()
    kind = evaluation.unit_kind
    plural = "patches" if kind == "patch" else f"{kind}s"
    lines = [
        f"## {title}",
        "",
        f"Threshold {evaluation.threshold:.3f}, {len(evaluation.units)} {plural}, values in %.",
        "",
        _HEADER.format("averaging"),
        _RULE,
        _row("pooled over all pixels", summary["pooled"]),
        _row(f"mean over {plural}", summary["per_scene"]),
        "",
        _HEADER.format(kind),
        _RULE,
    ]
    lines += [_row(u.name, u.confusion.scores()) for u in evaluation.units]
    if sweep:
        lines += ["", "Pooled scores over thresholds:", "", _HEADER.format("threshold"), _RULE]
        lines += [_row(f"{t:.2f}", c.scores()) for t, c in evaluation.sweep.table(SWEEP_THRESHOLDS)]
        best_t, best = evaluation.sweep.best("jaccard")
        lines += ["", f"Best pooled Jaccard {_pct(best.jaccard)} at threshold {best_t:.3f}."]
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------- overlays


def stretch_rgb(reflectance: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """True-colour uint8 image (H, W, 3) from red, green, blue reflectance, 2-98 % stretch."""
    rgb = np.moveaxis(np.asarray(reflectance[:3], dtype=np.float32), 0, -1)
    pixels = rgb[valid] if valid is not None and valid.any() else rgb.reshape(-1, 3)
    low, high = np.percentile(pixels, 2), np.percentile(pixels, 98)
    scaled = np.clip((rgb - low) / max(high - low, 1e-6), 0.0, 1.0)
    return (255 * scaled).astype(np.uint8)


ERROR_COLOURS = {
    "clear": (40, 40, 40),
    "cloud": (235, 235, 235),
    "false_alarm": (220, 30, 30),
    "missed": (30, 140, 255),
    "unscored": (120, 90, 160),
}


def error_map(prediction: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """RGB map: clear dark, cloud white, false alarms red, missed cloud blue, unscored purple."""
    out = np.empty((*truth.shape, 3), np.uint8)
    out[~prediction & ~truth] = ERROR_COLOURS["clear"]
    out[prediction & truth] = ERROR_COLOURS["cloud"]
    out[prediction & ~truth] = ERROR_COLOURS["false_alarm"]
    out[~prediction & truth] = ERROR_COLOURS["missed"]
    out[~valid] = ERROR_COLOURS["unscored"]
    return out


def save_overlay(unit: Unit, threshold: float, path: Path) -> Path:
    """Write a PNG: image, ground truth, prediction and coloured errors side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if unit.probability is None or unit.truth is None or unit.valid is None:
        raise ValueError(f"{unit.name} kept no arrays: evaluate with keep_worst > 0.")
    image = stretch_rgb(unit.rgb) if unit.rgb is not None else None
    if unit.spec is not None:
        with unit.spec.open_reader() as reader:
            reflectance, image_valid = reader.read_all()
        image = stretch_rgb(reflectance, image_valid)
    truth, valid = unit.truth, unit.valid
    prediction = unit.probability > threshold
    panels = [
        ("image (true colour)", image),
        ("ground truth", np.where(truth, 255, 40).astype(np.uint8)),
        (f"prediction (> {threshold:.2f})", np.where(prediction, 255, 40).astype(np.uint8)),
        ("errors: red false alarm, blue missed", error_map(prediction, truth, valid)),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for axis, (title, array) in zip(axes, panels, strict=True):
        if array is not None:
            axis.imshow(array, cmap="gray" if array.ndim == 2 else None, vmin=0, vmax=255)
        axis.set_title(title, fontsize=9)
        axis.axis("off")
    c = unit.confusion
    fig.suptitle(
        f"{unit.name}: Jaccard {_pct(c.jaccard)} %, OA {_pct(c.overall_accuracy)} %", fontsize=10
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
