"""Cross-validated recipes against the QA band of every shared Level-2 scene, out of fold.

For each run's ``cv/`` folder and each shared Level-2 scene, the scene is masked (as
``scripts/compare_qa.py`` does, through the engine's ``compare_scene``; ``--physics on``:
the Level-2 thermal veto; shadow left out) by the fold model that held the scene out,
at the run's out-of-fold threshold. A recipe that trained on the scene (the teacher's
labels, ``teacher_<scene>``) is scored by the fold that held those labels out; a recipe
that never saw it, by each of its folds (mean). The script prints the cloud Jaccard
against the QA band (cloud = thick + thin) and the cloud cover per scene.

Usage (from the project root):
    .venv/bin/python scripts/qa_agreement_cv.py runs/rgbn_geo_s0/cv runs/mc_sb_cv/cv
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from cloud_fcn_plugin.engine.outputs.qa_compare import compare_scene  # noqa: E402
from cloud_fcn_plugin.engine.params import DetectionParams  # noqa: E402
from cloud_fcn_plugin.engine.training.crossval import unseen_fold_models  # noqa: E402

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))


def fold_params(run: Path, scene: Path) -> list[DetectionParams]:
    """The run parameters of the fold(s) that never saw ``scene``."""
    return [
        DetectionParams(weights=f.checkpoint, threshold=f.threshold, physics="on", shadow="network")
        for f in unseen_fold_models(run, f"teacher_{scene.name}")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="cv/ folders of train.py --folds runs")
    args = parser.parse_args()
    scenes = sorted((DATA_DIR / "scenes").glob("LC08_L2SP_*"))
    print("| run | " + " | ".join(s.name[10:16] for s in scenes) + " |")
    print("|---" * (len(scenes) + 1) + "|")
    with tempfile.TemporaryDirectory() as work:
        for number, run in enumerate(args.runs):
            rows = [[compare_scene(s, work, p) for p in fold_params(run, s)] for s in scenes]
            if number == 0:  # the QA band's cover is the same for every run
                covers = " | ".join(f"{r[0].qa.cloud_cover:.1f}" for r in rows)
                print(f"| QA band cover % | {covers} |")
            cells = [
                f"J {np.mean([r.cloud_jaccard for r in scene_rows]):.1f} "
                f"(cover {np.mean([r.network.cloud_cover for r in scene_rows]):.1f})"
                for scene_rows in rows
            ]
            print(f"| {run} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
