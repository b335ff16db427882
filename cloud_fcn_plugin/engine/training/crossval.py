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
made by another recipe is refused instead of reported as this one's.
"""

from __future__ import annotations

import json
import math
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
from .metrics import Confusion, ThresholdSweep, confusion
from .run_folder import check_fold_recipe, recipe_record, write_json_atomically

Log = Callable[[str], None]
_BIOME_NAME = re.compile(r"^([A-Za-z]+)_\d+_\d+$")
_CLOUD38_SCENE = re.compile(r"_(L[CO]0[89]_\w+)$")
OOF_GAINS = (1.0, 0.75)
#: Name prefix of patches labelled by a teacher model (``scripts/prepare_training_data.py``):
#: they are trained on and predicted out of fold, but never score or calibrate the model.
TEACHER_PREFIX = "teacher_"


def patch_group(spec: PatchSpec) -> str:
    """The group a patch belongs to: its biome (L8 Biome), its scene (38-Cloud), or its name."""
    biome = _BIOME_NAME.match(spec.name)
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


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold predictions of one patch.

    Attributes:
        name: patch name.
        group: its group (see :func:`patch_group`).
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


# ----------------------------------------------------------------------- scoring


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
    biome = [r for r in results if _BIOME_NAME.match(r.name)]
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
    biome = [r for r in shadows if _BIOME_NAME.match(r.name)]
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
        lines += [
            f"### At {title}",
            "",
            "| subset | patches | Jaccard | precision | recall | OA |",
            "|---|---|---|---|---|---|",
            _row("all, pooled", block["pooled"]),
            _row("L8 Biome, pooled", block["pooled_biome"]),
        ]
        lines += [_row(f"all, pooled, at gain {g}", v) for g, v in block["pooled_at_gain"].items()]
        lines += [_row(f"fold {k}", v) for k, v in block["by_fold"].items()]
        lines += [_row(g, v) for g, v in block["by_group"].items()]
        lines.append("")
    shadow = report.get("shadow")
    if shadow:
        lines += [
            f"### Cloud shadow, at threshold {shadow['threshold']:.3f} (out of fold)",
            "",
            "| subset | patches | Jaccard | precision | recall | OA |",
            "|---|---|---|---|---|---|",
            _row("shadow-labelled, pooled", shadow["pooled"]),
            _row("L8 Biome, pooled", shadow["pooled_biome"]),
        ]
        lines += [_row(g, v) for g, v in shadow["by_group"].items()]
        lines.append("")
    return "\n".join(lines)


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
