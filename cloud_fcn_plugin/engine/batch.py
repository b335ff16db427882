"""Many scenes: expand inputs, name outputs, run them in turn or on a Dask cluster, report.

Three ways to run a batch share one task, :func:`run_scene`:

* sequential (no scheduler): one scene after another in this process;
* ``local[:N]``: a Dask ``LocalCluster`` of N worker processes, one thread each,
  each worker's torch limited to its share of the cores;
* ``tcp://HOST:PORT`` (or ``tls://``): an existing Dask distributed cluster whose
  workers read the inputs and write the outputs themselves (shared file system).

Each worker process loads the model once (:func:`cached_predictor`). Outputs are
written by the pipeline's atomic writer (hidden ``.NAME.partial-PID`` file, then a
rename), so an output that exists is complete: ``--resume`` needs no sidecar and
only checks that the file exists and reads (:func:`is_complete_output`).

Dask is imported inside the functions that need it, so importing this module (and
``cloud_fcn_plugin.engine``) never requires it.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import CanceledError, CloudFcnError, ParameterError
from .outputs import leftover_partials
from .params import DetectionParams
from .products import is_product_folder

OUTPUT_SUFFIX = "_cloudmask.tif"
RASTER_SUFFIXES = (".tif", ".tiff")
LIST_SUFFIXES = (".txt", ".lst")
MTL_SUFFIX = "_mtl.txt"
STATUSES = ("ok", "failed", "skipped", "canceled")
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
_MAX_LIST_DEPTH = 4

OnDone = Callable[["SceneReport"], None]
Log = Callable[[str], None]
Task = Callable[..., "SceneReport"]


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Job:
    """One scene to process: where to read it and where to write its mask."""

    input: Path
    output: Path


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Turn command-line inputs into scene paths, in order, without duplicates.

    Each item may be a raster, a Landsat product folder, a ``*_MTL.txt`` file, a
    glob pattern (``archive/LC08_*``), a folder of product folders or rasters, or a
    text file listing one such input per line (``#`` starts a comment; relative
    lines are read from the list's folder). Paths that do not exist are kept: they
    are reported as failed scenes instead of stopping the batch.

    Raises:
        ParameterError: a pattern or folder yields nothing, or no input is left.
    """
    found: list[Path] = []
    for item in items:
        found.extend(_expand_item(str(item), None, 0))
    scenes = _unique(found)
    if not scenes:
        raise ParameterError("No input scenes were given: pass rasters, folders or a list file.")
    return scenes


def _expand_item(item: str, base: Path | None, depth: int) -> list[Path]:
    path = Path(item).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists() and glob.has_magic(item):
        return _expand_pattern(item, path)
    if path.is_file() and _is_list_file(path):
        return _expand_list(path, depth)
    if path.is_dir() and not is_product_folder(path):
        return _expand_folder(path)
    return [path]


def _expand_pattern(item: str, pattern: Path) -> list[Path]:
    matches = [Path(p) for p in sorted(glob.glob(str(pattern), recursive=True))]
    scenes = [p for p in matches if _looks_like_scene(p)]
    if not scenes:
        raise ParameterError(
            f"No scene matches {item!r}: check the pattern (it must match rasters, "
            "product folders or *_MTL.txt files)."
        )
    return scenes


def _expand_list(path: Path, depth: int) -> list[Path]:
    if depth >= _MAX_LIST_DEPTH:
        raise ParameterError(f"{path}: input lists nest too deeply; list the scenes directly.")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ParameterError(f"Cannot read the input list {path}: {error}.") from error
    found: list[Path] = []
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if entry:
            found.extend(_expand_item(entry, path.parent, depth + 1))
    return found


def _expand_folder(folder: Path) -> list[Path]:
    scenes = [p for p in sorted(folder.iterdir()) if _looks_like_scene(p)]
    if not scenes:
        raise ParameterError(
            f"{folder} holds no Landsat product folders or GeoTIFFs: "
            "point at the folder that contains the scenes."
        )
    return scenes


def _is_list_file(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(LIST_SUFFIXES) and not name.endswith(MTL_SUFFIX)


def _looks_like_scene(path: Path) -> bool:
    name = path.name.lower()
    if name.startswith("."):
        return False  # hidden files, including our own .partial outputs
    if path.is_dir():
        return is_product_folder(path)
    return name.endswith(RASTER_SUFFIXES) or name.endswith(MTL_SUFFIX)


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[Path] = set()
    unique = []
    for path in paths:
        # normpath, not resolve: symlinked copies are distinct scenes with distinct names.
        key = Path(os.path.normpath(path.absolute()))
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


# ------------------------------------------------------------------ outputs


def scene_stem(path: Path) -> str:
    """The scene's name: a folder's name (the product id), an MTL's product id, a file's stem."""
    name = path.name
    if path.is_dir() or not Path(name).suffix:
        return name
    if name.lower().endswith(MTL_SUFFIX):
        return name[: -len(MTL_SUFFIX)]
    return Path(name).stem


def output_path_for(input_path: Path, output_dir: Path) -> Path:
    """Return ``output_dir / <input stem>_cloudmask.tif``."""
    return Path(output_dir) / f"{scene_stem(Path(input_path))}{OUTPUT_SUFFIX}"


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


def remove_partial_outputs(outputs: Iterable[Path]) -> list[Path]:
    """Delete the hidden ``.NAME.partial-*`` files a killed process left for these outputs.

    Only needed after a process was killed outright (a worker shut down mid-scene):
    every other failure already removes its temporary file.
    """
    removed = []
    for output in outputs:
        for leftover in leftover_partials(Path(output)):
            try:
                leftover.unlink()
                removed.append(leftover)
            except OSError:
                pass  # best effort: a leftover hidden file must not hide the real outcome
    return removed


# ------------------------------------------------------------------ reports


@dataclass
class SceneReport:
    """The outcome of one scene, one row of the batch report."""

    input: str
    output: str
    status: str
    cloud_cover: float | None = None
    valid_pixels: int | None = None
    seconds: float = 0.0
    worker: str = ""
    error: str = ""

    @classmethod
    def for_job(cls, job: Job, status: str, error: str = "", **values: Any) -> SceneReport:
        """Build a report for ``job``."""
        return cls(str(job.input), str(job.output), status, error=error, **values)


def one_line(error: BaseException) -> str:
    """The error as one line; engine errors already say what to do, others get their type."""
    text = " ".join(str(error).split())
    if isinstance(error, CloudFcnError):
        return text or type(error).__name__
    if _is_read_error(error):
        return f"cannot read the input, it is damaged or incomplete: replace it ({text})"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def format_table(reports: Sequence[SceneReport]) -> str:
    """Return the plain-text summary table printed at the end of a batch."""
    header = f"{'status':<8} {'cloud %':>8} {'valid px':>11} {'seconds':>8}  scene"
    lines = [header, "-" * len(header)]
    for report in reports:
        cover = "" if report.cloud_cover is None else f"{report.cloud_cover:.2f}"
        valid = "" if report.valid_pixels is None else f"{report.valid_pixels:,}"
        line = f"{report.status:<8} {cover:>8} {valid:>11} {report.seconds:>8.1f}  {report.input}"
        if report.error:
            line += f"\n{'':<39}-> {report.error}"
        lines.append(line)
    lines.append(summary_line(reports))
    return "\n".join(lines)


def summary_line(reports: Sequence[SceneReport]) -> str:
    """Return e.g. ``"5 scenes: 3 ok, 1 skipped, 1 failed"``."""
    counts = [f"{sum(r.status == s for r in reports)} {s}" for s in STATUSES]
    shown = [c for c in counts if not c.startswith("0 ")]
    return f"{len(reports)} scenes: " + ", ".join(shown)


def write_report(reports: Sequence[SceneReport], path: str | Path) -> Path:
    """Write the report as JSON (``.json``) or CSV (any other suffix)."""
    path = Path(path).expanduser()
    rows = [asdict(report) for report in reports]
    try:
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        else:
            with path.open("w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, [f.name for f in fields(SceneReport)])
                writer.writeheader()
                writer.writerows(rows)
    except OSError as error:
        from .errors import OutputNotWritableError

        raise OutputNotWritableError(f"Cannot write the report {path}: {error}.") from error
    return path


# ------------------------------------------------------------------ one scene

_PREDICTORS: dict[tuple, Any] = {}
_PREDICTORS_LOCK = threading.Lock()
_TORCH_THREADS_SET = False


def cached_predictor(params: DetectionParams, weights: Path | None = None) -> Any:
    """Return this process's predictor for the weights, device and batch size, loading it once.

    ``weights`` (the checkpoint chosen for a scene) overrides ``params.weights``. The
    key includes the checkpoint's size and modification time, so a long-lived worker
    picks up re-saved weights instead of serving stale ones.
    """
    from .predict import load_predictor

    weights = weights or params.weights
    weights = Path(weights).expanduser().absolute() if weights else None
    stamp = None
    if weights is not None and weights.is_file():
        stat = weights.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
    key = (str(weights), stamp, params.device, params.batch_size)
    with _PREDICTORS_LOCK:
        if key not in _PREDICTORS:
            _PREDICTORS[key] = load_predictor(weights, params.device, params.batch_size)
        return _PREDICTORS[key]


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
    from .model_choice import choose_model
    from .pipeline import detect_clouds

    started = time.perf_counter()
    try:
        model = choose_model(job.input, params.model, params.weights, params.product)
        predictor = cached_predictor(params, model.path)
        result = detect_clouds(job.input, job.output, params, predictor=predictor, model=model)
    except CanceledError:
        raise
    except Exception as error:
        # Bad inputs fail the same way every time: only other errors are worth a retry.
        if not catch_unexpected and not (isinstance(error, CloudFcnError) or _is_read_error(error)):
            raise
        return SceneReport.for_job(
            job, "failed", one_line(error), seconds=time.perf_counter() - started, worker=worker
        )
    return SceneReport.for_job(
        job, "ok", cloud_cover=round(result.cloud_cover, 4), valid_pixels=result.valid_pixels,
        seconds=round(time.perf_counter() - started, 3), worker=worker,
    )  # fmt: skip


def _is_read_error(error: BaseException) -> bool:
    # A band file cut short passes the header checks and fails mid-read in GDAL.
    return type(error).__module__.startswith("rasterio")


def run_scene_on_worker(
    job: Job, params: DetectionParams, workers_per_host: dict[str, int]
) -> SceneReport:
    """The Dask task: share the worker's cores out to torch once, then run the scene."""
    from distributed import get_worker

    worker = get_worker()
    _limit_torch_threads(workers_per_host.get(worker.ip, 1) * _worker_threads(worker))
    return run_scene(job, params, worker=worker.address, catch_unexpected=False)


def _worker_threads(worker: Any) -> int:
    # distributed moved ``nthreads`` to ``state`` in 2022.x; older releases lack ``state``.
    state = getattr(worker, "state", None)
    return max(int(getattr(state, "nthreads", None) or worker.nthreads), 1)


def _limit_torch_threads(tasks_on_host: int, threads: int | None = None) -> None:
    # Without this, N workers each start one torch thread per core and thrash.
    global _TORCH_THREADS_SET
    if not _TORCH_THREADS_SET:
        import torch

        threads = threads or max(1, available_cores() // max(tasks_on_host, 1))
        torch.set_num_threads(threads)
        _TORCH_THREADS_SET = True


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


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
            _run_local(todo, params, int(value), finished, log, dashboard_address, task)
        else:
            _run_remote(todo, params, str(value), finished, log, task)
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


def _run_local(
    jobs: Sequence[Job],
    params: DetectionParams,
    workers: int,
    finished: Callable[[Job, SceneReport], None],
    log: Log,
    dashboard_address: str | None,
    task: Task | None,
) -> None:
    cluster, client = start_local_cluster(workers, dashboard_address)
    completed: set[Job] = set()

    def record(job: Job, report: SceneReport) -> None:
        completed.add(job)
        finished(job, report)

    try:
        _log_dashboard(client, log, f"local cluster of {workers} worker(s)")
        run_on_client(client, jobs, params, record, task)
    finally:
        client.close()
        cluster.close()
        # Every worker is gone now. Workers stopped mid-scene by Ctrl-C, or killed and
        # replaced (their scene then finished elsewhere), cannot clean up after themselves.
        remove_partial_outputs(job.output for job in jobs)


def start_local_cluster(workers: int, dashboard_address: str | None = None) -> tuple[Any, Any]:
    """Start a ``LocalCluster`` of ``workers`` single-threaded processes and a client on it."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=dashboard_address,
    )  # fmt: skip
    try:
        client = Client(cluster)
        client.register_worker_plugin(IgnoreCtrlC())
    except BaseException:
        cluster.close()
        raise
    return cluster, client


class IgnoreCtrlC:
    """Dask worker plugin of local clusters: leave Ctrl-C to the client.

    A terminal sends Ctrl-C to every process of the group; workers that ignore it
    are shut down by the client instead of dying with tracebacks mid-scene. (Duck
    typed rather than a ``WorkerPlugin`` subclass, so this module needs no dask.)
    """

    name = "cloud-fcn-ignore-ctrl-c"

    def setup(self, worker: Any) -> None:
        """Ignore SIGINT in the worker process (plugins run on its main-thread loop).

        SIGTERM and SIGHUP still end the worker, after its temporary outputs are deleted.
        """
        import signal

        from .interrupts import clean_up_on_termination

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            clean_up_on_termination()


def _run_remote(
    jobs: Sequence[Job],
    params: DetectionParams,
    address: str,
    finished: Callable[[Job, SceneReport], None],
    log: Log,
    task: Task | None,
) -> None:
    from distributed import Client

    check_scheduler_listens(address)
    try:
        client = Client(address, timeout="20s")
    except (OSError, ValueError) as error:
        raise ParameterError(
            f"Cannot reach the dask scheduler at {address}: {error}; start it with "
            "`dask scheduler` and check the address and firewall."
        ) from error
    try:
        workers = len(client.scheduler_info()["workers"])
        _log_dashboard(client, log, f"cluster at {address} with {workers} worker(s)")
        if workers == 0:
            log("no worker is connected yet: scenes wait until one joins (`dask worker ...`).")
        run_on_client(client, jobs, params, finished, task)
    finally:
        # Cancelled scenes already running finish on their workers; their masks are complete.
        client.close()


def check_scheduler_listens(address: str, timeout: float = 5.0) -> None:
    """Fail at once when nothing listens at a ``tcp://HOST:PORT`` scheduler address.

    Dask's client retries a refused connection until its timeout (20 s) and then says
    only that it timed out; one plain connection attempt tells refused from slow.
    Other schemes (tls, ws, ucx) are left to Dask.

    Raises:
        ParameterError: the address is malformed, the host unknown or the port closed.
    """
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ParameterError(
            f"The scheduler address {address} lacks a host or port: use tcp://HOST:PORT, "
            "e.g. tcp://head:8786."
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return  # slow or filtered: let Dask wait its own timeout
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ParameterError(
            f"Nothing answers at the dask scheduler {address} ({reason}): start it with "
            "`dask scheduler` there, or check the address, port and firewall."
        ) from error


def _log_dashboard(client: Any, log: Log, what: str) -> None:
    import importlib.util

    link = None
    try:
        if "dashboard" in client.scheduler_info().get("services", {}):
            link = client.dashboard_link
    except (KeyError, AttributeError):
        link = None
    if not link:
        log(f"{what}; the scheduler serves no Dask dashboard")
        return
    # Without bokeh the address only serves a page asking for it (Debian 12 lacks it).
    hint = "" if importlib.util.find_spec("bokeh") else " (its plots need `pip install 'bokeh<3'`)"
    log(f"{what}; Dask dashboard: {link}{hint}")


def workers_per_host(client: Any) -> dict[str, int]:
    """Number of workers on each host of the cluster, keyed by IP address."""
    counts: dict[str, int] = {}
    for info in client.scheduler_info()["workers"].values():
        counts[info["host"]] = counts.get(info["host"], 0) + 1
    return counts


def run_on_client(
    client: Any,
    jobs: Sequence[Job],
    params: DetectionParams,
    finished: Callable[[Job, SceneReport], None],
    task: Task | None = None,
) -> None:
    """Submit one task per job to a Dask client and report each as it completes.

    Engine errors come back as failed reports; any other exception is retried
    once by Dask, and a scene whose workers keep dying comes back as ``KilledWorker``.
    Ctrl-C cancels every future that has not finished.
    """
    from distributed import as_completed

    task = task or run_scene_on_worker
    hosts = workers_per_host(client)
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            task, job, params, hosts, key=f"cloud-fcn-{index}-{job.output.stem}-{token}",
            pure=False, retries=1,
        ): job
        for index, job in enumerate(jobs)
    }  # fmt: skip
    try:
        for future in as_completed(futures):
            finished(futures[future], _report_from_future(future, futures[future]))
    except BaseException:
        client.cancel(list(futures))
        raise


def _report_from_future(future: Any, job: Job) -> SceneReport:
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        return SceneReport.for_job(job, "canceled", "the task was cancelled on the cluster")
    error = future.exception()
    reason = one_line(error)
    if type(error).__name__ == "KilledWorker":
        reason = f"the worker running this scene died repeatedly ({reason})"
    return SceneReport.for_job(job, "failed", reason)


# ------------------------------------------------------------------ scaling


def measure_batch_scaling(
    inputs: Sequence[str | Path],
    weights: str | Path | None,
    workers_list: Sequence[int] = (1, 2),
    *,
    device: str = "cpu",
    batch_size: int = 4,
    repeat: int = 1,
    torch_threads: int | None = None,
) -> list[dict]:
    """Measure scenes per minute on local clusters of 1, 2, ... workers.

    Each cluster is started and every worker loads the model before the clock
    starts, so the figures are steady-state throughput. Outputs go to a
    temporary folder that is deleted afterwards.

    Args:
        inputs: scenes (anything :func:`expand_inputs` accepts).
        weights: checkpoint; ``None`` takes the bundled weights.
        workers_list: worker counts to try, one cluster each.
        device: compute device of every worker.
        batch_size: tiles per forward pass.
        repeat: how many times each scene is processed per measurement.
        torch_threads: torch threads per worker; ``None`` gives each worker its
            share of the cores (what a batch does), 1 isolates process scaling.

    Returns:
        One dict per worker count: ``workers``, ``torch_threads``, ``scenes``,
        ``failed``, ``seconds``, ``scenes_per_minute``, ``speedup`` (vs the first).
    """
    scenes = expand_inputs(inputs) * max(repeat, 1)
    params = DetectionParams(
        weights=Path(weights) if weights else None, device=device, batch_size=batch_size
    )
    rows: list[dict] = []
    for workers in workers_list:
        folder = Path(tempfile.mkdtemp(prefix="cloud-fcn-scaling-"))
        try:
            jobs = [
                Job(scene, folder / f"{i:04d}_{scene_stem(scene)}{OUTPUT_SUFFIX}")
                for i, scene in enumerate(scenes)
            ]
            seconds, reports = _timed_local_batch(jobs, params, workers, torch_threads)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append({
            "workers": workers,
            "torch_threads": torch_threads or max(1, available_cores() // workers),
            "scenes": len(jobs),
            "failed": sum(r.status != "ok" for r in reports),
            "seconds": round(seconds, 3),
            "scenes_per_minute": round(60.0 * len(jobs) / seconds, 2) if seconds else None,
        })  # fmt: skip
    base = rows[0]["scenes_per_minute"] if rows else None
    for row in rows:
        speed = row["scenes_per_minute"]
        row["speedup"] = round(speed / base, 2) if base and speed else None
    return rows


def _timed_local_batch(
    jobs: Sequence[Job], params: DetectionParams, workers: int, torch_threads: int | None
) -> tuple[float, list[SceneReport]]:
    cluster, client = start_local_cluster(workers, None)
    try:
        hosts = workers_per_host(client)
        client.run(_warm_worker, params, hosts, torch_threads)
        reports: list[SceneReport] = []
        started = time.perf_counter()
        run_on_client(client, jobs, params, lambda job, report: reports.append(report))
        return time.perf_counter() - started, reports
    finally:
        client.close()
        cluster.close()


def _warm_worker(
    params: DetectionParams, hosts: dict[str, int], torch_threads: int | None = None
) -> None:
    """Load the model and set torch's threads on a worker before timing starts."""
    from distributed import get_worker

    worker = get_worker()
    _limit_torch_threads(hosts.get(worker.ip, 1) * _worker_threads(worker), torch_threads)
    cached_predictor(params)
