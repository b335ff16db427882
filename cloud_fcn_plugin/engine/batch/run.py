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

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..errors import CanceledError, CloudFcnError, OutputConflictError, ParameterError
from ..files.atomic import remove_partial_outputs
from ..outputs.checks import check_output_path
from ..outputs.settings_tag import changed_settings
from ..params import DetectionParams
from ..scene.read_set import ReadSet
from .cluster import (
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
from .committed import row_from_mask
from .inputs import OUTPUT_SUFFIX, RASTER_SUFFIXES, expand_inputs, is_file
from .jobs import Job, output_path_for, scene_stem
from .report import STATUSES, SceneReport, format_table, one_line, summary_line, write_report
from .scene import cached_predictor, run_scene

__all__ = [
    "OUTPUT_SUFFIX",
    "STATUSES",
    "Job",
    "SceneReport",
    "available_cores",
    "batch_failed",
    "check_batch_outputs",
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


def check_batch_outputs(
    jobs: Sequence[Job],
    *,
    report: str | Path | None = None,
    read: Sequence[Path] = (),
) -> dict[Job, str]:
    """Check every output of a batch before any work or deletion; return per-scene problems.

    What the batch reads (every file behind every input, and the list files in ``read``)
    is never an output: a mask named as one, or a report named as one or as a mask,
    stops the batch. An output the OS rejects (a folder, too long a name) fails its
    own scene only: it is returned, keyed by job, as the error of its row.

    Raises:
        OutputConflictError: a mask or the report would replace a file the batch reads,
            or the report would replace a mask.
        OutputNotWritableError: the report cannot be written there.
    """
    reads = ReadSet(read)
    for job in jobs:
        reads.add_input(job.input)
    problems: dict[Job, str] = {}
    for job in jobs:
        try:
            check_output_path(job.output, overwrite=True, protected=reads, suffixes=RASTER_SUFFIXES)
        except OutputConflictError:
            raise
        except CloudFcnError as error:
            problems[job] = str(error)
    if report is not None:
        path = Path(report).expanduser().absolute()
        mask = ReadSet(job.output for job in jobs).find(path)
        if mask is not None:
            raise OutputConflictError(
                f"The report and the mask {mask.name} would both be written to {path}: "
                "give the report its own name."
            )
        check_output_path(path, overwrite=True, protected=reads)
    return problems


def batch_failed(reports: Sequence[SceneReport]) -> bool:
    """Whether a batch ended with a scene not done: failed, or canceled by the cluster.

    A user's Ctrl-C raises instead of returning reports, so ``canceled`` rows are scenes
    a cluster dropped (its scheduler died): they count as failed.
    """
    return any(report.status in ("failed", "canceled") for report in reports)


def is_complete_output(path: Path) -> bool:
    """Whether a finished cloud mask exists at ``path``.

    The pipeline writes to a hidden temporary file and renames it only after the
    last row is written, so existence already means complete; reading the last
    row as well catches a file damaged since (truncated copy, full disk).
    """
    path = Path(path)
    if not is_file(path):
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
    read: Sequence[Path] = (),
) -> list[SceneReport]:
    """Run every job and return one report per job, in job order.

    Every output is checked first (see :func:`check_batch_outputs`), so neither a mask
    nor a ``--resume`` deletion ever touches what the batch reads.

    Args:
        jobs: scenes and their outputs (see :func:`plan_jobs`).
        params: detection parameters shared by all scenes.
        scheduler: ``None`` (in this process), ``local[:N]`` or ``tcp://HOST:PORT``.
        resume: skip jobs whose output is complete (reported as ``skipped``); an
            output that exists but does not read (damaged since) is deleted and redone,
            one made with other settings (see :mod:`.settings_tag`) is redone.
        on_done: called with each report as its scene finishes (progress bars).
        log: receives notes such as the Dask dashboard address.
        dashboard_address: where a local cluster serves its dashboard (None: none).
        task: the per-scene Dask task; tests swap in one that kills its worker.
        read: list files the inputs came from (see :func:`expand_inputs`).

    Raises:
        OutputConflictError: a mask would replace a file the batch reads.
        ParameterError: bad scheduler text, or a probability, masked image or polygons
            path was given.
        CanceledError: Ctrl-C; finished outputs are complete, no partial one is left.
    """
    if params.probability is not None:
        raise ParameterError("A batch writes masks only: drop the probability path.")
    if params.masked_image is not None or params.polygons is not None or params.preview:
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

    problems = check_batch_outputs(jobs, read=read)
    todo = _screen_existing(jobs, params, resume, problems, finished, log)
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
    problems: dict[Job, str],
    finished: Callable[[Job, SceneReport], None],
    log: Log,
) -> list[Job]:
    """Report jobs whose output exists (skipped or failed); return the jobs left to run.

    Outputs were checked (``problems``): none is a file the batch reads, so deleting a
    damaged one for ``--resume`` is safe; only a regular file or a link is ever deleted.
    """
    todo = []
    for job in jobs:
        if job in problems:
            finished(job, SceneReport.for_job(job, "failed", problems[job]))
            continue
        if resume and is_complete_output(job.output):
            changed = changed_settings(job.output, params)
            if not changed:
                finished(job, SceneReport.for_job(job, "skipped", error="complete output exists"))
                continue
            # Kept until the new mask is committed: nothing is deleted before that.
            log(f"{job.output} was made with other settings ({'; '.join(changed)}): redoing it")
            todo.append(job)
            continue
        if resume and os.path.lexists(job.output):
            log(f"{job.output} exists but does not read as a mask: computing it again")
            try:
                job.output.unlink()
            except OSError as error:
                reason = f"Cannot delete the damaged {job.output}: {error.strerror or error}."
                finished(job, SceneReport.for_job(job, "failed", reason))
                continue
        if os.path.lexists(job.output) and not params.overwrite:
            error = f"{job.output} exists: pass --overwrite to replace it or --resume to keep it."
            finished(job, SceneReport.for_job(job, "failed", error))
            continue
        todo.append(job)
    if resume:
        remove_partial_outputs((job.output for job in todo), ReadSet(job.input for job in jobs))
    return todo


def _run_sequential(
    jobs: Sequence[Job], params: DetectionParams, finished: Callable[[Job, SceneReport], None]
) -> None:
    if jobs:
        cached_predictor(params)  # a bad checkpoint stops the batch once, not once per scene
    from ..inference.memory import tile_from_parameters

    for job in jobs:
        with tile_from_parameters():  # as on Dask workers: masks never follow free memory
            finished(job, row_from_mask(job, run_scene(job, params)))
