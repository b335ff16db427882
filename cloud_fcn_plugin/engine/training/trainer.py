"""The training loop: sampling, optimisation, validation, checkpoints, resume, calibration.

Outputs in ``out_dir``: ``best.safetensors`` and ``last.safetensors`` (engine
checkpoints with their JSON sidecars), ``last.state.safetensors`` and
``last.state.json`` (optimizer tensors and the rest of the loop state, so a
resumed run continues exactly; nothing is pickled), ``history.csv`` (one row
per epoch) and ``curves.png`` (loss and validation Jaccard).

Every random draw of an epoch comes from a generator seeded by ``(seed, epoch,
sample index)``, so a resumed run sees the same patches it would have seen
without the interruption, whatever the number of data loader workers.

The pieces it drives live beside it: ``config`` (the recipe), ``patches``
(patch bank and augmented crops), ``schedule`` (learning rate), ``state``
(resume files), ``validation`` (validation and threshold calibration) and
``history`` (the CSV log and the plot). After the last epoch, ``finish``
writes ``summary.json`` (threshold and validation metrics of best and last).
"""

from __future__ import annotations

import copy
import math
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from ..errors import ParameterError, WeightsError
from ..inference.predictor import Predictor, select_device
from ..models import build_model
from ..models.checkpoint_metadata import CheckpointMetadata
from ..models.checkpoints import load_checkpoint, save_checkpoint
from ..models.indices import index_pairs
from ..scene.bands import band_names, band_set
from .config import TrainConfig
from .datasets import PatchSpec
from .history import _format_row, plot_history, write_history
from .jsonsafe import _finite, _json_safe
from .losses import MULTICLASS_CHANNELS, CloudLoss, MultiClassLoss
from .patches import AugmentedPatches, LazyPatches, PatchBank
from .run_folder import write_json_atomically
from .schedule import LrSchedule
from .state import load_train_state, save_train_state
from .validation import calibrate, validate

Log = Callable[[str], None]


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
        self.bank = PatchBank(
            self.train_specs, self.log, seed=config.seed, bright_clear=config.bright_clear
        )
        self.val_patches = LazyPatches(self.val_specs)
        self.mean, self.std = self.bank.statistics()
        self.model = self._build_model().to(self.device)
        self.ema = copy.deepcopy(self.model).eval() if config.ema > 0 else None
        if self.ema is not None:
            self.ema.requires_grad_(False)
        multiple = int(getattr(self.model, "size_multiple", 1))
        self.patch_size = math.ceil(config.patch_size / multiple) * multiple
        self.loss_fn = (
            MultiClassLoss()
            if config.multiclass
            else CloudLoss(config.loss, config.label_smoothing, config.pos_weight)
        )
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

    def _build_model(self) -> torch.nn.Module:
        """The untrained network; spectral indices undo the normalisation just measured."""
        bands = band_names(band_set(self.config.bands))
        extra: dict[str, Any] = {}
        if self.config.indices:
            pairs = index_pairs(bands)
            if not pairs:
                raise ParameterError(
                    f"--indices needs bands the indices are made of; {', '.join(bands)} has none."
                )
            extra = {"indices": pairs, "index_mean": list(self.mean), "index_std": list(self.std)}
        if self.config.multiclass:
            extra["out_channels"] = len(MULTICLASS_CHANNELS)
        return build_model(
            self.config.architecture, width=self.config.width, in_channels=len(bands), **extra
        )

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
            bands=band_names(band_set(self.config.bands)),
            mean=tuple(self.mean),
            std=tuple(self.std),
            threshold=threshold,
            tile_size=self.config.tile_size,
            overlap=self.config.overlap,
            provenance=_json_safe(provenance),
            metrics=_json_safe(metrics or {}),
            classes=MULTICLASS_CHANNELS if self.config.multiclass else ("cloud",),
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
        if state.get("step") != metadata.provenance.get("steps_trained"):
            # The two are written one after the other; a crash between them parts them.
            raise WeightsError(
                f"The training state beside {checkpoint} is from step {state.get('step')}, the "
                f"checkpoint from step {metadata.provenance.get('steps_trained')}: resume from a "
                "copy of the run made before, or start anew with --overwrite."
            )
        if self.ema is not None:
            if not extra:
                raise WeightsError(
                    f"{checkpoint} was trained without --ema: resume without it, or start anew."
                )
            self.ema.load_state_dict(model.state_dict())
            self.model.load_state_dict(extra)
        else:
            self.model.load_state_dict(model.state_dict())
        try:
            self._restore_loop(state, metadata)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WeightsError(
                f"The training state beside {checkpoint} is damaged ({type(exc).__name__}: "
                f"{exc}): resume from a copy of the run made before, or start anew with "
                "--overwrite."
            ) from None
        self.log(f"Resumed {checkpoint} at epoch {self.epoch}, step {self.step}.")

    def _restore_loop(self, state: dict[str, Any], metadata: CheckpointMetadata) -> None:
        """Set the loop's counters, history, schedule and statistics from a saved state."""
        # The network was trained on these statistics: keep them even if data changed.
        # They are the checkpoint's, which were checked when it was read.
        if list(state["mean"]) != list(metadata.mean) or list(state["std"]) != list(metadata.std):
            raise ValueError("its statistics are not the checkpoint's")
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        best = state["best_score"]
        self.best_score = -math.inf if best is None else float(best)
        self.best_epoch, self.stale = int(state["best_epoch"]), int(state["stale"])
        self.history = list(state["history"])
        self.schedule.load_state_dict(state["schedule"])
        if self.use_amp and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.mean, self.std = list(metadata.mean), list(metadata.std)
        self.dataset.mean, self.dataset.std = self.mean, self.std

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
        if not torch.isfinite(loss.detach()):
            self._diverged(f"loss became {float(loss.detach())}", lr)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        self._update_ema()
        return float(loss.detach())

    def _check_finite(self) -> None:
        """Stop before saving weights that are no longer numbers (a finite loss can hide them)."""
        for model in {id(m): m for m in (self.model, self.deployed)}.values():
            for tensor in (*model.parameters(), *model.buffers()):
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    lr = self.optimizer.param_groups[0]["lr"]
                    self._diverged("weights became NaN or infinite", lr)

    def _diverged(self, what: str, lr: float) -> None:
        """Stop a run whose loss or weights are no longer numbers: they are lost."""
        last = self.out_dir / "last.safetensors"
        kept = (
            f"{last} keeps the last epoch that was still finite"
            if last.is_file()
            else "nothing was saved"
        )
        raise ParameterError(
            f"The training {what} after step {self.step}: "
            f"the run diverged ({kept}); train again with a lower --lr (now {lr:g})."
        )

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
        self._check_finite()
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
        write_json_atomically(self.out_dir / "summary.json", _json_safe(summary))
        return summary
