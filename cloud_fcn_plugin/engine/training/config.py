"""The training recipe: :class:`TrainConfig` and the choices its fields accept."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..scene.bands import band_set
from .augment import AugmentConfig

SCHEDULES = ("cosine", "constant", "plateau")
SELECTIONS = ("calibrated", "fixed")


@dataclass(frozen=True)
class TrainConfig:
    """The recipe; every field has a command-line option in ``scripts/train.py``.

    Attributes:
        out_dir: where checkpoints, logs and plots go.
        architecture: registry name of the model.
        width: channel multiplier of the model.
        patch_size: edge of the training crops (rounded up to the model's multiple).
        batch_size: crops per optimisation step.
        epochs: number of epochs.
        samples_per_epoch: crops drawn per epoch (the data are few, so epochs are
            defined by samples, not by passes over the files).
        lr: peak learning rate (AdamW).
        weight_decay: AdamW decoupled weight decay.
        schedule: ``cosine`` (linear warm-up then cosine to 1 % of ``lr``),
            ``constant`` or ``plateau`` (halve when the validation Jaccard stalls).
        warmup_epochs: epochs of linear warm-up (cosine only).
        plateau_patience: epochs without progress before ``plateau`` lowers the rate.
        plateau_factor: what ``plateau`` multiplies the rate by.
        loss: ``jaccard``, ``bce`` or ``both``.
        label_smoothing: BCE label smoothing.
        pos_weight: optional BCE weight of the cloud class.
        ema: decay of an exponential moving average of the weights (0 = off);
            validation, checkpoints and the shipped model then use the average.
        seed: seed of every random draw.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        amp: mixed precision on CUDA (ignored elsewhere).
        workers: data loader worker processes.
        threads: CPU threads for torch (0 leaves torch's default).
        patience: epochs without a better validation Jaccard before stopping (0 = never).
        select_by: which validation Jaccard picks the best epoch: ``calibrated``
            (the best over thresholds, as the checkpoint is deployed with its own
            calibrated threshold) or ``fixed`` (at threshold 0.5).
        max_minutes: stop after the epoch that passes this wall time (0 = no limit).
        tile_size: tile size stored in the checkpoint for inference.
        overlap: tile overlap stored in the checkpoint for inference.
        calibrate_metric: score the threshold calibration maximises.
        val_gains: brightness gains at which every validation patch is scored
            (selection and calibration pool them): a TOA patch times
            ``sin(sun elevation)`` is what the same scene gives as Level-1 DN
            without sun-angle correction, so ``(1.0, 0.85, 0.7)`` validates the
            TOA form and the Level-1 form at sun elevations of 58 and 44 degrees.
        augment: augmentation knobs.
        bands: ``rgbn`` (red, green, blue, NIR), ``sixband`` (B2-B7) or ``fullband``
            (B2-B7, B9, B10).
        indices: append spectral indices (NDSI, NDVI...) of the bands to the network
            input (see :mod:`~cloud_fcn_plugin.engine.models.indices`).
        multiclass: train four channels (clear, thick cloud, thin cloud, cloud shadow)
            with partial labels (:class:`~.losses.MultiClassLoss`) instead of one
            cloud channel.
        bright_clear: extra sampling weight of patches with bright clear ground
            (see :class:`~.patches.PatchBank`).
    """

    out_dir: Path
    architecture: str = "cloudfcn_lite"
    width: float = 1.0
    patch_size: int = 192
    batch_size: int = 8
    epochs: int = 40
    samples_per_epoch: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_epochs: int = 1
    plateau_patience: int = 5
    plateau_factor: float = 0.5
    loss: str = "both"
    label_smoothing: float = 0.0
    pos_weight: float | None = None
    ema: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int = 0
    threads: int = 2
    patience: int = 0
    select_by: str = "calibrated"
    max_minutes: float = 0.0
    tile_size: int = 512
    overlap: int = 16
    calibrate_metric: str = "jaccard"
    val_gains: tuple[float, ...] = (1.0,)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    bands: str = "rgbn"
    bright_clear: float = 0.0
    indices: bool = False
    multiclass: bool = False

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ParameterError(f"Unknown schedule {self.schedule!r}: choose one of {SCHEDULES}.")
        for name in ("patch_size", "batch_size", "epochs", "samples_per_epoch"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.lr <= 0:
            raise ParameterError(f"Learning rate must be positive, got {self.lr}.")
        if self.select_by not in SELECTIONS:
            raise ParameterError(f"Unknown selection {self.select_by!r}: choose {SELECTIONS}.")
        if not self.val_gains or min(self.val_gains) <= 0:
            raise ParameterError(f"Validation gains must be positive, got {self.val_gains}.")
        band_set(self.bands)
        if not 0.0 <= self.ema < 1.0:
            raise ParameterError(f"EMA decay must be in [0, 1), got {self.ema}.")

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain JSON (for provenance)."""
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        return data
