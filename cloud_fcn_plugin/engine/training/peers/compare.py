"""One comparison: read the patches, run the peer in its own environment, score its answers."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputNotFoundError, ParameterError
from .inputs import assign_folds, mosaic_for_timing, read_patch, read_shadow_truth
from .peer import PEER, PEER_LEVEL, PEER_MODELS, THREAD_VARIABLES
from .scoring import score_peer, score_peer_shadow


@dataclass(frozen=True)
class PeerRun:
    """How the peer's side is run.

    Attributes:
        python: the Python of the environment that has the peer (``.venv-peers``).
        worker: the script that python runs as
            ``WORKER --peer-worker IN.npz OUT.npz --threads N --timing-repeats R``
            and that calls :func:`.worker.run_peer` (``scripts/compare_peers.py``).
        threads: threads of the peer.
        repeats: timed runs on the mosaic.
    """

    python: Path
    worker: Path
    threads: int = 1
    repeats: int = 1


def check_peer_python(path: Path) -> None:
    """Refuse a peer Python that is not there, saying how to get one."""
    if not path.is_file():
        raise InputNotFoundError(
            f"No Python at {path}: run `make peers`, which installs {PEER} into "
            ".venv-peers, or pass --peer-python."
        )


def call_peer(peer: PeerRun, inputs: Path, outputs: Path) -> None:
    """Run the peer's side on ``inputs``, which writes ``outputs``; its output goes to ours."""
    env = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(peer.threads))}
    # The peers' environment is apart: our packages must not leak into it.
    env.pop("PYTHONPATH", None)
    command = [
        str(peer.python),
        str(peer.worker),
        "--peer-worker",
        str(inputs),
        str(outputs),
        "--threads",
        str(peer.threads),
        "--timing-repeats",
        str(peer.repeats),
    ]
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise ParameterError(f"{PEER} failed in {peer.python} (see above).")


def compare(
    datasets: Sequence[str],
    peer: PeerRun,
    *,
    folds: int = 3,
    folds_file: Path | None = None,
    timing_side: int = 2048,
) -> dict[str, Any]:
    """Read the patches, run the peer apart, score it; returns the JSON report.

    Args:
        datasets: ``biome:PATH``, ``38cloud:PATH`` ... as for ``train.py``.
        peer: how to run the peer's side.
        folds: folds made here when no ``folds_file`` is given.
        folds_file: folds.json of a cross-validation run, to score on its very folds.
        timing_side: side of the timing mosaic (0: no timing).

    Raises:
        InputNotFoundError: no peer Python. ParameterError: the folds do not cover the
        patches, or the peer failed.
    """
    # Imported here: the datasets need GDAL, and the peer's environment imports this module.
    from ..crossval import patch_group
    from ..datasets import from_spec, labelled

    check_peer_python(peer.python)
    specs = [s for text in datasets for s in labelled(from_spec(text))]
    held = assign_folds(specs, folds, folds_file)
    fold_of = {g: k for k, groups in enumerate(held) for g in groups}
    names = [s.name for s in specs]
    groups = [patch_group(s) for s in specs]
    patches, truths, valids = zip(*(read_patch(s) for s in specs), strict=True)
    shadows, shadow_known = zip(*(read_shadow_truth(s) for s in specs), strict=True)
    shadow_known = [k & v for k, v in zip(shadow_known, valids, strict=True)]
    mosaic = mosaic_for_timing(patches, timing_side)
    with tempfile.TemporaryDirectory(prefix="cloud_fcn_peers_") as tmp:
        inputs, outputs = Path(tmp) / "inputs.npz", Path(tmp) / "outputs.npz"
        arrays = {str(i): patch for i, patch in enumerate(patches)}
        np.savez(inputs, count=len(patches), mosaic=mosaic, **arrays)
        call_peer(peer, inputs, outputs)
        with np.load(outputs, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            answers = {k: data[k] for k in data.files if k != "meta"}
    report: dict[str, Any] = {
        "peer": meta["package"],
        "onnxruntime": meta["onnxruntime"],
        "threads": meta["threads"],
        "input": (
            "top-of-atmosphere reflectance read by the engine (Biome: as stored; 38-Cloud: "
            "2e-5*DN-0.1, no MTL, no sun-angle correction), bands blue, green, red, NIR "
            f"(+ SWIR1 B6, SWIR2 B7 for the 6-band model); {PEER}'s {PEER_LEVEL} models"
        ),
        "datasets": list(datasets),
        "folds": held,
        "models": {},
    }
    for key, label, _ in PEER_MODELS:
        info = meta["models"][key]
        ran = [i for i in range(len(specs)) if f"{key}.{i}.class" in answers]
        classes = {i: answers[f"{key}.{i}.class"] for i in ran}
        clouds = {i: answers[f"{key}.{i}.cloud"] for i in classes}
        entry = score_peer(names, groups, fold_of, truths, valids, classes, clouds, held)
        entry["shadow"] = score_peer_shadow(
            names, groups, fold_of, shadows, shadow_known, classes, held
        )
        skipped = [names[i] for i in info["skipped"]]
        note = (
            f"{PEER} as published, not trained on these patches; scored on the patches, "
            f"groups and {len(held)} folds of our grouped cross-validation."
        )
        if skipped:
            note += (
                f" Not run on {len(skipped)} patch(es) that have no SWIR bands "
                f"({', '.join(sorted({groups[i] for i in info['skipped']}))}: red, green, blue "
                f"and NIR only), so its 'all' rows hold the other patches only."
            )
        for report_ in entry.values():
            report_["protocol"] = f"{label} on {len(classes)} patches, grouped as our CV"
        entry.update(note=note, skipped=skipped, timing=info)
        report["models"][label] = entry
    return report
