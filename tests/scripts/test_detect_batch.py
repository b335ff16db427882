"""scripts/detect.py on many scenes: sequential, on a two-worker LocalCluster, resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.batch.run import SceneReport, is_complete_output
from tests.conftest import REPO_ROOT
from tests.engine.batch.test_batch import assert_correct_mask, build_archive, read_mask

DETECT = [sys.executable, str(REPO_ROOT / "scripts" / "detect.py")]


def detect(*args: object) -> subprocess.CompletedProcess:
    command = [*DETECT, *map(str, args)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def reports_of(path: Path) -> dict[str, SceneReport]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {Path(row["input"]).name: SceneReport(**row) for row in rows}


def linked_scenes(folder: Path, scene: Path, count: int) -> Path:
    """``count`` differently named links to one real scene: a cheap archive of many scenes."""
    folder.mkdir()
    for index in range(count):
        (folder / f"scene_{index:03d}").symlink_to(scene, target_is_directory=True)
    return folder


class TestUsage:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("a.tif",), "give -o OUT.tif for one input, or --output-dir DIR"),
            (("a.tif", "b.tif", "-o", "m.tif"), "-o names one mask"),
            (("a.tif", "-o", "m.tif", "--output-dir", "d"), "not both"),
            (("a.tif", "--output-dir", "d", "--probability", "p.tif"), "--probability"),
        ],
    )
    def test_contradictory_outputs_are_usage_errors(
        self, args: tuple[str, ...], message: str
    ) -> None:
        result = detect(*args)
        assert result.returncode == 2 and message in result.stderr, result.stderr

    def test_bad_scheduler_is_one_line(self, tmp_path: Path, brightness_weights: Path) -> None:
        scene = tmp_path / "a.tif"
        scene.touch()
        result = detect(scene, "--output-dir", tmp_path, "--scheduler", "spark://x",
                        "--weights", brightness_weights)  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.strip().startswith("error: Unknown scheduler 'spark://x'")
        assert "Traceback" not in result.stderr


@pytest.mark.data
class TestSequentialBatch:
    def test_list_and_glob_inputs_existing_outputs_and_single_job_report(
        self, tmp_path: Path, scene_dirs: dict[str, Path], brightness_weights: Path
    ) -> None:
        listing = tmp_path / "scenes.txt"
        listing.write_text(f"{scene_dirs['l1_900m']}\n# done later\n", encoding="utf-8")
        pattern = str(scene_dirs["sr_600m"].parent / "LC08_L2SP_001062_*")
        out = tmp_path / "masks"
        result = detect(listing, pattern, "--output-dir", out, "--weights", brightness_weights)
        assert result.returncode == 0, result.stderr
        assert "2 scenes: 2 ok" in result.stdout
        names = sorted(p.name for p in out.iterdir())
        assert names == [f"{scene_dirs[k].name}_cloudmask.tif" for k in ("l1_900m", "sr_600m")]

        again = detect(listing, "--output-dir", out, "--weights", brightness_weights)
        assert again.returncode == 1 and "--resume to keep it" in again.stdout

        report = tmp_path / "one.json"
        single = detect(scene_dirs["l1_900m"], "-o", tmp_path / "one.tif", "--report", report,
                        "--weights", brightness_weights)  # fmt: skip
        assert single.returncode == 0, single.stderr
        [row] = reports_of(report).values()
        assert row.status == "ok" and row.output == str(tmp_path / "one.tif")
        assert_correct_mask(row)


@pytest.mark.slow
@pytest.mark.data
class TestClusterBatch:
    def test_local_cluster_matches_sequential_and_isolates_failures(
        self, tmp_path: Path, scene_dirs: dict[str, Path], brightness_weights: Path
    ) -> None:
        build_archive(tmp_path, scene_dirs)
        archive = tmp_path / "archive"
        common = ("--weights", brightness_weights, "--device", "cpu")
        seq = detect(archive, "--output-dir", tmp_path / "seq", "--report",
                     tmp_path / "seq.json", *common)  # fmt: skip
        par = detect(archive, "--output-dir", tmp_path / "par", "--report",
                     tmp_path / "par.csv", "--scheduler", "local:2", *common)  # fmt: skip
        for result in (seq, par):
            assert result.returncode == 1, result.stderr  # two bad inputs among seven
            assert "7 scenes: 5 ok, 2 failed" in result.stdout
            assert "failed: " in result.stderr and "lacks band B5" in result.stderr
            assert "Traceback" not in result.stderr
        assert "note: local cluster of 2 worker(s); Dask dashboard: http" in par.stderr

        sequential = reports_of(tmp_path / "seq.json")
        assert sequential["corrupt_l1"].status == "failed"
        assert "truncated or corrupt" in sequential["corrupt_l1"].error
        assert (tmp_path / "par.csv").read_text().startswith("input,output,status,cloud_cover")
        for name, report in sequential.items():
            parallel = tmp_path / "par" / Path(report.output).name
            assert parallel.exists() == (report.status == "ok"), name
            if report.status == "ok":
                assert_correct_mask(report)
                np.testing.assert_array_equal(read_mask(parallel), read_mask(report.output))

    def test_ctrl_c_then_resume_does_only_what_is_missing(
        self, tmp_path: Path, scene_dirs: dict[str, Path], brightness_weights: Path
    ) -> None:
        archive = linked_scenes(tmp_path / "archive", scene_dirs["toa_120m"], 60)
        out = tmp_path / "masks"
        command = [*DETECT, str(archive), "--output-dir", str(out), "--scheduler", "local:2",
                   "--weights", str(brightness_weights)]  # fmt: skip
        # A new session, so the SIGINT reaches the script and its workers as a terminal's would.
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while len(list(out.glob("*.tif"))) < 3 and process.poll() is None:
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)

        assert process.returncode == 130, stderr
        assert "canceled: Interrupted after" in stderr and "--resume" in stderr
        assert "Traceback" not in stderr
        done = sorted(out.iterdir())
        assert all(not p.name.startswith(".") for p in done), done  # no partial file
        assert all(is_complete_output(p) for p in done)
        assert 3 <= len(done) < 60

        report = tmp_path / "resume.json"
        resumed = detect(archive, "--output-dir", out, "--resume", "--report", report,
                         "--weights", brightness_weights)  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        statuses = [r.status for r in reports_of(report).values()]
        assert statuses.count("skipped") == len(done)
        assert statuses.count("ok") == 60 - len(done)
        assert len(list(out.glob("*_cloudmask.tif"))) == 60
