"""Many scenes: expand inputs, name outputs, run them in turn or on a Dask cluster, report.

Three ways to run a batch share one task, :func:`run_scene`:

* sequential (no scheduler): one scene after another in this process;
* ``local[:N]``: a Dask ``LocalCluster`` of N worker processes, one thread each,
  each worker's torch limited to its share of the cores;
* ``tcp://HOST:PORT`` (or ``tls://``): an existing Dask distributed cluster whose
  workers read the inputs and write the outputs themselves (shared file system).

The pieces live beside this module: :mod:`.batch_inputs` (expanding the inputs),
:mod:`.batch_scene` (one scene's job and task), :mod:`.batch_report` (the report),
:mod:`.batch_dask` (the clusters). Each worker process loads the model once
(:func:`cached_predictor`). Outputs are
written by the pipeline's atomic writer (hidden ``.NAME.partial-PID`` file, then a
rename), so an output that exists is complete: ``--resume`` needs no sidecar and
only checks that the file exists and reads (:func:`is_complete_output`).

Dask is imported inside the functions that need it, so importing this module (and
``cloud_fcn_plugin.engine``) never requires it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from .batch_dask import (
    DASK_SCHEMES,
    Task,
    available_cores,
    check_scheduler_listens,
    measure_batch_scaling,
    run_local,
    run_remote,
    run_scene_on_worker,
    start_local_cluster,
)
from .batch_inputs import expand_inputs
from .batch_report import STATUSES, SceneReport, format_table, one_line, summary_line, write_report
from .batch_scene import (
    OUTPUT_SUFFIX,
    Job,
    cached_predictor,
    output_path_for,
    run_scene,
    scene_stem,
)
from .errors import CanceledError, ParameterError
from .outputs import remove_partial_outputs
from .params import DetectionParams

__all__ = [
    "OUTPUT_SUFFIX",
    "STATUSES",
    "Job",
    "SceneReport",
    "available_cores",
    "cached_predictor",
    "check_scheduler_listens",
    "expand_inputs",
    "format_table",
    "is_complete_output",
    "measure_batch_scaling",
    "one_line",
    "output_path_for",
    "parse_scheduler",
    "plan_jobs",
    "remove_partial_outputs",
    "run_batch",
    "run_scene",
    "run_scene_on_worker",
    "scene_stem",
    "start_local_cluster",
    "summary_line",
    "write_report",
]

OnDone = Callable[["SceneReport"], None]
Log = Callable[[str], None]


def plan_jobs(inputs: Sequence[Path], output_dir: str | Path) -> list[Job]:
    """Pair every input with its output in ``output_dir``.

    Raises:
        ParameterError: two inputs would write the same output name.
    """
    output_dir = Path(output_dir).expanduser().absolute()
    jobs: list[Job] = []
    owners: dict[Path, Path] = {}
    for input_path in inputs:
        output = output_path_for(input_path, output_dir)
        if output in owners:
            raise ParameterError(
                f"{owners[output]} and {input_path} would both write {output.name}: "
                "rename one or mask them into separate --output-dir folders."
            )
        owners[output] = input_path
        jobs.append(Job(Path(input_path), output))
    return jobs


def is_complete_output(path: Path) -> bool:
    """Whether a finished cloud mask exists at ``path``.

    The pipeline writes to a hidden temporary file and renames it only after the
    last row is written, so existence already means complete; reading the last
    row as well catches a file damaged since (truncated copy, full disk).
    """
    path = Path(path)
    if not path.is_file():
        return False
    import rasterio
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as dataset:
            if dataset.count != 1 or dataset.dtypes[0] != "uint8":
                return False
            dataset.read(1, window=Window(0, dataset.height - 1, dataset.width, 1))
    except (rasterio.errors.RasterioError, OSError):
        return False
    return True


# ------------------------------------------------------------------ running a batch


def parse_scheduler(scheduler: str | None) -> tuple[str, int | str | None]:
    """Split ``None``, ``local[:N]`` or ``tcp://HOST:PORT`` into ``(kind, value)``.

    Raises:
        ParameterError: the text is none of these.
    """
    if scheduler is None or scheduler == "":
        return "sequential", None
    if scheduler == "local" or scheduler.startswith("local:"):
        count = scheduler.partition(":")[2]
        if not count:
            return "local", available_cores()
        if count.isdigit() and int(count) > 0:
            return "local", int(count)
    elif scheduler.partition("://")[0] in DASK_SCHEMES and scheduler.partition("://")[2]:
        return "remote", scheduler
    raise ParameterError(
        f"Unknown scheduler {scheduler!r}: use local, local:N (N workers) or "
        "tcp://HOST:PORT of a running dask scheduler."
    )


def run_batch(
    jobs: Sequence[Job],
    params: DetectionParams,
    *,
    scheduler: str | None = None,
    resume: bool = False,
    on_done: OnDone | None = None,
    log: Log | None = None,
    dashboard_address: str | None = ":8787",
    task: Task | None = None,
) -> list[SceneReport]:
    """Run every job and return one report per job, in job order.

    Args:
        jobs: scenes and their outputs (see :func:`plan_jobs`).
        params: detection parameters shared by all scenes.
        scheduler: ``None`` (in this process), ``local[:N]`` or ``tcp://HOST:PORT``.
        resume: skip jobs whose output is complete (reported as ``skipped``); an
            output that exists but does not read (damaged since) is deleted and redone.
        on_done: called with each report as its scene finishes (progress bars).
        log: receives notes such as the Dask dashboard address.
        dashboard_address: where a local cluster serves its dashboard (None: none).
        task: the per-scene Dask task; tests swap in one that kills its worker.

    Raises:
        ParameterError: bad scheduler text, or a probability, masked image or polygons
            path was given.
        CanceledError: Ctrl-C; finished outputs are complete, no partial one is left.
    """
    if params.probability is not None:
        raise ParameterError("A batch writes masks only: drop the probability path.")
    if params.masked_image is not None or params.polygons is not None:
        raise ParameterError(
            "A batch writes masks only: drop the masked image and polygons paths (sieve and "
            "buffer apply to every mask)."
        )
    kind, value = parse_scheduler(scheduler)
    log = log or (lambda message: None)
    on_done = on_done or (lambda report: None)
    reports: dict[Job, SceneReport] = {}

    def finished(job: Job, report: SceneReport) -> None:
        reports[job] = report
        on_done(report)

    todo = _screen_existing(jobs, params, resume, finished, log)
    # Outputs were checked just now; one appearing later is this batch's own, written by a
    # first attempt whose worker then died (Dask recomputes results lost with a worker).
    params = replace(params, overwrite=True)
    try:
        if kind == "sequential":
            _run_sequential(todo, params, finished)
        elif kind == "local":
            run_local(todo, params, int(value), finished, log, dashboard_address, task)
        else:
            run_remote(todo, params, str(value), finished, log, task)
    except KeyboardInterrupt:
        done = sum(job in reports for job in todo)
        raise CanceledError(
            f"Interrupted after {done} of {len(todo)} scenes: the masks written are complete "
            "and no partial file is left; run again with --resume to do the rest."
        ) from None
    return [reports[job] for job in jobs]


def _screen_existing(
    jobs: Sequence[Job],
    params: DetectionParams,
    resume: bool,
    finished: Callable[[Job, SceneReport], None],
    log: Log,
) -> list[Job]:
    """Report jobs whose output exists (skipped or failed); return the jobs left to run."""
    todo = []
    for job in jobs:
        if resume and is_complete_output(job.output):
            finished(job, SceneReport.for_job(job, "skipped", error="complete output exists"))
            continue
        if resume and job.output.exists():
            log(f"{job.output} exists but does not read as a mask: computing it again")
            job.output.unlink()
        if job.output.exists() and not params.overwrite:
            error = f"{job.output} exists: pass --overwrite to replace it or --resume to keep it."
            finished(job, SceneReport.for_job(job, "failed", error))
            continue
        todo.append(job)
    if resume:
        remove_partial_outputs(job.output for job in todo)
    return todo


def _run_sequential(
    jobs: Sequence[Job], params: DetectionParams, finished: Callable[[Job, SceneReport], None]
) -> None:
    if jobs:
        cached_predictor(params)  # a bad checkpoint stops the batch once, not once per scene
    for job in jobs:
        finished(job, run_scene(job, params))
