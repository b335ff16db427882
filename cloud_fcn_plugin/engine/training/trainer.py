"""The training loop: sampling, optimisation, validation, checkpoints, resume, calibration.

Outputs in ``out_dir``: ``best.safetensors`` and ``last.safetensors`` (engine
checkpoints with their JSON sidecars), ``last.state.safetensors`` and
``last.state.json`` (optimizer tensors and the rest of the loop state, so a
resumed run continues exactly; nothing is pickled), ``history.csv`` (one row
per epoch) and ``curves.png`` (loss and validation Jaccard).

Every random draw of an epoch comes from a generator seeded by ``(seed, epoch,
sample index)``, so a resumed run sees the same patches it would have seen
without the interruption, whatever the number of data loader workers.
"""

from __future__ import annotations

import copy
import csv
import itertools
import json
import math
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from ..bands import Scaling, normalize
from ..errors import ParameterError, WeightsError
from ..metrics import Confusion, ThresholdSweep, confusion, per_scene_mean
from ..models import build_model
from ..pipeline import predict_scene
from ..predict import Predictor, select_device
from ..weights import CheckpointMetadata, load_checkpoint, save_checkpoint
from .augment import AugmentConfig, Patch, augment
from .datasets import PatchSpec
from .losses import CloudLoss

Log = Callable[[str], None]
SCHEDULES = ("cosine", "constant", "plateau")
STATE_VERSION = 1
HISTORY_FIELDS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "val_loss",
    "val_jaccard",
    "val_precision",
    "val_recall",
    "val_specificity",
    "val_overall_accuracy",
    "val_calibrated_jaccard",
    "val_calibrated_threshold",
    "seconds",
)
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
        if not 0.0 <= self.ema < 1.0:
            raise ParameterError(f"EMA decay must be in [0, 1), got {self.ema}.")

    def to_json(self) -> dict[str, Any]:
        """The recipe as plain JSON (for provenance)."""
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        return data


# ------------------------------------------------------------------------ data


class PatchBank:
    """Training patches with their sampling weights, in memory or read on demand.

    Up to ``preload_limit`` patches are read once and kept (the bundled recipe's
    24 patches take 6 MB). Larger collections (the full 38-Cloud holds 8400
    patches, 20 GB as float32) are read when drawn, with statistics from a
    reproducible sample of ``sample_size`` patches.
    """

    def __init__(
        self,
        specs: Sequence[PatchSpec],
        log: Log | None = None,
        preload_limit: int = 2000,
        sample_size: int = 200,
        seed: int = 0,
    ) -> None:
        """Index (and for small collections, read) the patches."""
        self.specs = list(specs)
        if not self.specs:
            raise ParameterError("No labelled patch to train on: check the dataset paths.")
        self.preloaded = len(self.specs) <= preload_limit
        if self.preloaded:
            iterator = tqdm(self.specs, desc="loading patches", leave=False, disable=log is None)
            self._patches: list[Patch] | None = [spec.load() for spec in iterator]
            self._sample = self._patches
            pixels = np.array([p.valid.sum() for p in self._patches], dtype=np.float64)
        else:
            self._patches = None
            rng = np.random.default_rng(seed)
            picked = rng.choice(
                len(self.specs), size=min(sample_size, len(self.specs)), replace=False
            )
            self._sample = [self.specs[i].load() for i in sorted(picked)]
            pixels = np.ones(len(self.specs))
        if pixels.sum() == 0 or not any(p.valid.any() for p in self._sample):
            raise ParameterError("Every training pixel is fill: check the masks' fill values.")
        # Bigger patches give more distinct crops, so they are drawn more often.
        self.weights = pixels / pixels.sum()

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index: int) -> Patch:
        if self._patches is not None:
            return self._patches[index]
        return self.specs[index].load()

    def statistics(self) -> tuple[list[float], list[float]]:
        """Per-band mean and standard deviation of the valid reflectance."""
        values = np.concatenate(
            [p.reflectance[:, p.valid] for p in self._sample], axis=1, dtype=np.float64
        )
        return values.mean(axis=1).tolist(), np.maximum(values.std(axis=1), 1e-3).tolist()

    def cloud_fraction(self) -> float:
        """Share of the valid pixels that are cloud (in the sample for large collections)."""
        cloud = sum(float(p.target[p.valid].sum()) for p in self._sample)
        return cloud / sum(float(p.valid.sum()) for p in self._sample)


class LazyPatches(Sequence[Patch]):
    """Validation patches: kept in memory when few, else read at each use."""

    def __init__(self, specs: Sequence[PatchSpec], preload_limit: int = 500) -> None:
        """Read the patches now if there are at most ``preload_limit``."""
        self.specs = list(specs)
        self._patches = [s.load() for s in self.specs] if len(specs) <= preload_limit else None

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._patches is not None:
            return self._patches[index]
        return self.specs[index].load()


class AugmentedPatches(Dataset):
    """Random augmented crops of a :class:`PatchBank`, as normalised tensors."""

    def __init__(
        self,
        bank: PatchBank,
        config: TrainConfig,
        mean: Sequence[float],
        std: Sequence[float],
        patch_size: int,
    ) -> None:
        """Bind the bank to the recipe and the normalisation."""
        self.bank, self.config, self.mean, self.std = bank, config, mean, std
        self.patch_size = patch_size
        self.epoch = 0

    def __len__(self) -> int:
        return self.config.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.config.seed, self.epoch, index])
        bank = self.bank
        source = bank[int(rng.choice(len(bank), p=bank.weights))]
        donor = bank[int(rng.choice(len(bank), p=bank.weights))] if len(bank) > 1 else None
        patch = augment(source, self.patch_size, rng, self.config.augment, donor)
        x = normalize(patch.reflectance, patch.valid, self.mean, self.std)
        return (
            torch.from_numpy(x),
            torch.from_numpy(patch.target[None].copy()),
            torch.from_numpy(patch.valid[None].astype(np.float32)),
        )


# -------------------------------------------------------------------- schedule


class LrSchedule:
    """Learning rate as a function of the step (cosine) or of validation (plateau).

    Its state is plain JSON, so resuming never unpickles anything.
    """

    def __init__(self, config: TrainConfig, steps_per_epoch: int) -> None:
        """Set up from the recipe."""
        self.kind = config.schedule
        self.base_lr = config.lr
        self.total = max(1, config.epochs * steps_per_epoch)
        self.warmup = min(self.total // 2, config.warmup_epochs * steps_per_epoch)
        self.plateau_lr = config.lr
        self.plateau_best = -math.inf
        self.plateau_bad = 0
        self.plateau_patience = config.plateau_patience
        self.plateau_factor = config.plateau_factor

    def lr_at(self, step: int) -> float:
        """Learning rate of optimisation step ``step`` (0-based)."""
        if self.kind == "plateau":
            return self.plateau_lr
        if self.kind == "constant":
            return self.base_lr
        if step < self.warmup:
            return self.base_lr * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        floor = 0.01 * self.base_lr
        return floor + (self.base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def epoch_end(self, score: float) -> None:
        """Lower the plateau learning rate after ``plateau_patience`` epochs without progress."""
        if self.kind != "plateau" or math.isnan(score):
            return
        if score > self.plateau_best + 1e-4:
            self.plateau_best, self.plateau_bad = score, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad >= self.plateau_patience:
                self.plateau_lr *= self.plateau_factor
                self.plateau_bad = 0

    def state_dict(self) -> dict[str, Any]:
        """JSON state."""
        return {"lr": self.plateau_lr, "best": _finite(self.plateau_best), "bad": self.plateau_bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the JSON state."""
        self.plateau_lr = float(state["lr"])
        self.plateau_best = -math.inf if state["best"] is None else float(state["best"])
        self.plateau_bad = int(state["bad"])


# ------------------------------------------------------------ state save/load


def state_paths(checkpoint: Path) -> tuple[Path, Path]:
    """Files holding the loop state that goes with a checkpoint."""
    stem = checkpoint.with_suffix("")
    return stem.with_name(stem.name + ".state.safetensors"), stem.with_name(
        stem.name + ".state.json"
    )


def save_train_state(
    checkpoint: Path,
    optimizer: torch.optim.Optimizer,
    loop: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write optimizer (and ``extra``) tensors to safetensors and everything else to JSON."""
    tensors = {f"extra.{k}": v.detach().cpu().contiguous() for k, v in (extra or {}).items()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in optimizer.state_dict()["param_groups"]
    ]
    tensor_path, json_path = state_paths(checkpoint)
    save_file(tensors, str(tensor_path))
    payload = {"version": STATE_VERSION, "param_groups": groups, "scalars": scalars, **loop}
    json_path.write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")


def load_train_state(
    checkpoint: Path, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore the optimizer; return the loop state and the extra tensors saved with it."""
    tensor_path, json_path = state_paths(checkpoint)
    if not tensor_path.is_file() or not json_path.is_file():
        raise WeightsError(
            f"Cannot resume from {checkpoint}: {tensor_path.name} and {json_path.name} must sit "
            "beside it (resume from the last.safetensors of a run)."
        )
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    if payload.get("version") != STATE_VERSION:
        raise WeightsError(f"{json_path} has an unknown state version: start a new run.")
    state: dict[int, dict[str, Any]] = {}
    extra: dict[str, torch.Tensor] = {}
    for name, tensor in load_file(str(tensor_path)).items():
        kind, rest = name.split(".", 1)
        if kind == "extra":
            extra[rest] = tensor
            continue
        index, key = rest.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in payload["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    return payload, extra


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _json_safe(value: Any) -> Any:
    """Replace NaN and infinities by None so the metadata stays plain JSON."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


# ------------------------------------------------------------------ validation


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
        x = torch.from_numpy(normalize(reflectance, patch.valid, mean, std))[None]
        height, width = x.shape[-2:]
        logits = model(_pad_to_multiple(x.to(device), multiple))[..., :height, :width].float()
        target = torch.from_numpy(patch.target)[None, None].to(device)
        valid = torch.from_numpy(patch.valid.astype(np.float32))[None, None].to(device)
        losses.append(float(loss_fn(logits, target, valid)))
        prob = torch.sigmoid(logits)[0, 0].cpu().numpy()
        truth = patch.target >= 0.5
        sweep.add(prob, truth, patch.valid)
        confusions.append(confusion(prob > 0.5, truth, patch.valid))
    model.train()
    return ValidationResult(float(np.mean(losses)), confusions, sweep)


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
        return replace(
            scaling,
            gain=tuple(g * self.gain for g in scaling.gain),
            offset=tuple(o * self.gain for o in scaling.offset),
        )


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


# --------------------------------------------------------------------- trainer


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


class Trainer:
    """Runs one training recipe end to end.

    Args:
        config: the recipe.
        train_specs: labelled training patches.
        val_specs: labelled validation patches (may be empty: no best model,
            no calibration; threshold 0.5).
        provenance: what produced the run (command line, data description);
            completed with dates, versions and the epochs trained.
        log: receives progress lines (``print`` in the script).
    """

    def __init__(
        self,
        config: TrainConfig,
        train_specs: Sequence[PatchSpec],
        val_specs: Sequence[PatchSpec] = (),
        provenance: dict[str, Any] | None = None,
        log: Log | None = None,
    ) -> None:
        self.config = config
        self.train_specs, self.val_specs = list(train_specs), list(val_specs)
        self.provenance = dict(provenance or {})
        self.log = log or (lambda message: None)
        self.out_dir = Path(config.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if config.threads > 0:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.device = select_device(config.device)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.model = build_model(config.architecture, width=config.width).to(self.device)
        self.ema = copy.deepcopy(self.model).eval() if config.ema > 0 else None
        if self.ema is not None:
            self.ema.requires_grad_(False)
        multiple = int(getattr(self.model, "size_multiple", 1))
        self.patch_size = math.ceil(config.patch_size / multiple) * multiple
        self.bank = PatchBank(self.train_specs, self.log, seed=config.seed)
        self.val_patches = LazyPatches(self.val_specs)
        self.mean, self.std = self.bank.statistics()
        self.loss_fn = CloudLoss(config.loss, config.label_smoothing, config.pos_weight)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.steps_per_epoch = math.ceil(config.samples_per_epoch / config.batch_size)
        self.schedule = LrSchedule(config, self.steps_per_epoch)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.dataset = AugmentedPatches(self.bank, config, self.mean, self.std, self.patch_size)
        self.epoch, self.step = 0, 0
        self.best_score, self.best_epoch, self.stale = -math.inf, 0, 0
        self.history: list[dict[str, Any]] = []

    @property
    def deployed(self) -> torch.nn.Module:
        """The weights that are validated and saved: the moving average when enabled."""
        return self.ema if self.ema is not None else self.model

    def _update_ema(self) -> None:
        if self.ema is None:
            return
        # Warm-up: early on the average would be dominated by random initial weights.
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        with torch.no_grad():
            pairs = zip(
                self.ema.state_dict().values(), self.model.state_dict().values(), strict=True
            )
            for average, current in pairs:
                if average.is_floating_point():
                    average.lerp_(current, 1.0 - decay)
                else:
                    average.copy_(current)

    # -- checkpoints ----------------------------------------------------------

    def metadata(self, threshold: float = 0.5, metrics: dict | None = None) -> CheckpointMetadata:
        """Checkpoint metadata of the current model."""
        provenance = {
            **self.provenance,
            "recipe": self.config.to_json(),
            "epochs_trained": self.epoch,
            "steps_trained": self.step,
            "best_epoch": self.best_epoch,
            "train_patches": len(self.train_specs),
            "train_cloud_fraction": round(self.bank.cloud_fraction(), 4),
            "validation_patches": len(self.val_specs),
            "git_commit": _git_commit(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "device": str(self.device),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return CheckpointMetadata(
            architecture=self.model.architecture,
            arch_args=dict(self.model.arch_args),
            mean=tuple(self.mean),
            std=tuple(self.std),
            threshold=threshold,
            tile_size=self.config.tile_size,
            overlap=self.config.overlap,
            provenance=_json_safe(provenance),
            metrics=_json_safe(metrics or {}),
        )

    def _loop_state(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "best_score": _finite(self.best_score),
            "best_epoch": self.best_epoch,
            "stale": self.stale,
            "history": _json_safe(self.history),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.use_amp else {},
            "mean": self.mean,
            "std": self.std,
        }

    def save_last(self) -> Path:
        """Write ``last.safetensors`` and the loop state beside it."""
        path = self.out_dir / "last.safetensors"
        save_checkpoint(path, self.deployed, self.metadata())
        # With EMA the checkpoint holds the average; the raw weights go with the state.
        extra = dict(self.model.state_dict()) if self.ema is not None else None
        save_train_state(path, self.optimizer, self._loop_state(), extra)
        return path

    def resume(self, checkpoint: str | Path) -> None:
        """Continue a run from its ``last.safetensors`` (weights, optimizer, schedule, step).

        Raises:
            WeightsError: the checkpoint or its state files are missing or do not match.
        """
        checkpoint = Path(checkpoint)
        model, metadata = load_checkpoint(checkpoint, device="cpu")
        if metadata.architecture != self.model.architecture or dict(metadata.arch_args) != dict(
            self.model.arch_args
        ):
            raise WeightsError(
                f"{checkpoint} holds {metadata.architecture} {metadata.arch_args}, not the "
                f"requested {self.model.architecture} {self.model.arch_args}: use the same "
                "--arch and --width to resume."
            )
        state, extra = load_train_state(checkpoint, self.optimizer)
        if self.ema is not None:
            if not extra:
                raise WeightsError(
                    f"{checkpoint} was trained without --ema: resume without it, or start anew."
                )
            self.ema.load_state_dict(model.state_dict())
            self.model.load_state_dict(extra)
        else:
            self.model.load_state_dict(model.state_dict())
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        best = state["best_score"]
        self.best_score = -math.inf if best is None else float(best)
        self.best_epoch, self.stale = int(state["best_epoch"]), int(state["stale"])
        self.history = list(state["history"])
        self.schedule.load_state_dict(state["schedule"])
        if self.use_amp and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        # The network was trained on these statistics: keep them even if data changed.
        self.mean, self.std = list(state["mean"]), list(state["std"])
        self.dataset.mean, self.dataset.std = self.mean, self.std
        self.log(f"Resumed {checkpoint} at epoch {self.epoch}, step {self.step}.")

    # -- training -------------------------------------------------------------

    def train_epoch(self) -> float:
        """One epoch of optimisation; returns the mean training loss."""
        self.model.train()
        self.dataset.epoch = self.epoch
        loader = DataLoader(
            self.dataset,
            batch_size=self.config.batch_size,
            shuffle=False,  # the dataset draws randomly itself, reproducibly
            num_workers=self.config.workers,
            drop_last=False,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )
        losses = []
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{self.config.epochs}", leave=False)
        for x, target, valid in bar:
            loss = self.train_step(x, target, valid)
            losses.append(loss)
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        return float(np.mean(losses))

    def train_step(self, x: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> float:
        """One optimisation step; returns the loss."""
        lr = self.schedule.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        x, target, valid = (t.to(self.device, non_blocking=True) for t in (x, target, valid))
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.use_amp):
            logits = self.model(x)
        loss = self.loss_fn(logits.float(), target, valid)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        self._update_ema()
        return float(loss.detach())

    def fit(self) -> dict[str, Any]:
        """Train until the last epoch, early stopping or the time limit; then calibrate.

        Returns:
            A summary: output paths, best epoch, threshold and validation metrics.
        """
        started = time.monotonic()
        config = self.config
        self.log(
            f"Training {config.architecture} (width {config.width}) on {len(self.bank)} patches "
            f"({100 * self.bank.cloud_fraction():.1f} % cloud), validating on "
            f"{len(self.val_patches)}; {self.steps_per_epoch} steps/epoch on {self.device}."
        )
        while self.epoch < config.epochs:
            epoch_started = time.monotonic()
            train_loss = self.train_epoch()
            self.epoch += 1
            row = self._end_epoch(train_loss, time.monotonic() - epoch_started)
            self.log(_format_row(row))
            if config.patience and self.stale >= config.patience:
                self.log(f"Early stop: no better validation Jaccard for {self.stale} epochs.")
                break
            if config.max_minutes and time.monotonic() - started > 60 * config.max_minutes:
                self.log(f"Stopping after {config.max_minutes} minutes (--max-minutes).")
                break
        return self.finish()

    def _end_epoch(self, train_loss: float, seconds: float) -> dict[str, Any]:
        row: dict[str, Any] = {
            "epoch": self.epoch,
            "step": self.step,
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": train_loss,
            "seconds": round(seconds, 1),
        }
        if self.val_patches:
            result = validate(
                self.deployed,
                self.val_patches,
                self.mean,
                self.std,
                self.loss_fn,
                self.device,
                self.config.val_gains,
            )
            scores = result.scores()
            row["val_loss"] = result.loss
            row.update({f"val_{k}": v for k, v in scores.items()})
            threshold, calibrated = result.sweep.best(self.config.calibrate_metric)
            row["val_calibrated_jaccard"] = calibrated.jaccard
            row["val_calibrated_threshold"] = threshold
            selected = self.config.select_by == "calibrated"
            score = calibrated.jaccard if selected else scores["jaccard"]
            self.schedule.epoch_end(score)
            if score > self.best_score:
                self.best_score, self.best_epoch, self.stale = score, self.epoch, 0
                save_checkpoint(self.out_dir / "best.safetensors", self.deployed, self.metadata())
            else:
                self.stale += 1
        self.history.append(row)
        self.save_last()
        write_history(self.out_dir / "history.csv", self.history)
        plot_history(self.out_dir / "curves.png", self.history)
        return row

    def finish(self) -> dict[str, Any]:
        """Calibrate the threshold of best and last on the validation set, re-save them."""
        summary: dict[str, Any] = {"out_dir": str(self.out_dir), "best_epoch": self.best_epoch}
        names = ["last.safetensors"]
        if self.val_specs and (self.out_dir / "best.safetensors").is_file():
            names.insert(0, "best.safetensors")
        for name in names:
            path = self.out_dir / name
            model, metadata = load_checkpoint(path, device="cpu")
            threshold, metrics = 0.5, {}
            if self.val_specs:
                predictor = Predictor(model, metadata, device=self.device.type)
                metric = self.config.calibrate_metric
                gains = self.config.val_gains
                threshold, metrics = calibrate(predictor, self.val_specs, metric, gains)
                model = predictor.model.cpu()
            save_checkpoint(path, model, replace(metadata, threshold=threshold, metrics=metrics))
            summary[name.removesuffix(".safetensors")] = {
                "path": str(path),
                "threshold": threshold,
                "metrics": metrics,
            }
            if metrics:
                pooled = metrics["at_calibrated_threshold"]["pooled"]
                self.log(
                    f"{name}: threshold {threshold:.3f}, validation pooled Jaccard "
                    f"{pooled['jaccard']:.4f}, OA {pooled['overall_accuracy']:.4f}"
                )
        (self.out_dir / "summary.json").write_text(
            json.dumps(_json_safe(summary), indent=1), encoding="utf-8"
        )
        return summary


# ------------------------------------------------------------------- logging


def _format_row(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}", f"loss {row['train_loss']:.4f}"]
    if "val_jaccard" in row:
        parts += [
            f"val loss {row['val_loss']:.4f}",
            f"val Jaccard {row['val_jaccard']:.4f}",
            f"OA {row['val_overall_accuracy']:.4f}",
            f"calibrated Jaccard {row['val_calibrated_jaccard']:.4f}"
            f" at {row['val_calibrated_threshold']:.2f}",
        ]
    parts += [f"lr {row['lr']:.2e}", f"{row['seconds']:.0f} s"]
    return ", ".join(parts)


def write_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Rewrite the per-epoch CSV log (whole file, so a resumed run stays consistent)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in HISTORY_FIELDS})


def _column(history: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [math.nan if row.get(key) is None else float(row[key]) for row in history]


def plot_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Plot training/validation loss and validation Jaccard per epoch to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [row["train_loss"] for row in history], label="train")
    if any(row.get("val_loss") is not None for row in history):
        left.plot(epochs, _column(history, "val_loss"), label="validation")
        right.plot(epochs, _column(history, "val_jaccard"), label="at threshold 0.5")
        right.plot(epochs, _column(history, "val_calibrated_jaccard"), label="best threshold")
        right.legend()
    left.set(xlabel="epoch", ylabel="loss", title="Loss")
    left.legend()
    right.set(xlabel="epoch", ylabel="Jaccard", title="Validation Jaccard (pooled)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
