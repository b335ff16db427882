"""Grouped cross-validation: folds by biome or scene, out-of-fold predictions, one threshold.

No patch of a held-out group (an L8 Biome biome, a 38-Cloud scene) is ever
trained on in its fold. Each fold trains the full recipe for its fixed number of
epochs and keeps its *last* checkpoint (choosing an epoch or a threshold on the
held-out fold would measure the choice, not the model). The held-out patches are
then predicted with the engine's own inference; the decision threshold is the one
that maximises the pooled Jaccard of all out-of-fold predictions together, and
every figure (pooled, per fold, per group) is reported at that threshold and at 0.5.

Layout of a cross-validation folder::

    folds.json                 which groups and patches each fold holds out
    fold<K>/last.safetensors   the fold's model (and the trainer's logs)
    fold<K>/oof.npz            its out-of-fold probabilities, truth and validity
    report.json, report.md     the tables

Folds that already have ``oof.npz`` are not trained again, and a fold with a
``last.safetensors`` resumes where it stopped, so an interrupted search continues;
``fold<K>/recipe.json`` records the recipe and patches that made a fold, and a fold
made by another recipe is refused instead of reported as this one's. The stored
predictions are scored by :mod:`.oof_scores`.
"""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputNotFoundError, ParameterError
from ..files import safe_json
from ..files.gate import STATE_BYTES, read_small_json
from .datasets import PatchSpec
from .oof_scores import BIOME_NAME, OutOfFold, cv_report, report_markdown
from .run_folder import check_fold_recipe, recipe_record, write_json_atomically

Log = Callable[[str], None]
_CLOUD38_SCENE = re.compile(r"_(L[CO]0[89]_\w+)$")
OOF_GAINS = (1.0, 0.75)


def patch_group(spec: PatchSpec) -> str:
    """The group a patch belongs to: its biome (L8 Biome), its scene (38-Cloud), or its name."""
    biome = BIOME_NAME.match(spec.name)
    if spec.dataset == "biome" and biome:
        return biome.group(1)
    scene = _CLOUD38_SCENE.search(spec.name)
    if spec.dataset == "38cloud" and scene:
        return f"38-Cloud {scene.group(1)}"
    return spec.name


def make_folds(specs: Sequence[PatchSpec], folds: int) -> list[list[str]]:
    """Split the groups of ``specs`` into ``folds`` folds of about equal patch counts.

    Deterministic: groups are taken largest first (then by name) and each goes to
    the fold that holds the fewest patches so far.

    Returns:
        For each fold, the sorted names of the groups it holds out.

    Raises:
        ParameterError: fewer than 2 folds, or more folds than groups.
    """
    sizes: dict[str, int] = {}
    for spec in specs:
        group = patch_group(spec)
        sizes[group] = sizes.get(group, 0) + 1
    if folds < 2 or folds > len(sizes):
        raise ParameterError(
            f"--folds must be between 2 and the number of groups ({len(sizes)}: "
            f"{', '.join(sorted(sizes))}), got {folds}."
        )
    held: list[list[str]] = [[] for _ in range(folds)]
    counts = [0] * folds
    for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
        target = counts.index(min(counts))
        held[target].append(group)
        counts[target] += sizes[group]
    return [sorted(groups) for groups in held]


def predict_out_of_fold(
    checkpoint: Path, specs: Sequence[PatchSpec], fold: int, gains: Sequence[float] = (1.0,)
) -> list[OutOfFold]:
    """Predict held-out patches with a fold's checkpoint through the engine's inference.

    Each patch is predicted as delivered and at every other gain of ``gains``
    (0.75: a TOA patch as Level-1 DN without sun-angle correction would give it
    at a sun elevation of 49 degrees; see :class:`~.validation.GainReader`).
    """
    from ..inference.predictor import load_predictor
    from ..inference.whole_scene import predict_layers
    from .validation import GainReader

    predictor = load_predictor(checkpoint, device="cpu")
    layers_of = predictor.layout.layers
    shadow_layer = layers_of.index("shadow") if "shadow" in layers_of else None
    results = []
    for spec in specs:
        truth, labelled = spec.read_truth()
        shadow_truth, shadow_known = (None, None)
        if shadow_layer is not None:
            shadow_truth, shadow_known = spec.read_class_truth()[:2] > 0.5
        for gain in gains:
            with spec.open_reader() as reader:
                layers, valid = predict_layers(GainReader(reader, gain), predictor)  # type: ignore[arg-type]
            valid = valid & labelled
            shadow = None if shadow_layer is None else layers[shadow_layer]
            results.append(
                OutOfFold(
                    spec.name, patch_group(spec), fold, gain, layers[0], truth, valid, shadow,
                    shadow_truth, None if shadow_known is None else shadow_known & valid,
                )
            )
    return results


def save_out_of_fold(path: Path, results: Sequence[OutOfFold]) -> None:
    """Store a fold's out-of-fold predictions (probabilities as uint8 percent is too coarse)."""
    arrays: dict[str, np.ndarray] = {}
    for index, item in enumerate(results):
        arrays[f"{index}.probability"] = item.probability.astype(np.float16)
        arrays[f"{index}.truth"] = item.truth
        arrays[f"{index}.valid"] = item.valid
        if item.shadow is not None:
            arrays[f"{index}.shadow"] = item.shadow.astype(np.float16)
            arrays[f"{index}.shadow_truth"] = item.shadow_truth
            arrays[f"{index}.shadow_valid"] = item.shadow_valid
    names = [[r.name, r.group, r.fold, r.gain] for r in results]
    arrays["index"] = np.array(json.dumps(names))
    partial = path.with_name(path.name + ".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(path)


def load_out_of_fold(path: Path) -> list[OutOfFold]:
    """Read what :func:`save_out_of_fold` stored."""
    with np.load(path, allow_pickle=False) as data:
        names = safe_json.loads(str(data["index"]))
        results = []
        for i, (name, group, fold, gain) in enumerate(names):
            shadow = data[f"{i}.shadow"].astype(np.float32) if f"{i}.shadow" in data else None
            results.append(
                OutOfFold(
                    name, group, int(fold), float(gain),
                    data[f"{i}.probability"].astype(np.float32), data[f"{i}.truth"],
                    data[f"{i}.valid"], shadow,
                    data[f"{i}.shadow_truth"] if shadow is not None else None,
                    data[f"{i}.shadow_valid"] if shadow is not None else None,
                )
            )
        return results


# ------------------------------------------------------------------------ running


def _train_fold(
    config: Any, train: list[PatchSpec], held_out: list[PatchSpec], fold: int, provenance: dict
) -> str:
    """Train one fold (in a worker process) and store its out-of-fold predictions."""
    from .trainer import Trainer

    out_dir = Path(config.out_dir)
    trainer = Trainer(config, train, held_out, provenance, log=_fold_log(out_dir))
    last = out_dir / "last.safetensors"
    if last.is_file():
        trainer.resume(last)
    trainer.fit()
    oof = predict_out_of_fold(last, held_out, fold, gains=OOF_GAINS)
    save_out_of_fold(out_dir / "oof.npz", oof)
    return str(out_dir)


def _fold_log(out_dir: Path) -> Log:
    def log(message: str) -> None:
        with open(out_dir / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(message + "\n")

    return log


def cross_validate(
    config: Any,
    specs: Sequence[PatchSpec],
    folds: int,
    jobs: int = 1,
    provenance: dict | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """Train and score every fold; write and return the report.

    Args:
        config: the recipe (:class:`~.config.TrainConfig`); its ``out_dir`` is the
            cross-validation folder, and each fold trains with ``threads`` threads.
        specs: every labelled patch.
        folds: number of folds.
        jobs: folds trained at once, each in its own process.
        provenance: recorded in every fold's checkpoints.
        log: receives progress lines.
    """
    log = log or (lambda message: None)
    root = Path(config.out_dir)
    root.mkdir(parents=True, exist_ok=True)
    held = make_folds(specs, folds)
    plans = []
    # Every fold is checked before any is trained: a refusal comes before the work.
    for k, groups in enumerate(held):
        fold_dir = root / f"fold{k}"
        train = [s for s in specs if patch_group(s) not in groups]
        held_out = [s for s in specs if patch_group(s) in groups]
        fold_config = replace(config, out_dir=fold_dir, patience=0)
        record = recipe_record(
            fold_config.to_json(), [s.name for s in train], [s.name for s in held_out]
        )
        check_fold_recipe(fold_dir, record)
        plans.append((k, groups, fold_dir, train, held_out, fold_config, record))
    write_json_atomically(root / "folds.json", held)
    pending = []
    for k, groups, fold_dir, train, held_out, fold_config, record in plans:
        fold_dir.mkdir(exist_ok=True)
        if (fold_dir / "oof.npz").is_file():
            continue
        write_json_atomically(fold_dir / "recipe.json", record)
        note = {**(provenance or {}), "cross_validation_fold": k, "held_out_groups": groups}
        pending.append((fold_config, train, held_out, k, note))
        log(f"fold {k}: holds out {', '.join(groups)} ({len(held_out)} patches)")
    if pending:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:
            futures = [pool.submit(_train_fold, *args) for args in pending]
            for future in futures:
                log(f"done: {future.result()}")
    return write_report(root)


def write_report(root: Path) -> dict[str, Any]:
    """Score the folds stored in ``root``, write ``report.json`` and ``report.md``; return it."""
    report = cv_report(*load_cross_validation(root))
    write_json_atomically(root / "report.json", report)
    (root / "report.md").write_text(report_markdown(report), encoding="utf-8")
    return report


def load_cross_validation(root: Path) -> tuple[list[OutOfFold], list[list[str]]]:
    """The out-of-fold predictions and fold groups stored in a cross-validation folder.

    Raises:
        InputNotFoundError: the folder is not a finished cross-validation.
    """
    folds_file = root / "folds.json"
    if not folds_file.is_file():
        raise InputNotFoundError(
            f"{root} holds no folds.json: point at the cv/ folder of train.py --folds."
        )
    try:
        folds = read_small_json(folds_file, "the folds", STATE_BYTES)
    except (OSError, ValueError):
        raise InputNotFoundError(
            f"{folds_file} is damaged: run train.py --folds again with --overwrite."
        ) from None
    missing = [k for k in range(len(folds)) if not (root / f"fold{k}" / "oof.npz").is_file()]
    if missing:
        raise InputNotFoundError(
            f"Fold(s) {missing} of {root} have no oof.npz yet: finish the run (train.py "
            "--folds resumes it) before scoring."
        )
    results = [
        r for k in range(len(folds)) for r in load_out_of_fold(root / f"fold{k}" / "oof.npz")
    ]
    return results, folds


@dataclass(frozen=True)
class FoldModel:
    """The model of a cross-validation that held a patch out, and the run's thresholds.

    Attributes:
        checkpoint: the fold's ``last.safetensors``.
        threshold: the run's out-of-fold cloud threshold.
        shadow_threshold: its out-of-fold shadow threshold (multi-class runs), else None.
    """

    checkpoint: Path
    threshold: float
    shadow_threshold: float | None = None


def fold_model(root: Path, patch: str) -> FoldModel:
    """The fold of the finished cross-validation in ``root`` that held ``patch`` out.

    Scoring a recipe out of fold on other paths (product folders, the shadow geometry)
    takes each patch's model from here.

    Raises:
        InputNotFoundError: ``root`` has no report, or no fold held ``patch`` out.
    """
    report_file = root / "report.json"
    if not report_file.is_file():
        raise InputNotFoundError(
            f"{root} holds no report.json: point at the cv/ folder of a finished "
            "train.py --folds."
        )
    report = read_small_json(report_file, "the report", STATE_BYTES)
    for recipe in sorted(root.glob("fold*/recipe.json")):
        if patch in read_small_json(recipe, "the fold's recipe", STATE_BYTES)["held_out"]:
            shadow = report.get("shadow", {}).get("threshold")
            return FoldModel(recipe.parent / "last.safetensors", report["threshold"], shadow)
    raise InputNotFoundError(
        f"no fold of {root} holds {patch} out: score it with the run's final model."
    )


def unseen_fold_models(root: Path, patch: str) -> list[FoldModel]:
    """The fold models of ``root`` that never saw ``patch``: the fold that held it out,
    or every fold when the recipe never trained on it (another source's patch or scene).

    Raises:
        InputNotFoundError: ``root`` has no report.
    """
    try:
        return [fold_model(root, patch)]
    except InputNotFoundError:
        if not (root / "report.json").is_file():
            raise
    report = read_small_json(root / "report.json", "the report", STATE_BYTES)
    shadow = report.get("shadow", {}).get("threshold")
    return [
        FoldModel(checkpoint, report["threshold"], shadow)
        for checkpoint in sorted(root.glob("fold*/last.safetensors"))
    ]


def stamp_checkpoint(path: Path, report: dict[str, Any]) -> None:
    """Give a checkpoint the out-of-fold threshold and the cross-validated figures.

    The final model is trained on every patch, so no held-out figure of its own
    exists: what it records is what the same recipe scored out of fold.
    """
    from ..models.checkpoints import load_checkpoint, save_checkpoint

    model, metadata = load_checkpoint(path, device="cpu")
    keys = ("protocol", "folds", "threshold", "at_oof", "at_0.5", "shadow")
    metrics = {"cross_validation": {key: report[key] for key in keys if key in report}}
    shadow = report.get("shadow", {}).get("threshold", metadata.shadow_threshold)
    save_checkpoint(
        path,
        model,
        replace(metadata, threshold=report["threshold"], shadow_threshold=shadow, metrics=metrics),
    )
