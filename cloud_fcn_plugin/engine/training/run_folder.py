"""What a training run may do with its output folder: claim it, replace it, or reuse it.

A run folder holds a model somebody may rely on, so a new run never writes over one
unasked: it needs ``resume`` (continue it) or ``overwrite`` (replace it). A
cross-validation fold is reused only when the recipe that trained it, recorded
beside it as a fingerprint, is the recipe asked for now.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import OutputExistsError, OutputNotWritableError
from ..files.gate import SIDECAR_BYTES, read_small_json
from ..models.checkpoints import atomic_write

#: Files a training run writes into its folder (the trainer's and a fold's).
RUN_FILES = (
    "last.safetensors",
    "last.json",
    "last.state.safetensors",
    "last.state.json",
    "best.safetensors",
    "best.json",
    "history.csv",
    "curves.png",
    "summary.json",
    "log.txt",
    "oof.npz",
    "recipe.json",
)
#: Files of a cross-validation folder besides its ``fold<K>`` folders.
CV_FILES = ("folds.json", "report.json", "report.md")
#: Recipe fields that change where or how fast a run goes, not what it learns.
_NOT_RECIPE = ("out_dir", "workers", "threads", "device")
#: Augmentation knobs added after runs were recorded: while they are off they are left
#: out of the record, so folds trained before they existed are still reused.
_LATER_AUGMENT = ("synthetic_cumulus", "surface_prob", "surface_channels")


def run_files(folder: Path) -> list[Path]:
    """The files of a training run that exist in ``folder``."""
    return [folder / name for name in RUN_FILES if (folder / name).exists()]


def check_run_folder(
    folder: Path, *, resume: bool, overwrite: bool, final_model: bool = True
) -> None:
    """Check, before any work, that a run may write into ``folder``.

    Args:
        folder: the run's ``--out``.
        resume: the run continues the one in ``folder``.
        overwrite: the run replaces the one in ``folder`` (see :func:`remove_run`).
        final_model: the run writes a model into ``folder`` itself; a
            cross-validation alone writes only ``cv/``, whose folds
            :func:`check_fold_recipe` guards.

    Raises:
        OutputExistsError: ``folder`` is a file, or holds a run and neither ``resume``
            nor ``overwrite`` was asked for.
    """
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(
            f"--out {folder} is a file, not a folder: give a folder for the run's files."
        )
    found = run_files(folder) if folder.is_dir() else []
    if not found or resume or overwrite or not final_model:
        return
    raise OutputExistsError(
        f"{folder} already holds a training run ({found[0].name}): continue it with "
        f"--resume {folder / 'last.safetensors'}, choose another --out, or pass "
        "--overwrite to replace it."
    )


def remove_run(folder: Path) -> None:
    """Delete the run files of ``folder`` (and of its ``cv`` folds), nothing else."""
    for path in run_files(folder):
        path.unlink()
    cv = folder / "cv"
    if not cv.is_dir():
        return
    for name in CV_FILES:
        (cv / name).unlink(missing_ok=True)
    for fold in sorted(cv.glob("fold*")):
        if fold.is_dir():
            for path in run_files(fold):
                path.unlink()


def recipe_record(
    recipe: dict[str, Any], train: Sequence[str], held_out: Sequence[str]
) -> dict[str, Any]:
    """What decides a fold's result: the recipe and the patches, with their fingerprint."""
    learned = {k: v for k, v in recipe.items() if k not in _NOT_RECIPE}
    augment = learned.get("augment")
    if isinstance(augment, dict):
        learned["augment"] = {k: v for k, v in augment.items() if v or k not in _LATER_AUGMENT}
    record = {"recipe": learned, "train": sorted(train), "held_out": sorted(held_out)}
    text = json.dumps(record, sort_keys=True, default=str)
    # Compared with what a file gives back: as JSON (tuples become lists).
    return {"fingerprint": hashlib.sha256(text.encode("utf-8")).hexdigest(), **json.loads(text)}


def check_fold_recipe(fold: Path, record: dict[str, Any]) -> bool:
    """Whether ``fold`` holds work to reuse; refuse it when another recipe made it.

    Returns:
        False for a fold with nothing in it yet, True for one made by this recipe.

    Raises:
        OutputExistsError: the fold was made by another recipe, or by a version that
            did not record its recipe.
    """
    if not run_files(fold):
        return False
    path = fold / "recipe.json"
    try:
        saved = read_small_json(path, "the recipe", SIDECAR_BYTES)
    except (OSError, ValueError):
        saved = None
    if isinstance(saved, dict) and saved.get("fingerprint") == record["fingerprint"]:
        return True
    changed = _differences(saved, record) if isinstance(saved, dict) else "no recorded recipe"
    raise OutputExistsError(
        f"{fold} was trained with another recipe ({changed}): its results would be "
        "reported as this recipe's; use another --out, or pass --overwrite to train the "
        "folds again."
    )


def _differences(saved: dict[str, Any], record: dict[str, Any]) -> str:
    old, new = saved.get("recipe") or {}, record["recipe"]
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if saved.get("train") != record["train"] or saved.get("held_out") != record["held_out"]:
        keys.append("patches")
    return "differs in " + ", ".join(keys[:5]) if keys else "fingerprint differs"


def write_json_atomically(path: Path, value: Any) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it over ``path``.

    Raises:
        OutputNotWritableError: the file cannot be written (full disk, read-only).
    """
    text = json.dumps(value, indent=1, allow_nan=False)
    try:
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write {path}: {exc.strerror or exc}; check free disk space."
        ) from None
