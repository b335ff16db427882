"""One scene of a batch run on a worker: the model cached per process, the report row."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from ..errors import CanceledError, CloudFcnError
from ..params import DetectionParams
from .jobs import Job
from .report import SceneReport, is_read_error, one_line

_PREDICTORS: dict[tuple, Any] = {}


_PREDICTORS_LOCK = threading.Lock()


def cached_predictor(
    params: DetectionParams, weights: Path | None = None, also: tuple[Path, ...] = ()
) -> Any:
    """Return this process's predictor for the weights, device and batch size, loading it once.

    ``weights`` (the checkpoint chosen for a scene) overrides ``params.weights``; ``also``
    names an ensemble's other members. The key includes each checkpoint's size and
    modification time, so a long-lived worker picks up re-saved weights instead of
    serving stale ones.
    """
    from ..inference.predictor import load_predictor

    weights = weights or params.weights
    weights = Path(weights).expanduser().absolute() if weights else None
    key = (_stamp(weights), *(_stamp(Path(p).absolute()) for p in also), params.device,
           params.batch_size)  # fmt: skip
    with _PREDICTORS_LOCK:
        if key not in _PREDICTORS:
            _PREDICTORS[key] = load_predictor(
                weights, params.device, params.batch_size, also=also
            )
        return _PREDICTORS[key]


def _stamp(path: Path | None) -> tuple:
    """A checkpoint's path, size and modification time (None for the bundled default)."""
    if path is None or not path.is_file():
        return (str(path), None)
    stat = path.stat()
    return (str(path), stat.st_size, stat.st_mtime_ns)


def class_columns(result: Any) -> dict[str, float | None]:
    """The report's per-class columns of a finished run (percent of the valid pixels)."""
    from ..classes import CLEAR, CLOUD_SHADOW, THICK_CLOUD, THIN_CLOUD

    comparison = result.qa_comparison
    return {
        "clear_cover": round(result.class_cover(CLEAR), 4),
        "thick_cloud_cover": round(result.class_cover(THICK_CLOUD), 4),
        "thin_cloud_cover": round(result.class_cover(THIN_CLOUD), 4),
        "shadow_cover": round(result.class_cover(CLOUD_SHADOW), 4),
        "qa_cloud_cover": None if comparison is None else round(comparison.qa.cloud_cover, 4),
        "qa_shadow_cover": None if comparison is None else round(comparison.qa.shadow_cover, 4),
    }


def run_scene(
    job: Job, params: DetectionParams, *, worker: str = "local", catch_unexpected: bool = True
) -> SceneReport:
    """Detect clouds in one scene and report it; engine errors become a failed report.

    Args:
        job: input and output of the scene.
        params: detection parameters (their ``probability`` must be ``None``).
        worker: the name written in the report's ``worker`` column.
        catch_unexpected: also report non-engine exceptions; Dask tasks pass False
            so Dask retries them once.
    """
    from ..models.choice import choose_model
    from ..params import QA_MODEL
    from ..pipeline import detect_clouds
    from ..scene.opened import open_input

    started = time.perf_counter()
    try:
        scene = open_input(job.input)
        if params.model == QA_MODEL and params.weights is None:
            result = detect_clouds(scene, job.output, params)
        else:
            model = choose_model(scene, params.model, params.weights, params.product)
            predictor = cached_predictor(params, model.path, model.also)
            result = detect_clouds(scene, job.output, params, predictor=predictor, model=model)
    except CanceledError:
        raise
    except Exception as error:
        # Bad inputs fail the same way every time: only other errors are worth a retry.
        if not catch_unexpected and not (isinstance(error, CloudFcnError) or is_read_error(error)):
            raise
        return SceneReport.for_job(
            job, "failed", one_line(error), seconds=time.perf_counter() - started, worker=worker
        )
    return SceneReport.for_job(
        job, "ok", cloud_cover=round(result.cloud_cover, 4), valid_pixels=result.valid_pixels,
        seconds=round(time.perf_counter() - started, 3), worker=worker,
        **class_columns(result),
    )  # fmt: skip
