#!/usr/bin/env python3
"""Cross-validated recipes against the QA band of every shared Level-2 scene, out of fold.

For each run's ``cv/`` folder and each shared Level-2 scene, the scene is masked through
``scripts/detect.py`` (``--physics on``: the Level-2 thermal veto; shadow left out) by
the fold model that held the scene out, at the run's out-of-fold threshold. A recipe
that trained on the scene (the teacher's labels, ``teacher_<scene>``) is scored by the
fold that held those labels out; a recipe that never saw it, by each of its folds
(mean). The masks are held against the product's QA band as ``--model qa`` decodes it
(cloud = thick + thin), and the script prints cloud Jaccard and cover per scene.

Usage (from the project root):
    .venv/bin/python scripts/qa_agreement_cv.py runs/rgbn_geo_s0/cv runs/mc_sb_cv/cv
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from cloud_fcn_plugin.engine.errors import InputNotFoundError  # noqa: E402
from cloud_fcn_plugin.engine.training.crossval import fold_model  # noqa: E402

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
CLOUD, NODATA = (1, 2), 255


def masked(scene: Path, out: Path, *options: str) -> np.ndarray:
    """The mask ``scripts/detect.py`` writes for ``scene`` with ``options``."""
    command = [sys.executable, str(REPO_ROOT / "scripts" / "detect.py"), str(scene), "-o", str(out)]
    command += ["--overwrite", "--quiet", "--shadow", "network", *options]
    subprocess.run(
        command, check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    with rasterio.open(out) as src:
        return src.read(1)


def fold_options(run: Path, scene: Path) -> list[list[str]]:
    """``--weights``/``--threshold`` of the fold(s) that never saw ``scene``."""
    try:
        fold = fold_model(run, f"teacher_{scene.name}")
        return [["--weights", str(fold.checkpoint), "--threshold", str(fold.threshold)]]
    except InputNotFoundError:
        threshold = str(json.loads((run / "report.json").read_text())["threshold"])
        folds = sorted(run.glob("fold*/last.safetensors"))
        return [["--weights", str(fold), "--threshold", threshold] for fold in folds]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="cv/ folders of train.py --folds runs")
    args = parser.parse_args()
    scenes = sorted((DATA_DIR / "scenes").glob("LC08_L2SP_*"))
    print("| run | " + " | ".join(s.name[10:16] for s in scenes) + " |")
    print("|---" * (len(scenes) + 1) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mask.tif"
        truth = {}
        for scene in scenes:
            qa = masked(scene, out, "--model", "qa")
            truth[scene] = np.isin(qa, CLOUD), qa != NODATA
        print("| QA band cover % | " + " | ".join(
            f"{100 * c[v].mean():.1f}" for c, v in truth.values()) + " |")  # fmt: skip
        for run in args.runs:
            cells = []
            for scene in scenes:
                qa_cloud, valid = truth[scene]
                scores = []
                for options in fold_options(run, scene):
                    cloud = np.isin(masked(scene, out, *options, "--physics", "on"), CLOUD)
                    union = ((cloud | qa_cloud) & valid).sum()
                    scores.append((100 * (cloud & qa_cloud & valid).sum() / max(union, 1),
                                   100 * cloud[valid].mean()))  # fmt: skip
                jaccard, cover = np.mean(scores, axis=0)
                cells.append(f"J {jaccard:.1f} (cover {cover:.1f})")
            print(f"| {run} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
