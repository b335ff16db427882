#!/usr/bin/env python3
"""Score public cloud models on the patches and groups of our grouped cross-validation.

The peer is ukis-csmask (DLR, Apache-2.0; Wieland et al. 2019, 2022): a U-Net with
an EfficientNet-B4 encoder shipped as ONNX, a 4-band (blue, green, red, NIR) and a
6-band (+ SWIR1 B6, SWIR2 B7) model, classes clear / cloud / cloud shadow. Its
Level-1C models are used: they take top-of-atmosphere reflectance in 0..1, which is
what the engine's reader gives for both collections here (Biome: TOA as stored;
38-Cloud: Level-1 DN as ``2e-5 * DN - 0.1``, no MTL, no sun-angle correction).

Nothing of ukis-csmask is a dependency of the project: ``make peers`` installs it
into its own virtual environment (``.venv-peers``) and runs this script with the
project's Python, which reads the patches with the engine's datasets code, hands
the reflectance to the peer environment through a temporary ``.npz``, and scores
the answers with the cross-validation's own code
(:func:`~cloud_fcn_plugin.engine.training.oof_scores.cv_report`), so the figures sit
beside ours on exactly the same patches, groups and folds. The peer's ``cloud``
class (argmax, its own decision) is the headline; its cloud probability (softmax
share of the cloud class, blended over its tiles) is also scored at the best pooled
threshold and at 0.5. Its ``cloud shadow`` class (argmax) is scored too, against the
labelled shadow of the L8 Biome masks, where shadow is known.

Examples:
    make peers                              # installs ukis-csmask[cpu] in .venv-peers, runs this
    .venv/bin/python scripts/compare_peers.py --out peers_output \\
        --folds-file runs/cv/cv/folds.json  # the folds of a train.py --folds run

Writes ``peers.json`` and ``peers.md`` into ``--out`` and prints the pooled Biome
Jaccard, precision and recall of each peer model, and its seconds per megapixel
(single thread) on a mosaic of the patches.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Each of these needs numpy alone at import: the peers' environment runs this file too.
from cloud_fcn_plugin.engine.errors import CloudFcnError
from cloud_fcn_plugin.engine.training.peers.compare import PeerRun, compare
from cloud_fcn_plugin.engine.training.peers.inputs import (
    peer_input,
    read_patch,
    read_shadow_truth,
    timing_mosaic,
)
from cloud_fcn_plugin.engine.training.peers.peer import PEER
from cloud_fcn_plugin.engine.training.peers.report import (
    model_line,
    model_markdown,
    summary_markdown,
    write_outputs,
)
from cloud_fcn_plugin.engine.training.peers.scoring import score_peer, score_peer_shadow
from cloud_fcn_plugin.engine.training.peers.worker import cloud_share, run_peer

# The engine's names the tests read from this script, as before they moved to the engine.
__all__ = [
    "cloud_share",
    "main",
    "model_markdown",
    "peer_input",
    "read_patch",
    "read_shadow_truth",
    "score_peer",
    "score_peer_shadow",
    "summary_markdown",
    "timing_mosaic",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATASETS = (
    f"biome:{DATA_DIR / 'l8biome_patches' / 'train'}",
    f"biome:{DATA_DIR / 'l8biome_patches' / 'val'}",
    f"38cloud:{DATA_DIR / '38cloud_sample' / '38-Cloud_training'}",
)
DEFAULT_PEER_PYTHON = REPO_ROOT / ".venv-peers" / "bin" / "python"


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        description=f"Score {PEER} on the patches, groups and folds of our grouped "
        "cross-validation (run it with `make peers`, which installs the peer apart).",
    )
    parser.add_argument(
        "datasets",
        nargs="*",
        default=list(DEFAULT_DATASETS),
        help="biome:PATH, 38cloud:PATH ... as for train.py (default: the shared Biome "
        "train and val patches and the 38-Cloud sample)",
    )
    parser.add_argument("--out", type=Path, default=Path("peers_output"), help="output folder")
    parser.add_argument("--folds", type=int, default=3, help="folds, as train.py --folds K")
    parser.add_argument(
        "--folds-file", type=Path, default=None, help="folds.json of a cross-validation run"
    )
    parser.add_argument(
        "--peer-python",
        type=Path,
        default=DEFAULT_PEER_PYTHON,
        help=f"Python of the environment that has {PEER} (made by `make peers`)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads of the peer")
    parser.add_argument(
        "--timing-side", type=int, default=2048, help="side of the timing mosaic (0: no timing)"
    )
    parser.add_argument("--timing-repeats", type=int, default=1)
    # The peer's side: this file run again by the peers' Python (see PeerRun).
    parser.add_argument("--peer-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.peer_worker:
        run_peer(*args.peer_worker, threads=args.threads, repeats=args.timing_repeats)
        return 0
    peer = PeerRun(args.peer_python, Path(__file__).resolve(), args.threads, args.timing_repeats)
    try:
        report = compare(
            args.datasets, peer, folds=args.folds, folds_file=args.folds_file,
            timing_side=args.timing_side,
        )  # fmt: skip
        write_outputs(report, args.out)
    except CloudFcnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for label, entry in report["models"].items():
        print(model_line(label, entry))
    print(f"Wrote {args.out / 'peers.json'} and {args.out / 'peers.md'}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
