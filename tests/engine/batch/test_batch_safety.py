"""A batch never writes or deletes what it reads, nor another run's files (issue 17)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.batch import run as batch
from cloud_fcn_plugin.engine.batch.run import Job, SceneReport
from cloud_fcn_plugin.engine.errors import (
    OutputConflictError,
    OutputNotWritableError,
    ParameterError,
)
from cloud_fcn_plugin.engine.files.atomic import remove_partial_outputs
from cloud_fcn_plugin.engine.params import DetectionParams
from tests.conftest import write_geotiff

LONG = "a" * 300


def scene(path: Path, value: int = 9000) -> Path:
    return write_geotiff(path, np.full((4, 16, 16), value, np.uint16))


@pytest.fixture
def params(brightness_weights: Path) -> DetectionParams:
    return DetectionParams(weights=brightness_weights, device="cpu")


class TestResumeNeverDeletesAnInput:
    def test_output_named_as_the_input_is_refused_before_any_deletion(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        """C1: ``detect.py in.tif -o in.tif --resume`` deleted the scene."""
        source = scene(tmp_path / "in.tif")
        before = source.read_bytes()
        with pytest.raises(OutputConflictError, match="destroy"):
            batch.run_batch([Job(source, source)], params, resume=True)
        assert source.read_bytes() == before

    def test_output_named_as_a_band_file_of_the_product_is_refused(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        folder = tmp_path / "LC08_L1TP_001002_20200101_20200102_01_T1"
        folder.mkdir()
        for band in (2, 3, 4, 5):
            scene(folder / f"{folder.name}_B{band}.TIF")
        band4 = folder / f"{folder.name}_B4.TIF"
        before = band4.read_bytes()
        with pytest.raises(OutputConflictError, match="destroy"):
            batch.run_batch([Job(folder, band4)], params, resume=True)
        assert band4.read_bytes() == before

    def test_an_output_that_is_a_folder_is_one_failed_row(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        """H14: ``--resume`` called unlink() on a folder."""
        source = scene(tmp_path / "a.tif")
        folder = tmp_path / "out" / "a_cloudmask.tif"
        folder.mkdir(parents=True)
        (report,) = batch.run_batch(
            batch.plan_jobs([source], tmp_path / "out"), params, resume=True
        )
        assert report.status == "failed" and "is a folder" in report.error
        assert folder.is_dir()


class TestResumeWithOtherSettings:
    def test_masks_made_with_other_settings_are_redone(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        """M3: ``--resume --threshold 0.1 --buffer 5`` skipped masks made at 0.9."""
        from dataclasses import replace

        from cloud_fcn_plugin.engine.outputs.settings_tag import recorded_settings

        jobs = batch.plan_jobs([scene(tmp_path / "a.tif")], tmp_path)
        strict = replace(params, threshold=0.9)
        assert [r.status for r in batch.run_batch(jobs, strict)] == ["ok"]
        assert recorded_settings(jobs[0].output)["threshold"] == 0.9
        assert [r.status for r in batch.run_batch(jobs, strict, resume=True)] == ["skipped"]
        notes: list[str] = []
        loose = replace(params, threshold=0.1, buffer=5)
        reports = batch.run_batch(jobs, loose, resume=True, log=notes.append)
        assert [r.status for r in reports] == ["ok"]
        assert any("other settings" in n and "threshold 0.9 -> 0.1" in n for n in notes)
        assert recorded_settings(jobs[0].output)["buffer"] == 5


class TestPartialsOfOtherRuns:
    def test_a_live_process_keeps_its_partials_a_dead_one_loses_them(self, tmp_path: Path) -> None:
        """M5: ``--resume`` deleted another running batch's temporary files."""
        output = tmp_path / "m.tif"
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        from cloud_fcn_plugin.engine.files.atomic import discard_temporary, new_temporary

        mine = new_temporary(output)  # this process: alive, and named with this host
        live = tmp_path / f".m.tif.partial-{os.getppid()}-abc"
        gone = tmp_path / f".m.tif.partial-{dead}-abc"
        gone_journal = tmp_path / f".m.tif.partial-{dead}-abc.gpkg-journal"
        here = tmp_path / mine.name.replace(f"-{os.getpid()}@", f"-{dead}@")
        elsewhere = tmp_path / f".m.tif.partial-{dead}@another_host-abc"  # a remote worker
        for path in (live, gone, gone_journal, here, elsewhere):
            path.write_text("x")
        removed = remove_partial_outputs([output])
        assert sorted(p.name for p in removed) == sorted(
            [gone.name, gone_journal.name, here.name]
        )
        assert live.exists() and mine.exists() and elsewhere.exists()
        discard_temporary(mine)

    def test_every_single_scene_run_sweeps_the_dead_ones(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        """L1: a SIGKILLed run's partials stayed; the engine's run (CLI, panel, Processing)."""
        from cloud_fcn_plugin.engine.pipeline import detect_clouds

        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        gone = tmp_path / f".m.tif.partial-{dead}-abc"
        kept = tmp_path / f".m.tif.partial-{os.getpid()}-abc"
        gone.write_text("x")
        kept.write_text("x")
        detect_clouds(scene(tmp_path / "s.tif"), tmp_path / "m.tif", params)
        assert not gone.exists() and kept.exists()


class TestExpansion:
    def test_the_batch_own_masks_are_not_scenes(self, tmp_path: Path) -> None:
        """M4: output folder = input folder: the next run took its masks as scenes."""
        scene(tmp_path / "a.tif")
        scene(tmp_path / "a_cloudmask.tif")
        assert [p.name for p in batch.expand_inputs([tmp_path])] == ["a.tif"]
        assert [p.name for p in batch.expand_inputs([str(tmp_path / "*.tif")])] == ["a.tif"]
        named = batch.expand_inputs([tmp_path / "a_cloudmask.tif"])  # named: the user means it
        assert [p.name for p in named] == ["a_cloudmask.tif"]

    def test_recursive_glob_over_symlink_loops_ends(self, tmp_path: Path) -> None:
        """H9: ``loops/a`` holds ``l1 -> .`` and ``l2 -> .``: Python's glob never ends."""
        folder = tmp_path / "loops" / "a"
        folder.mkdir(parents=True)
        scene(folder / "x.tif")
        (folder / "l1").symlink_to(".")
        (folder / "l2").symlink_to(".")
        code = (
            "import sys; from cloud_fcn_plugin.engine.batch.run import expand_inputs; "
            f"print(len(expand_inputs([{str(tmp_path / 'loops' / '**' / '*.tif')!r}])))"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=60, cwd=Path(__file__).parents[3])  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "1"

    def test_one_damaged_name_fails_that_row_only(
        self, tmp_path: Path, params: DetectionParams
    ) -> None:
        """M8, H8: a 300-character line in a list stopped the whole batch."""
        good = scene(tmp_path / "good.tif")
        listing = tmp_path / "list.txt"
        listing.write_text(f"{good}\n{tmp_path / LONG}.tif\n")
        fifo = tmp_path / "fifo.tif"
        os.mkfifo(fifo)  # H10: a FIFO named *.tif hung the batch
        scenes = batch.expand_inputs([listing, fifo])
        (tmp_path / "o").mkdir()
        reports = batch.run_batch(batch.plan_jobs(scenes, tmp_path / "o"), params)
        assert [r.status for r in reports] == ["ok", "failed", "failed"]
        assert "too long" in reports[1].error and "not a regular file" in reports[2].error


class TestReport:
    def test_report_never_replaces_an_input_the_list_or_a_mask(self, tmp_path: Path) -> None:
        """C2: ``--report`` wrote CSV over the scene, the list file or a mask."""
        source = scene(tmp_path / "a.tif")
        listing = tmp_path / "list.txt"
        listing.write_text(f"{source}\n")
        reads: list[Path] = []
        scenes = batch.expand_inputs([listing], read=reads)
        jobs = batch.plan_jobs(scenes, tmp_path / "m")
        for report in (source, listing, jobs[0].output):
            with pytest.raises(OutputConflictError):
                batch.check_batch_outputs(jobs, report=report, read=reads)

    def test_report_is_written_atomically_and_escapes_formulas(self, tmp_path: Path) -> None:
        """L2: cells starting with = + - @ are read as formulas by spreadsheets."""
        rows = [
            SceneReport("=HYPERLINK(1).tif", "o.tif", "ok"),
            SceneReport("-rf.tif", "+x", "failed", error="@bad"),
        ]
        path = tmp_path / "r.csv"
        path.write_text("old")
        batch.write_report(rows, path)
        with path.open(newline="") as stream:
            read = list(csv.DictReader(stream))
        assert [r["input"] for r in read] == ["'=HYPERLINK(1).tif", "'-rf.tif"]
        assert read[1]["output"] == "'+x" and read[1]["error"] == "'@bad"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]

    def test_a_lost_cluster_counts_as_failed(self) -> None:
        """C7: ``6 scenes: 6 canceled`` exited 0 after the scheduler died."""
        reports = [SceneReport("a", "b", "canceled"), SceneReport("c", "d", "ok")]
        assert batch.batch_failed(reports)
        with pytest.raises(OutputNotWritableError):
            batch.check_batch_outputs([], report=Path("/nonexistent/dir/r.csv"))


def sleeping_task(job: Job, params: DetectionParams, hosts: dict) -> SceneReport:
    """A Dask task that takes long enough for its scheduler to be killed meanwhile."""
    import time

    time.sleep(60)
    return SceneReport.for_job(job, "ok")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestRemoteCluster:
    @pytest.mark.slow
    def test_a_scheduler_that_dies_fails_the_batch(
        self, tmp_path: Path, params: DetectionParams, capfd: pytest.CaptureFixture
    ) -> None:
        """C7: ``6 scenes: 6 canceled`` exited 0, with raw distributed tracebacks."""
        import signal
        import threading
        import time

        pytest.importorskip("distributed")
        root = Path(__file__).resolve().parents[3]
        port = _free_port()
        address = f"tcp://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(root)}
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port),
             "--dashboard-address", ":0"], stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        worker = None
        try:
            time.sleep(3)
            worker = subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1"],
                stderr=subprocess.DEVNULL, env=env, cwd=root,
            )  # fmt: skip
            from distributed import Client

            with Client(address, timeout="30s") as probe:
                probe.wait_for_workers(1, timeout=60)
            jobs = [Job(scene(tmp_path / f"s{i}.tif"), tmp_path / f"s{i}_cloudmask.tif")
                    for i in range(2)]  # fmt: skip

            def kill_scheduler(note: str) -> None:
                if "1 worker(s)" in note:  # connected: the tasks go out next
                    threading.Timer(3, scheduler.send_signal, (signal.SIGKILL,)).start()

            reports = batch.run_batch(
                jobs, params, scheduler=address, task=sleeping_task, log=kill_scheduler
            )
        finally:
            scheduler.kill()
            if worker is not None:
                worker.kill()
                worker.wait()
        assert [r.status for r in reports] == ["canceled", "canceled"]
        assert batch.batch_failed(reports) and "scheduler" in reports[0].error
        assert "Traceback" not in capfd.readouterr().err

    def test_no_worker_is_waited_for_a_bounded_time(self) -> None:
        """L6: a remote batch with no worker waited forever after one note."""
        pytest.importorskip("distributed")
        from distributed import Client, LocalCluster

        from cloud_fcn_plugin.engine.batch.cluster import wait_for_a_worker

        notes: list[str] = []
        with (
            LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster,
            Client(cluster) as client,
            pytest.raises(ParameterError, match="No dask worker"),
        ):
            wait_for_a_worker(client, cluster.scheduler_address, notes.append, 2.0, 0.5)
        assert len(notes) >= 2 and all("no worker" in n for n in notes)
