"""Batches on Dask: a local cluster of worker processes, or a running cluster's scheduler.

Dask is imported inside the functions that need it, so importing this module (and
``cloud_fcn_plugin.engine``) never requires it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..files.atomic import remove_partial_outputs
from ..outputs.settings_tag import recording
from ..params import DetectionParams
from ..scene.read_set import ReadSet
from .committed import earlier_attempt, row_from_mask
from .inputs import OUTPUT_SUFFIX, expand_inputs
from .jobs import Job, scene_stem
from .report import SceneReport, one_line
from .scene import cached_predictor, run_scene

DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
Log = Callable[[str], None]
Task = Callable[..., "SceneReport"]

_TORCH_THREADS_SET = False


def run_scene_on_worker(
    job: Job, params: DetectionParams, workers_per_host: dict[str, int]
) -> SceneReport:
    """The Dask task: share the worker's cores out to torch once, then run the scene."""
    from distributed import get_worker

    worker = get_worker()
    # The batch's run token ends every task key (see run_on_client): a scene this batch
    # already committed (Dask recomputes the results a dead worker held) is read back, never
    # written again; every mask records the token.
    run = str(worker.get_current_task() or "").rpartition("-")[2]
    done = earlier_attempt(job, run, worker.address) if run else None
    if done is not None:
        return done
    _limit_torch_threads(workers_per_host.get(worker.ip, 1) * _worker_threads(worker))
    from ..inference.memory import tile_from_parameters

    with recording(batch_run=run), tile_from_parameters():
        report = run_scene(job, params, worker=worker.address, catch_unexpected=False)
    return row_from_mask(job, report)


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


def run_local(
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
        quiet_dask_tracebacks()
        run_on_client(client, jobs, params, record, task)
    finally:
        client.close()
        cluster.close()
        # Every worker is gone now. Workers stopped mid-scene by Ctrl-C, or killed and
        # replaced (their scene then finished elsewhere), cannot clean up after themselves.
        remove_partial_outputs((job.output for job in jobs), ReadSet(job.input for job in jobs))


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

        from ..files.interrupts import clean_up_on_termination

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            clean_up_on_termination()


def run_remote(
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
            wait_for_a_worker(client, address, log)
        quiet_dask_tracebacks()
        run_on_client(client, jobs, params, finished, task)
    finally:
        # Cancelled scenes already running finish on their workers; their masks are complete.
        with contextlib.suppress(Exception):
            client.close()


#: How long a batch waits for the first worker of a remote cluster, and how often it says so.
WORKER_WAIT_SECONDS = 600.0
WORKER_WAIT_NOTE_SECONDS = 30.0


def wait_for_a_worker(
    client: Any,
    address: str,
    log: Log,
    wait: float | None = None,
    every: float | None = None,
) -> None:
    """Wait until a worker joins the scheduler, saying so every ``every`` seconds.

    Raises:
        ParameterError: no worker joined within ``wait`` seconds (default
            :data:`WORKER_WAIT_SECONDS`).
    """
    wait = WORKER_WAIT_SECONDS if wait is None else wait
    every = WORKER_WAIT_NOTE_SECONDS if every is None else every
    deadline = time.monotonic() + wait
    while True:
        left = deadline - time.monotonic()
        log(
            f"no worker is connected to {address} yet: scenes wait until one joins "
            f"(`dask worker {address}`); giving up in {max(left, 0):.0f} s."
        )
        try:
            client.wait_for_workers(1, timeout=max(min(every, left), 0.1))
            return
        except (TimeoutError, OSError) as error:
            if time.monotonic() >= deadline:
                raise ParameterError(
                    f"No dask worker joined the scheduler at {address} within {wait:.0f} s: "
                    f"start workers with `dask worker {address}` and run the batch again."
                ) from error
        except Exception as error:  # the scheduler went away (distributed raises anything)
            raise ParameterError(
                f"The dask scheduler at {address} stopped answering ({one_line(error)}): "
                "restart it and run the batch again with --resume."
            ) from error


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


_DROPPED = (
    "the cluster dropped this scene (its scheduler stopped or lost the task): check the "
    "scheduler and run again with --resume"
)


class _NoTracebacks(logging.Filter):
    """Keeps distributed's log lines but words their tracebacks as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text = " ".join(f"{record.getMessage()} {type(error).__name__}: {error}".split())
            record.msg, record.args = text.rstrip(": "), ()
        record.exc_info = record.exc_text = record.stack_info = None
        return True


_QUIET = _NoTracebacks()


def quiet_dask_tracebacks() -> None:
    """From now on distributed logs one line per problem, never a raw traceback.

    For the rest of the process: a client whose scheduler died keeps logging from its
    own thread while it tries to reconnect, after the batch has returned. The report
    rows say what failed.
    """
    # Handler filters see the records of every child logger; logger filters do not.
    handlers = [*logging.getLogger().handlers, *logging.getLogger("distributed").handlers]
    # asyncio's and tornado's records reach no handler but logging's last resort.
    handlers += [logging.lastResort] if logging.lastResort is not None else []
    for handler in handlers:
        if _QUIET not in handler.filters:
            handler.addFilter(_QUIET)


def _report_from_future(future: Any, job: Job) -> SceneReport:
    if future.status == "cancelled":
        return SceneReport.for_job(job, "canceled", _DROPPED)
    try:
        # Finished, or put back to pending: a result lost with its worker while it was
        # gathered is computed again (a scene already committed is read back, never written
        # twice: see .committed); wait for it rather than report a failure with no reason.
        return future.result()
    except Exception as exc:
        if future.status != "error":  # the scheduler went away while the result was fetched
            return SceneReport.for_job(job, "canceled", f"{_DROPPED} ({one_line(exc)})")
        error = exc
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
