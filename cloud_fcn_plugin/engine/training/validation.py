"""Validation during training, and threshold calibration with the engine's own inference."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..classes import ChannelLayout
from ..inference.predictor import Predictor, probability_layers
from ..inference.whole_scene import predict_scene
from ..models.checkpoints import load_checkpoint, save_checkpoint
from ..scene.scaling import Scaling, normalize
from .augment import Patch
from .datasets import PatchSpec
from .jsonsafe import _json_safe
from .losses import MULTICLASS_CHANNELS, CloudLoss
from .metrics import Confusion, ThresholdSweep, confusion, per_scene_mean


@dataclass
class ValidationResult:
    """Per-epoch validation: loss, confusions at 0.5, and the probability sweep."""

    loss: float
    confusions: list[Confusion]
    sweep: ThresholdSweep

    def scores(self) -> dict[str, float]:
        """Pooled scores at threshold 0.5."""
        return sum(self.confusions, Confusion()).scores()


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    pad_h, pad_w = -x.shape[-2] % multiple, -x.shape[-1] % multiple
    if not (pad_h or pad_w):
        return x
    mode = "reflect" if pad_h < x.shape[-2] and pad_w < x.shape[-1] else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


@torch.no_grad()
def validate(
    model: torch.nn.Module,
    patches: Sequence[Patch],
    mean: Sequence[float],
    std: Sequence[float],
    loss_fn: CloudLoss,
    device: torch.device,
    gains: Sequence[float] = (1.0,),
) -> ValidationResult:
    """Whole validation patches through the model, one at a time, at each brightness gain."""
    model.eval()
    multiple = int(getattr(model, "size_multiple", 1))
    sweep, confusions, losses = ThresholdSweep(), [], []
    for patch, gain in itertools.product(patches, gains):
        reflectance = patch.reflectance * np.float32(gain)
        reflectance[list(patch.thermal)] = patch.reflectance[list(patch.thermal)]
        x = normalize(reflectance, patch.valid, mean, std, thermal=patch.thermal)
        x = torch.from_numpy(x)[None]
        height, width = x.shape[-2:]
        logits = model(_pad_to_multiple(x.to(device), multiple))[..., :height, :width].float()
        several = logits.shape[1] > 1
        target = torch.from_numpy(patch.labels() if several else patch.target[None])[None]
        valid = torch.from_numpy(patch.valid.astype(np.float32))[None, None].to(device)
        losses.append(float(loss_fn(logits, target.to(device), valid)))
        prob = _cloud_probability(logits)[0].cpu().numpy()
        truth = patch.target >= 0.5
        sweep.add(prob, truth, patch.valid)
        confusions.append(confusion(prob > 0.5, truth, patch.valid))
    model.train()
    return ValidationResult(float(np.mean(losses)), confusions, sweep)


def _cloud_probability(logits: torch.Tensor) -> torch.Tensor:
    """Cloud probability (N, H, W): the sigmoid of one channel, or thick + thin of a softmax."""
    if logits.shape[1] == 1:
        return torch.sigmoid(logits)[:, 0]
    return probability_layers(logits, ChannelLayout(MULTICLASS_CHANNELS))[:, 0]


class GainReader:
    """A scene reader whose reflectance is multiplied by ``gain`` (through its scaling).

    A TOA patch times ``sin(sun elevation)`` is exactly what the engine reads
    from the same scene delivered as Level-1 DN without an MTL file.
    """

    def __init__(self, reader: Any, gain: float) -> None:
        """Wrap an open reader."""
        self._reader, self.gain = reader, float(gain)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    @property
    def scaling(self) -> Scaling:
        """The wrapped reader's scaling times the gain (what :meth:`read_raw` callers use)."""
        scaling = self._reader.scaling
        thermal = {t.index for t in scaling.thermal}  # temperature does not scale with light

        def times(values: tuple[float, ...]) -> tuple[float, ...]:
            return tuple(v if i in thermal else v * self.gain for i, v in enumerate(values))

        return replace(scaling, gain=times(scaling.gain), offset=times(scaling.offset))


def calibrate(
    predictor: Predictor,
    specs: Sequence[PatchSpec],
    metric: str = "jaccard",
    gains: Sequence[float] = (1.0,),
) -> tuple[float, dict[str, Any]]:
    """Choose the threshold on the validation set with the engine's own inference.

    Every patch is predicted at every gain (see :class:`GainReader`) and the
    threshold maximises ``metric`` over all of them pooled.

    Returns:
        The threshold and the validation metrics (pooled and per patch averaged)
        at that threshold and at 0.5, overall and per gain.
    """
    sweep = ThresholdSweep()
    scenes: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
    for spec, gain in itertools.product(specs, gains):
        with spec.open_reader() as reader:
            probability, valid = predict_scene(GainReader(reader, gain), predictor)  # type: ignore[arg-type]
        truth, labelled = spec.read_truth()
        valid = valid & labelled
        sweep.add(probability, truth, valid)
        scenes.append((gain, probability, truth, valid))
    threshold, _ = sweep.best(metric)

    def at(t: float, gain: float | None = None) -> dict[str, Any]:
        confusions = [confusion(p > t, g, v) for k, p, g, v in scenes if gain is None or k == gain]
        total = sum(confusions, Confusion())
        return {
            "threshold": t,
            "pooled": total.as_dict(),
            "per_patch_mean": per_scene_mean(confusions),
        }

    metrics: dict[str, Any] = {
        "validation_patches": [s.name for s in specs],
        "validation_gains": list(gains),
        "calibrated_for": metric,
        "at_calibrated_threshold": at(threshold),
        "at_0.5": at(0.5),
    }
    if len(gains) > 1:
        metrics["by_gain_at_calibrated_threshold"] = {str(g): at(threshold, g) for g in gains}
    return threshold, _json_safe(metrics)


def recalibrate(
    checkpoint: str | Path,
    val_specs: Sequence[PatchSpec],
    metric: str = "jaccard",
    gains: Sequence[float] = (1.0,),
    note: dict[str, Any] | None = None,
) -> tuple[float, dict[str, Any]]:
    """Choose a checkpoint's threshold anew on a validation set and store it in place.

    Args:
        checkpoint: the ``.safetensors`` file to update (weights unchanged).
        val_specs: labelled validation patches.
        metric: score to maximise.
        gains: brightness gains to pool (see :class:`GainReader`).
        note: recorded under ``provenance["recalibrated"]`` (command, data).
    """
    model, metadata = load_checkpoint(checkpoint, device="cpu")
    predictor = Predictor(model, metadata, device="cpu")
    threshold, metrics = calibrate(predictor, val_specs, metric, gains)
    provenance = _json_safe({**metadata.provenance, "recalibrated": note or {}})
    updated = replace(metadata, threshold=threshold, metrics=metrics, provenance=provenance)
    save_checkpoint(checkpoint, predictor.model.cpu(), updated)
    return threshold, metrics
