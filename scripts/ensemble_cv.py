#!/usr/bin/env python3
"""The 4-band + 6-band ensemble against each model alone, out of fold, on the product path.

Every labelled product folder of each ``FOLDERS`` set (``../shared/tools/biome_products.py``
for Level-1, ``scripts/biome_level2_products.py`` for Level-2) is masked by the fold models
that held it out: the 6-band run's and the 4-band run's of the same seed, each at its
run's out-of-fold threshold, alone and as the ensemble (engine/models/union.py), with the
physics stage ``auto`` sets for that model and input kind. Each shared Level-2 scene is
masked the same way by the folds that never saw it (the 6-band fold that held its
teacher labels out, paired with every 4-band fold) and compared with its ``QA_PIXEL``;
with ``--stacks``, labelled 6-band stacks (the ukis-csmask patches as train.py's
``pairs:`` wrote them) too, with no physics (they have no thermal band).

Usage (from the project root; the runs are the bundled recipes' 3-seed CVs):
    .venv/bin/python scripts/ensemble_cv.py /tmp/level2_sr /tmp/level2 /tmp/products \\
        --six runs/mc_sb_cv/cv runs/mc_sb_cv_s1/cv runs/mc_sb_cv_s2/cv \\
        --four runs/rgbn_geo_s0/cv runs/rgbn_geo_s1/cv runs/rgbn_geo_s2/cv \\
        --stacks runs/ukis --out docs/ensemble_cv.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import rasterio

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from product_check import BRIGHT_GROUND, biome, counts, jaccard  # noqa: E402

from cloud_fcn_plugin.engine.inference.predictor import (  # noqa: E402
    Predictor,
    load_predictor,
    load_union_predictor,
)
from cloud_fcn_plugin.engine.models.choice import ModelChoice  # noqa: E402
from cloud_fcn_plugin.engine.outputs.qa_compare import compare_scene  # noqa: E402
from cloud_fcn_plugin.engine.params import ENSEMBLE, DetectionParams  # noqa: E402
from cloud_fcn_plugin.engine.pipeline import detect_clouds  # noqa: E402
from cloud_fcn_plugin.engine.training.crossval import fold_model, unseen_fold_models  # noqa: E402

# The labelled patches carry no georeferencing; the masks keep it that way.
warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning)
DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
CONFIGS = ("6-band", "4-band", "ensemble")
Fold = tuple[Path, float]


@cache
def _predictor(members: tuple[Fold, ...]) -> Predictor:
    if len(members) == 1:
        return load_predictor(members[0][0], device="cpu")
    return load_union_predictor(list(members), device="cpu")


def _members(config: str, six: Fold, four: Fold) -> tuple[tuple[Fold, ...], ModelChoice]:
    """The fold models a configuration runs, and the model choice the pipeline gets."""
    members = {"6-band": (six,), "4-band": (four,), "ensemble": (six, four)}[config]
    name = {"6-band": "sixband", "4-band": "rgbn", "ensemble": ENSEMBLE}[config]
    return members, ModelChoice(name, members[0][0], (), f"{config} fold model")


def _params(members: tuple[Fold, ...]) -> DetectionParams:
    """One model at its fold's threshold; an ensemble at its own (each member at its fold's)."""
    return DetectionParams(threshold=members[0][1] if len(members) == 1 else None, overwrite=True)


def run(folder: Path, mask: Path, config: str, six: Fold, four: Fold) -> None:
    """Mask ``folder`` with one configuration (each model at its fold's threshold)."""
    members, choice = _members(config, six, four)
    detect_clouds(folder, mask, _params(members), predictor=_predictor(members), model=choice)


def product_rows(folders: Path, six_runs: list[Path], four_runs: list[Path], work: Path) -> list:
    """Per seed and configuration: pooled, bright-ground, per-biome counts; per-patch Jaccard."""
    patches = sorted(p for p in folders.iterdir() if p.is_dir())
    rows = []
    for seed, (six_run, four_run) in enumerate(zip(six_runs, four_runs, strict=True)):
        per_config = {}
        for config in CONFIGS:
            per_patch = {}
            for patch in patches:
                six, four = fold_model(six_run, patch.name), fold_model(four_run, patch.name)
                mask = work / f"{folders.name}_{seed}_{config}_{patch.name}.tif"
                run(patch, mask, config, (six.checkpoint, six.threshold),
                    (four.checkpoint, four.threshold))  # fmt: skip
                per_patch[patch.name] = counts(mask, folders / f"{patch.name}.labels.tif")[:3]
            per_config[config] = per_patch
        rows.append(per_config)
    return rows


def qa_rows(six_runs: list[Path], four_runs: list[Path], work: Path) -> dict:
    """Cloud Jaccard against QA_PIXEL per configuration, scene and seed (mean over folds),
    as ``compare_qa.py`` scores it (the engine's ``compare_scene``)."""
    scenes = sorted((DATA_DIR / "scenes").glob("LC08_L2SP_*"))
    table: dict[str, dict[str, list[float]]] = {c: {s.name: [] for s in scenes} for c in CONFIGS}
    for scene in scenes:
        for six_run, four_run in zip(six_runs, four_runs, strict=True):
            six = _unseen(six_run, f"teacher_{scene.name}")[0]
            seed: dict[str, list[float]] = {c: [] for c in CONFIGS}
            for four in _unseen(four_run, f"teacher_{scene.name}"):
                for config in CONFIGS:
                    members, choice = _members(config, six, four)
                    compared = compare_scene(
                        scene, work, _params(members), predictor=_predictor(members), model=choice
                    )
                    seed[config].append(compared.cloud_jaccard)
            for config in CONFIGS:
                table[config][scene.name].append(float(np.mean(seed[config])))
    return table


def stack_rows(patches: Path, six_runs: list[Path], four_runs: list[Path], work: Path) -> dict:
    """Cloud (J, precision, recall) per configuration and stack of ``patches/images`` (labels in
    ``patches/masks``), per seed: the 6-band fold that held the patch out, each 4-band fold
    that never saw it (averaged)."""
    table: dict[str, dict[str, list]] = {}
    for image in sorted((patches / "images").glob("*.tif")):
        labels = patches / "masks" / image.name
        for six_run, four_run in zip(six_runs, four_runs, strict=True):
            six = _unseen(six_run, image.stem)[0]
            for config in CONFIGS:
                scores = []
                for four in _unseen(four_run, image.stem):
                    mask = work / f"{image.stem}_{config}.tif"
                    run(image, mask, config, six, four)
                    scores.append(jaccard(counts(mask, labels)[:3]))
                table.setdefault(config, {}).setdefault(image.stem, []).append(
                    np.mean(scores, axis=0)
                )
    return table


def _unseen(run_dir: Path, name: str) -> list[Fold]:
    """The folds of ``run_dir`` that never saw ``name`` (see ``unseen_fold_models``)."""
    return [(f.checkpoint, f.threshold) for f in unseen_fold_models(run_dir, name)]


def product_table(name: str, rows: list) -> list[str]:
    lines = [
        f"### {name}",
        "",
        "| configuration | pooled cloud J, 3 seeds | bright ground | SnowIce | Urban | "
        "patches > 3 below the 4-band model |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for config in CONFIGS:
        pooled, bright, snow, urban, below = [], [], [], [], []
        for per_config in rows:
            per_patch = per_config[config]
            pooled.append(jaccard(sum(per_patch.values()))[0])
            for group, out in (
                (BRIGHT_GROUND, bright), (("SnowIce",), snow), (("Urban",), urban)
            ):  # fmt: skip
                out.append(
                    jaccard(
                        sum(
                            (c for p, c in per_patch.items() if biome(p) in group),
                            np.zeros(3, np.int64),
                        )
                    )[0]
                )
            four = per_config["4-band"]
            below.append(sum(jaccard(c)[0] < jaccard(four[p])[0] - 3 for p, c in per_patch.items()))
        lines.append(
            f"| {config} | {np.mean(pooled):.1f} ({min(pooled):.1f}-{max(pooled):.1f}) | "
            f"{np.mean(bright):.1f} | {np.mean(snow):.1f} | {np.mean(urban):.1f} | "
            f"{'/'.join(str(b) for b in below)} |"
        )
    lines += [
        "",
        "Patches of the ensemble more than 3 points below the 4-band model (seed: J / J):",
    ]
    for seed, per_config in enumerate(rows):
        ours, four = per_config["ensemble"], per_config["4-band"]
        worse = [
            f"{p} {jaccard(c)[0]:.1f} / {jaccard(four[p])[0]:.1f}"
            for p, c in ours.items()
            if jaccard(c)[0] < jaccard(four[p])[0] - 3
        ]
        lines.append(f"- seed {seed}: {', '.join(worse) or 'none'}")
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="labelled product folder sets")
    parser.add_argument("--six", nargs="+", type=Path, required=True, help="6-band cv/ folders")
    parser.add_argument("--four", nargs="+", type=Path, required=True, help="4-band cv/ folders")
    parser.add_argument("--stacks", type=Path, help="images/ and masks/ of labelled stacks")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if len(args.six) != len(args.four):
        raise SystemExit("give as many 6-band runs as 4-band runs (one pair per seed)")
    lines = [
        "# The 4-band + 6-band ensemble, out of fold (issue 22)",
        "",
        f"Made by `scripts/ensemble_cv.py {' '.join(sys.argv[1:])}`.",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        for folders in args.folders:
            rows = product_rows(folders, args.six, args.four, Path(work))
            table_lines = product_table(folders.name, rows)
            lines += table_lines
            print("\n".join(table_lines), flush=True)
        table = qa_rows(args.six, args.four, Path(work))
        stacks = stack_rows(args.stacks, args.six, args.four, Path(work)) if args.stacks else {}
    scenes = list(next(iter(table.values())))
    lines += [
        "### The shared Level-2 scenes: cloud Jaccard against QA_PIXEL",
        "",
        "| configuration | " + " | ".join(s[10:16] for s in scenes) + " |",
        "|---|" + "---:|" * len(scenes),
    ]
    for config, per_scene in table.items():
        cells = " | ".join(
            f"{np.mean(v):.1f} ({min(v):.1f}-{max(v):.1f})" for v in per_scene.values()
        )
        lines.append(f"| {config} | {cells} |")
    lines += [
        "",
        "Each cell: the mean over the seeds (range); a seed's figure is the 6-band fold that held "
        "the scene's teacher labels out, and each 4-band fold (the 4-band recipe never saw the "
        "scene), averaged.",
    ]
    print("\n".join(lines[-(len(table) + 6) :]))
    if stacks:
        names = list(next(iter(stacks.values())))
        lines += [
            "",
            f"### Labelled stacks ({args.stacks}), no thermal band: cloud J (precision, recall)",
            "",
            "| configuration | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for config, per_stack in stacks.items():
            cells = []
            for values in per_stack.values():
                v = np.array(values)
                cells.append(
                    f"{v[:, 0].mean():.1f} ({v[:, 0].min():.1f}-{v[:, 0].max():.1f}; "
                    f"P {v[:, 1].mean():.1f}, R {v[:, 2].mean():.1f})"
                )
            lines.append(f"| {config} | " + " | ".join(cells) + " |")
        print("\n".join(lines[-(len(stacks) + 4) :]))
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
