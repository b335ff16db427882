"""The peer's side: run ukis-csmask on the patches, in the peers' own environment.

Only numpy, onnxruntime and ukis-csmask are imported here (the latter two inside
:func:`run_peer`): this runs under the Python of ``.venv-peers``, which has neither
torch nor GDAL.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .peer import CLOUD_CLASS, PEER, PEER_BANDS, PEER_LEVEL, PEER_MODELS


def cloud_share(blended: np.ndarray) -> np.ndarray:
    """Cloud probability from the peer's class scores blended over its tiles.

    The peer adds each tile's softmax weighted by a taper window without dividing by
    the summed weights; the classes of a pixel share the weight, so dividing by the
    sum over classes gives back a probability (0 where no tile covered the pixel).
    """
    total = blended.sum(axis=-1)
    share = np.divide(blended[..., CLOUD_CLASS], total, out=np.zeros(total.shape), where=total > 0)
    return share.astype(np.float32)


def run_peer(inputs: Path, outputs: Path, threads: int, repeats: int) -> None:
    """Run every peer model on the patches of ``inputs`` (runs in the peers' environment).

    The peer's public ``CSmask`` is run as documented; its blended class scores, which
    it reduces to an argmax, are kept on the way by wrapping the function that returns
    them.

    Args:
        inputs: ``.npz`` with ``count``, the patches ``"0"`` .. ``"count-1"`` (H, W, C)
            and the timing ``mosaic``.
        outputs: ``.npz`` to write: ``<model>.<patch>.class`` and ``.cloud`` per patch
            run, and ``meta`` (JSON: versions, threads, per-model timing and skips).
        threads: onnxruntime's intra- and inter-op threads.
        repeats: timed runs on the mosaic (the fastest counts).
    """
    import onnxruntime
    import ukis_csmask
    import ukis_csmask.mask as peer

    captured: dict[str, np.ndarray] = {}
    untile = peer.untile_array

    def keep_scores(*args: Any, **kwargs: Any) -> np.ndarray:
        captured["scores"] = untile(*args, **kwargs)
        return captured["scores"]

    peer.untile_array = keep_scores
    options = dict(
        product_level=PEER_LEVEL,
        intra_op_num_threads=threads,
        inter_op_num_threads=threads,
        providers=["CPUExecutionProvider"],
    )
    meta: dict[str, Any] = {
        "package": f"{PEER} {getattr(ukis_csmask, '__version__', '?')}",
        "onnxruntime": onnxruntime.__version__,
        "threads": threads,
        "models": {},
    }
    arrays: dict[str, np.ndarray] = {}
    with np.load(inputs, allow_pickle=False) as data:
        count = int(data["count"])
        patches = [data[str(i)] for i in range(count)]
        mosaic = data["mosaic"]
    for key, _, bands in PEER_MODELS:
        order = list(PEER_BANDS[:bands])
        seconds, pixels, skipped, model_file = 0.0, 0, [], None
        for i, image in enumerate(patches):
            if image.shape[2] < bands:
                skipped.append(i)
                continue
            start = time.perf_counter()
            result = peer.CSmask(np.ascontiguousarray(image[..., :bands]), order, **options)
            seconds += time.perf_counter() - start
            pixels += image.shape[0] * image.shape[1]
            scores = captured.pop("scores")
            classes = result.csm[..., 0]
            if not np.array_equal(np.argmax(scores, axis=-1), classes):
                raise RuntimeError(f"{PEER} changed: its class map is not the argmax of its scores")
            arrays[f"{key}.{i}.class"] = classes.astype(np.uint8)
            arrays[f"{key}.{i}.cloud"] = cloud_share(scores)
            model_file = result.model_file
        meta["models"][key] = {
            "model_file": Path(model_file).name if model_file else None,
            "skipped": skipped,
            "patch_seconds": round(seconds, 3),
            "patch_megapixels": pixels / 1e6,
            **_time_mosaic(
                peer, onnxruntime, model_file, mosaic[..., :bands], order, options, repeats
            ),
        }
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(outputs, **arrays)


def _time_mosaic(
    peer: Any,
    onnxruntime: Any,
    model_file: str | None,
    mosaic: np.ndarray,
    order: list[str],
    options: dict[str, Any],
    repeats: int,
) -> dict[str, Any]:
    """Seconds per megapixel of the peer on a mosaic, its model loading excluded."""
    if model_file is None or mosaic.shape[2] < len(order):
        return {}
    session = onnxruntime.SessionOptions()
    session.intra_op_num_threads = options["intra_op_num_threads"]
    session.inter_op_num_threads = options["inter_op_num_threads"]
    start = time.perf_counter()
    onnxruntime.InferenceSession(model_file, sess_options=session, providers=options["providers"])
    load = time.perf_counter() - start
    runs = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        peer.CSmask(np.ascontiguousarray(mosaic), order, **options)
        runs.append(time.perf_counter() - start)
    mp = mosaic.shape[0] * mosaic.shape[1] / 1e6
    return {
        "mosaic_side": mosaic.shape[0],
        "mosaic_seconds": [round(r, 3) for r in runs],
        "load_seconds": round(load, 3),
        "seconds_per_megapixel": round((min(runs) - load) / mp, 3),
    }
