#!/usr/bin/env python3
"""Score masks made by ``scripts/detect.py`` on labelled product folders: the product path.

Each ``NAME/`` folder of ``FOLDERS`` (Level-1 product folders with ``NAME.labels.tif``
beside them, as ``../shared/tools/biome_products.py`` writes them from the Biome patches)
is masked by ``scripts/detect.py`` in a subprocess, exactly as a user types it, once per
configuration; the masks are scored against the labels (cloud = thin + thick cloud,
shadow = shadow, fill left out): pooled Jaccard, precision and recall, per biome, for
bright ground (Barren, Shrubland, Urban), and each patch against the first configuration.

Options may name a cross-validation as ``@cv:RUN/cv``: each patch is then masked by the
fold model that held it out (``--weights RUN/cv/foldK/last.safetensors``, at the run's
out-of-fold threshold), so a recipe is scored on the product path out of fold.

Usage:
    .venv/bin/python ../shared/tools/biome_products.py /tmp/products
    .venv/bin/python scripts/product_check.py /tmp/products --out docs/product_check.md \
        --config auto= --config 4-band-alone="--model rgbn --physics off" \
        --config 6-band-alone="--model sixband --physics off"
    .venv/bin/python scripts/product_check.py /tmp/products \
        --config "synthetic s0=@cv:runs/rgbn_synth_s0/cv --physics on"
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from cloud_fcn_plugin.engine.classes import CLOUD_CODES, CLOUD_SHADOW  # noqa: E402
from cloud_fcn_plugin.engine.errors import InputNotFoundError  # noqa: E402
from cloud_fcn_plugin.engine.training.crossval import fold_model  # noqa: E402

#: Label values of the Biome masks.
LABEL_FILL, LABEL_SHADOW, LABEL_CLOUD = 0, 64, (192, 255)
BRIGHT_GROUND = ("Barren", "Shrubland", "Urban")
#: A cross-validation named in a configuration's options.
CV_TOKEN = re.compile(r"@cv:(\S+)")


def out_of_fold(options: str, patch: str) -> str:
    """``options`` with ``@cv:RUN/cv`` replaced by the fold model that held ``patch`` out."""
    found = CV_TOKEN.search(options)
    if found is None:
        return options
    try:
        fold = fold_model(Path(found.group(1)), patch)
    except InputNotFoundError as exc:
        raise SystemExit(str(exc)) from None
    weights = shlex.quote(str(fold.checkpoint))
    return options.replace(found.group(0), f"--weights {weights} --threshold {fold.threshold}")


def detect(folder: Path, mask: Path, options: str) -> None:
    command = [
        sys.executable,
        str(REPO_ROOT / "scripts" / "detect.py"),
        str(folder),
        "-o",
        str(mask),
        "--overwrite",
        "--quiet",
        *shlex.split(options),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    if done.returncode != 0:
        raise SystemExit(f"detect.py failed on {folder.name}: {done.stderr.strip()[-300:]}")


def counts(mask: Path, labels: Path) -> np.ndarray:
    """[cloud tp, fp, fn, shadow tp, fp, fn] of one patch."""
    with rasterio.open(mask) as m, rasterio.open(labels) as t:
        ours, truth = m.read(1), t.read(1)
    keep = truth != LABEL_FILL
    rows = []
    for predicted, actual in (
        (np.isin(ours, CLOUD_CODES), np.isin(truth, LABEL_CLOUD)),
        (ours == CLOUD_SHADOW, truth == LABEL_SHADOW),
    ):
        p, a = predicted[keep], actual[keep]
        rows += [np.sum(p & a), np.sum(p & ~a), np.sum(~p & a)]
    return np.array(rows, np.int64)


def jaccard(c: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = (float(x) for x in c)
    return (100 * tp / max(tp + fp + fn, 1), 100 * tp / max(tp + fp, 1), 100 * tp / max(tp + fn, 1))


def biome(name: str) -> str:
    return name.split("_")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path)
    parser.add_argument("--config", action="append", required=True, metavar="NAME=OPTIONS")
    parser.add_argument("--work", type=Path, default=Path("/tmp/product_check"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--reference", help="the configuration patches are compared with")
    args = parser.parse_args()
    configs = dict(item.split("=", 1) for item in args.config)
    patches = sorted(p for p in args.folders.iterdir() if p.is_dir())
    scores: dict[str, dict[str, np.ndarray]] = {}
    for name, options in configs.items():
        (args.work / name).mkdir(parents=True, exist_ok=True)
        masks = [args.work / name / f"{p.name}.tif" for p in patches]
        with ThreadPoolExecutor(2) as pool:
            fold_options = [out_of_fold(options, p.name) for p in patches]
            list(pool.map(detect, patches, masks, fold_options))
        scores[name] = {
            p.name: counts(m, args.folders / f"{p.name}.labels.tif")
            for p, m in zip(patches, masks, strict=True)
        }
    first = args.reference or next(iter(configs))
    lines = [
        f"# Product path: {len(patches)} labelled product folders through scripts/detect.py",
        "",
        f"Made by `{' '.join(shlex.quote(a) for a in sys.argv)}`.",
        "",
        "| configuration | options | cloud J | precision | recall | bright ground J | "
        f"shadow J | patches > 3 below {first} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    biomes = sorted({biome(p.name) for p in patches})
    for name, options in configs.items():
        rows = scores[name]
        total = sum(rows.values())
        bright = sum(c for p, c in rows.items() if biome(p) in BRIGHT_GROUND)
        below = sum(
            jaccard(c[:3])[0] < jaccard(scores[first][p][:3])[0] - 3 for p, c in rows.items()
        )
        j, prec, rec = jaccard(total[:3])
        lines.append(
            f"| {name} | `{options or '(defaults)'}` | {j:.1f} | {prec:.1f} | {rec:.1f} | "
            f"{jaccard(bright[:3])[0]:.1f} | {jaccard(total[3:])[0]:.1f} | {below} |"
        )
    lines += [
        "",
        "Cloud Jaccard per biome:",
        "",
        "| configuration | " + " | ".join(biomes) + " |",
        "|---|" + "---:|" * len(biomes),
    ]
    for name in configs:
        cells = [
            jaccard(sum(c for p, c in scores[name].items() if biome(p) == b)[:3])[0] for b in biomes
        ]
        lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
