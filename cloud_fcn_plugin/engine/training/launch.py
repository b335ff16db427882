"""One training command: train, cross-validate then train, or recalibrate, as asked.

The steps a command runs in order: check the run folder before any work, load the
patches, hold out validation, replace an old run only once the data has loaded, then
train (:class:`~.trainer.Trainer`) or cross-validate first (:mod:`.crossval`) and stamp
the final model with the out-of-fold figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from .config import TrainConfig
from .crossval import cross_validate, stamp_checkpoint
from .datasets import PatchSpec
from .oof_scores import report_markdown
from .patch_sets import DataOptions, describe, load_patch_sets, split_validation
from .run_folder import check_run_folder, remove_run
from .trainer import Trainer
from .validation import recalibrate

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainingRequest:
    """What a training command asks for beside the recipe.

    Attributes:
        train: training dataset strings (see :func:`.patch_sets.load_patch_sets`).
        val: validation dataset strings, kept apart from training.
        data: how the dataset strings are read.
        command: the command line, recorded in the provenance.
        val_split: without ``val``: share of the training patches held out.
        resume: ``last.safetensors`` of the run to continue.
        overwrite: replace the run already in the output folder.
        folds: grouped cross-validation first with this many folds (0: none).
        jobs: folds trained at once, one process each.
        cv_only: stop after the cross-validation.
    """

    train: list[str]
    val: list[str] = field(default_factory=list)
    data: DataOptions = field(default_factory=DataOptions)
    command: str = ""
    val_split: float = 0.0
    resume: Path | None = None
    overwrite: bool = False
    folds: int = 0
    jobs: int = 1
    cv_only: bool = False


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training command made.

    Attributes:
        path: the model to use, or the cross-validation report when only that ran.
        threshold: the model's threshold; None for a report.
        log_dir: the run folder holding the training log.
        cross_validated: the threshold is the cross-validation's out-of-fold one.
    """

    path: str | Path
    threshold: float | None = None
    log_dir: Path | None = None
    cross_validated: bool = False

    def summary(self) -> str:
        """The line that ends the command's output."""
        if self.threshold is None:
            return f"Cross-validation report: {self.path}"
        if self.cross_validated:
            return f"Done: {self.path} (threshold {self.threshold:.3f} from the cross-validation)."
        return f"Done: {self.path} (threshold {self.threshold:.3f}); log in {self.log_dir}."


def check_request(request: TrainingRequest, out: Path | None) -> None:
    """Refuse, before any work, a command that cannot train or would replace a run unasked.

    Raises:
        ParameterError: no training data or no output folder, or --resume with --overwrite.
        OutputExistsError: a file, or a folder that holds a run (see
            :func:`.run_folder.check_run_folder`).
    """
    if not request.train or out is None:
        raise ParameterError("Training needs --train DATASET and --out FOLDER.")
    if request.resume is not None and request.overwrite:
        raise ParameterError(
            "--resume continues the run in --out, --overwrite replaces it: give one of them."
        )
    final_model = not (request.folds and request.cv_only)
    resume = request.resume is not None
    check_run_folder(out, resume=resume, overwrite=request.overwrite, final_model=final_model)


def train(request: TrainingRequest, config: TrainConfig, log: Log | None = None) -> TrainingOutcome:
    """Train the recipe, or cross-validate it first, as the request asks.

    Call :func:`check_request` first: this loads the data and then replaces an old run
    when ``request.overwrite`` says so.

    Args:
        request: datasets, resume, folds.
        config: the recipe; its ``out_dir`` is the run folder.
        log: receives the progress, the cross-validation report and data notes.
    """
    log = log or (lambda message: None)
    train_specs = load_patch_sets(request.train, request.data, log)
    val_specs = load_patch_sets(request.val, request.data, log)
    if not val_specs and request.val_split:
        train_specs, val_specs = split_validation(train_specs, request.val_split, config.seed)
    provenance = {
        "command": request.command,
        "train_data": describe(request.train, train_specs),
        "validation_data": describe(request.val or [f"val-split {request.val_split}"], val_specs),
    }
    if request.overwrite:
        remove_run(config.out_dir)  # asked for, and only now that the data has loaded
    if request.folds:
        return _cross_validate_then_train(request, config, train_specs + val_specs, provenance, log)
    trainer = Trainer(config, train_specs, val_specs, provenance, log=log)
    if request.resume is not None:
        trainer.resume(request.resume)
    summary = trainer.fit()
    best = summary.get("best") or summary.get("last")
    return TrainingOutcome(best["path"], best["threshold"], log_dir=config.out_dir)


def _cross_validate_then_train(
    request: TrainingRequest,
    config: TrainConfig,
    specs: list[PatchSpec],
    provenance: dict[str, Any],
    log: Log,
) -> TrainingOutcome:
    """Cross-validate the recipe, then train it on every patch and stamp the CV figures."""
    cv_dir = config.out_dir / "cv"
    report = cross_validate(
        replace(config, out_dir=cv_dir), specs, request.folds, request.jobs, provenance, log=log
    )
    log(report_markdown(report))
    if request.cv_only:
        return TrainingOutcome(cv_dir / "report.md")
    final = {**provenance, "train_data": describe(request.train + request.val, specs)}
    final["validation_data"] = describe([], [])
    trainer = Trainer(config, specs, (), final, log=log)
    last = config.out_dir / "last.safetensors"
    if request.resume is not None:
        trainer.resume(request.resume)
    trainer.fit()
    stamp_checkpoint(last, report)
    return TrainingOutcome(last, report["threshold"], cross_validated=True)


def recalibrate_on(
    checkpoint: Path,
    val: Sequence[str],
    data: DataOptions,
    metric: str,
    gains: Sequence[float],
    command: str,
    log: Log | None = None,
) -> tuple[float, dict[str, Any]]:
    """Choose an existing checkpoint's threshold anew on the ``val`` patches and store it.

    Returns:
        The threshold and the pooled validation scores at it.

    Raises:
        ParameterError: ``val`` gives no labelled patch.
    """
    val_specs = load_patch_sets(val, data, log)
    if not val_specs:
        raise ParameterError("--recalibrate needs labelled patches given with --val.")
    note = {"command": command, "validation_data": describe(val, val_specs)}
    threshold, metrics = recalibrate(checkpoint, val_specs, metric, gains, note)
    return threshold, metrics["at_calibrated_threshold"]["pooled"]
