"""Batch detection: input expansion, naming, resume, reports, and a real two-worker cluster."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.batch import run as batch
from cloud_fcn_plugin.engine.batch.run import Job, SceneReport
from cloud_fcn_plugin.engine.errors import CanceledError, ParameterError
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.scene.bands import band_number_from_text
from cloud_fcn_plugin.engine.scene.reader import open_scene
from tests.conftest import REPO_ROOT

L1 = "LC08_L1TP_016037_20170813_C1_900m"
DIE_ONCE_SCENE = "copy_of_sr"


def fake_product(folder: Path, bands: tuple[int, ...] = (2, 3, 4, 5)) -> Path:
    """A folder named like a product with empty band files: enough for expansion."""
    folder.mkdir(parents=True)
    for band in bands:
        (folder / f"{folder.name}_B{band}.TIF").touch()
    return folder


def copy_scene(source: Path, target: Path) -> Path:
    """Copy a real scene's B2-B5 (all a model needs) under another folder name."""
    target.mkdir(parents=True)
    for file in source.iterdir():
        if band_number_from_text(file.name) in (2, 3, 4, 5):
            shutil.copy(file, target / file.name)
    return target


def build_archive(root: Path, scene_dirs: dict[str, Path]) -> dict[str, Path]:
    """Three real scenes, two renamed copies, a truncated band file and a missing band."""
    archive = root / "archive"
    archive.mkdir()
    scenes = {}
    for key in ("toa_120m", "l1_900m", "sr_600m"):
        scenes[key] = archive / scene_dirs[key].name
        shutil.copytree(scene_dirs[key], scenes[key])
    scenes["copy_of_toa"] = copy_scene(scene_dirs["toa_120m"], archive / "copy_of_toa")
    scenes[DIE_ONCE_SCENE] = copy_scene(scene_dirs["sr_600m"], archive / DIE_ONCE_SCENE)
    corrupt = copy_scene(scene_dirs["l1_900m"], archive / "corrupt_l1")
    band4 = next(corrupt.glob("*_B4.TIF"))
    band4.write_bytes(band4.read_bytes()[:3000])  # header intact, pixels cut short
    scenes["corrupt_l1"] = corrupt
    missing = copy_scene(scene_dirs["l1_900m"], archive / "missing_b5")
    next(missing.glob("*_B5.TIF")).unlink()
    scenes["missing_b5"] = missing
    return scenes


def read_mask(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def assert_correct_mask(report: SceneReport) -> None:
    """The mask lies on the input's grid, holds the codes of a cloud-only model (0, 1, cloud
    shadow by geometry 3, and 255) only and matches the reported cover."""
    with open_scene(report.input) as reader, rasterio.open(report.output) as out:
        assert (out.width, out.height) == (reader.width, reader.height)
        assert out.transform == reader.transform and out.crs == reader.crs
        mask = out.read(1)
    assert set(np.unique(mask)) <= {0, 1, 3, 255}
    valid = int(np.count_nonzero(mask != 255))
    assert valid == report.valid_pixels
    assert report.cloud_cover == pytest.approx(100.0 * np.count_nonzero(mask == 1) / valid, 1e-3)


def die_once_task(job: Job, params: DetectionParams, hosts: dict[str, int]) -> SceneReport:
    """A Dask task that kills its worker process the first time it sees one scene."""
    marker = job.output.parent.parent / "worker-died"
    if job.input.name == DIE_ONCE_SCENE:
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            pass
        else:
            os._exit(1)
    return batch.run_scene_on_worker(job, params, hosts)


@pytest.fixture
def params(brightness_weights: Path) -> DetectionParams:
    return DetectionParams(weights=brightness_weights, device="cpu")


class TestExpandInputs:
    def test_paths_globs_folders_and_lists(self, tmp_path: Path) -> None:
        archive = tmp_path / "archive"
        first = fake_product(archive / "LC08_A")
        second = fake_product(archive / "LC08_B")
        stack = archive / "stack.tif"
        stack.touch()
        (archive / "notes.md").touch()
        (archive / ".mask.tif.partial-12").touch()
        listing = tmp_path / "scenes.txt"
        listing.write_text(f"# my scenes\narchive/LC08_B  # again\n\n{stack}\n", encoding="utf-8")
        mtl = tmp_path / "LC08_C_MTL.txt"
        mtl.touch()

        assert batch.expand_inputs([archive]) == [first, second, stack]
        assert batch.expand_inputs([str(archive / "LC08_*")]) == [first, second]
        assert batch.expand_inputs([listing, first]) == [second, stack, first]
        assert batch.expand_inputs([first, mtl]) == [first, mtl]
        assert batch.expand_inputs([first, archive / "LC08_B" / ".." / "LC08_A"]) == [first]

    def test_a_product_folder_is_one_scene(self, tmp_path: Path) -> None:
        product = fake_product(tmp_path / "LC08_X")
        assert batch.expand_inputs([product]) == [product]

    def test_missing_path_is_kept_to_be_reported(self, tmp_path: Path) -> None:
        assert batch.expand_inputs([tmp_path / "nope.tif"]) == [tmp_path / "nope.tif"]

    def test_pattern_matching_nothing_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(ParameterError, match="No scene matches"):
            batch.expand_inputs([str(tmp_path / "LC09_*")])

    def test_folder_without_scenes_is_an_error(self, tmp_path: Path) -> None:
        (tmp_path / "readme.md").touch()
        with pytest.raises(ParameterError, match="holds no Landsat product folders"):
            batch.expand_inputs([tmp_path])

    def test_empty_list_is_an_error(self, tmp_path: Path) -> None:
        listing = tmp_path / "scenes.txt"
        listing.write_text("# nothing yet\n", encoding="utf-8")
        with pytest.raises(ParameterError, match="No input scenes"):
            batch.expand_inputs([listing])


class TestNaming:
    @pytest.mark.parametrize(
        ("name", "stem"),
        [
            (f"{L1}/", L1),
            ("LC08_L1TP_016037_20170813_20170814_01_RT_MTL.txt", "LC08_L1TP_016037_20170813_2017"
             "0814_01_RT"),
            ("scene_B2-B5.TIF", "scene_B2-B5"),
        ],
    )  # fmt: skip
    def test_stem(self, tmp_path: Path, name: str, stem: str) -> None:
        path = tmp_path / name
        if name.endswith("/"):
            path.mkdir()
        assert batch.output_path_for(path, tmp_path / "out") == tmp_path / "out" / (
            stem + "_cloudmask.tif"
        )

    def test_plan_refuses_two_inputs_with_one_output(self, tmp_path: Path) -> None:
        with pytest.raises(ParameterError, match="would both write scene_cloudmask.tif"):
            batch.plan_jobs([tmp_path / "a" / "scene.tif", tmp_path / "b" / "scene.tif"], tmp_path)


class TestParseScheduler:
    def test_forms(self) -> None:
        assert batch.parse_scheduler(None) == ("sequential", None)
        assert batch.parse_scheduler("local:3") == ("local", 3)
        assert batch.parse_scheduler("local") == ("local", batch.available_cores())
        assert batch.parse_scheduler("tcp://head:8786") == ("remote", "tcp://head:8786")

    @pytest.mark.parametrize("text", ["local:0", "local:x", "head:8786", "tcp://", "spark://x:1"])
    def test_bad(self, text: str) -> None:
        with pytest.raises(ParameterError, match="Unknown scheduler"):
            batch.parse_scheduler(text)


class TestReports:
    REPORTS = (
        SceneReport("a", "a_cloudmask.tif", "ok", 12.5, 1000, 1.25, "local"),
        SceneReport("b", "b_cloudmask.tif", "failed", error="b lacks band B5 (NIR)"),
    )

    def test_csv_and_json(self, tmp_path: Path) -> None:
        batch.write_report(self.REPORTS, tmp_path / "r.csv")
        batch.write_report(self.REPORTS, tmp_path / "r.json")
        with (tmp_path / "r.csv").open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        assert [row["status"] for row in rows] == ["ok", "failed"]
        assert rows[0]["cloud_cover"] == "12.5" and rows[1]["error"] == "b lacks band B5 (NIR)"
        data = json.loads((tmp_path / "r.json").read_text())
        assert data[0]["valid_pixels"] == 1000 and data[1]["cloud_cover"] is None
        assert set(data[0]) == {
            "input", "output", "status", "cloud_cover", "valid_pixels", "seconds", "worker",
            "error", "clear_cover", "thick_cloud_cover", "thin_cloud_cover", "shadow_cover",
            "qa_cloud_cover", "qa_shadow_cover", "tile_size",
        }  # fmt: skip

    def test_table(self) -> None:
        table = batch.format_table(self.REPORTS)
        assert "12.50" in table and "-> b lacks band B5" in table
        assert table.splitlines()[-1] == "2 scenes: 1 ok, 1 failed"


class TestClassColumns:
    def test_qa_model_reports_every_class(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.batch.scene import run_scene
        from tests.conftest import write_geotiff

        name = "LC80200392015216LGN00"
        folder = tmp_path / name
        folder.mkdir()
        for band in (2, 3, 4, 5):
            write_geotiff(folder / f"{name}_B{band}.TIF", np.ones((1, 2, 4), np.uint16))
        qa = np.array([[[0, 3 << 14, 3 << 12, 1], [0, 0, 3 << 14, 0]]], np.uint16)
        write_geotiff(folder / f"{name}_BQA.TIF", qa)
        job = Job(folder, tmp_path / "mask.tif")
        report = run_scene(job, DetectionParams(model="qa"))
        assert report.status == "ok", report.error
        covers = (report.clear_cover, report.thick_cloud_cover, report.thin_cloud_cover)
        assert covers == pytest.approx((400 / 7, 200 / 7, 100 / 7), abs=1e-4)  # rounded to 4
        assert report.shadow_cover == 0.0 and report.qa_cloud_cover is None
        assert "thick %" in batch.format_table([report])


class TestImports:
    def test_engine_and_batch_import_without_dask_or_torch(self) -> None:
        code = (
            "import sys, cloud_fcn_plugin.engine.batch.run; "
            "print(sorted(m for m in ('dask', 'distributed', 'torch') if m in sys.modules))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[]"


@pytest.mark.data
class TestSequential:
    def test_failures_are_isolated_and_resume_does_only_the_rest(
        self, tmp_path: Path, scene_dirs: dict[str, Path], params: DetectionParams
    ) -> None:
        scenes = build_archive(tmp_path, scene_dirs)
        jobs = batch.plan_jobs(batch.expand_inputs([tmp_path / "archive"]), tmp_path / "out")
        (tmp_path / "out").mkdir()
        reports = {Path(r.input).name: r for r in batch.run_batch(jobs, params)}

        assert reports["corrupt_l1"].status == "failed"
        assert "truncated or corrupt" in reports["corrupt_l1"].error
        assert "lacks band B5" in reports["missing_b5"].error
        ok = [r for r in reports.values() if r.status == "ok"]
        assert len(ok) == 5
        for report in ok:
            assert_correct_mask(report)
        for report in reports.values():
            assert "\n" not in report.error

        # A hard kill mid-scene leaves a hidden temporary file and no mask.
        killed = Path(reports[scenes["toa_120m"].name].output)
        killed.unlink()
        leftover = killed.with_name(f".{killed.name}.partial-99999")
        leftover.write_bytes(b"half a GeoTIFF")
        assert not batch.is_complete_output(leftover)
        again = batch.run_batch(jobs, params, resume=True)
        status = {Path(r.input).name: r.status for r in again}
        assert status[scenes["toa_120m"].name] == "ok"
        assert status["corrupt_l1"] == status["missing_b5"] == "failed"
        assert sum(s == "skipped" for s in status.values()) == 4
        assert not leftover.exists()
        assert batch.is_complete_output(killed)

    def test_a_damaged_output_is_redone(
        self, tmp_path: Path, scene_dirs: dict[str, Path], params: DetectionParams
    ) -> None:
        jobs = batch.plan_jobs([scene_dirs["l1_900m"]], tmp_path)
        [first] = batch.run_batch(jobs, params)
        output = Path(first.output)
        output.write_bytes(output.read_bytes()[:2000])
        assert not batch.is_complete_output(output)
        [again] = batch.run_batch(jobs, params, resume=True)
        assert again.status == "ok" and batch.is_complete_output(output)

    def test_ctrl_c_leaves_complete_outputs_only(
        self, tmp_path: Path, scene_dirs: dict[str, Path], params: DetectionParams
    ) -> None:
        jobs = [Job(scene_dirs["l1_900m"], tmp_path / f"m{i}.tif") for i in range(3)]

        def interrupt(report: SceneReport) -> None:
            raise KeyboardInterrupt

        with pytest.raises(CanceledError, match="--resume"):
            batch.run_batch(jobs, params, on_done=interrupt)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m0.tif"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A real LocalCluster: two single-threaded worker processes on loopback."""
    pytest.importorskip("distributed")
    local, client = batch.start_local_cluster(2)
    client.close()
    yield local.scheduler_address
    local.close()


@pytest.mark.slow
@pytest.mark.data
class TestCluster:
    def test_same_outputs_as_sequential_and_failures_isolated(
        self,
        tmp_path: Path,
        scene_dirs: dict[str, Path],
        params: DetectionParams,
        cluster: str,
    ) -> None:
        build_archive(tmp_path, scene_dirs)
        scenes = batch.expand_inputs([tmp_path / "archive"])
        (tmp_path / "seq").mkdir()
        (tmp_path / "dask").mkdir()
        sequential = batch.run_batch(batch.plan_jobs(scenes, tmp_path / "seq"), params)
        logs: list[str] = []
        clustered = batch.run_batch(
            batch.plan_jobs(scenes, tmp_path / "dask"), params, scheduler=cluster, log=logs.append
        )
        assert "2 worker(s)" in logs[0]
        assert [r.status for r in clustered] == [r.status for r in sequential]
        assert sum(r.status == "ok" for r in clustered) == 5
        assert {r.worker for r in clustered if r.status == "ok"} <= set(self.workers(cluster))
        for seq, par in zip(sequential, clustered, strict=True):
            if par.status == "ok":
                assert_correct_mask(par)
                np.testing.assert_array_equal(read_mask(par.output), read_mask(seq.output))
                assert (par.cloud_cover, par.valid_pixels) == (seq.cloud_cover, seq.valid_pixels)
            else:
                assert par.error == seq.error

    def test_killed_worker_has_its_scene_retried(
        self,
        tmp_path: Path,
        scene_dirs: dict[str, Path],
        params: DetectionParams,
        cluster: str,
    ) -> None:
        scenes = build_archive(tmp_path, scene_dirs)
        chosen = [scenes[key] for key in ("toa_120m", "l1_900m", DIE_ONCE_SCENE, "copy_of_toa")]
        (tmp_path / "out").mkdir()
        jobs = batch.plan_jobs(chosen, tmp_path / "out")
        reports = batch.run_batch(jobs, params, scheduler=cluster, task=die_once_task)

        assert (tmp_path / "worker-died").exists()  # a worker really died
        assert [r.status for r in reports] == ["ok"] * 4, [r.error for r in reports]
        for report in reports:
            assert_correct_mask(report)
        assert not list((tmp_path / "out").glob(".*partial*"))

    @staticmethod
    def workers(address: str) -> list[str]:
        from distributed import Client

        with Client(address) as client:
            return list(client.scheduler_info()["workers"])


class TestSchedulerAddress:
    def test_refused_connection_fails_at_once_naming_the_address(
        self, params: DetectionParams, tmp_path: Path
    ) -> None:
        import time

        job = Job(tmp_path / "scene.tif", tmp_path / "out" / "scene_cloudmask.tif")
        started = time.monotonic()
        with pytest.raises(ParameterError, match="tcp://127.0.0.1:1 .*dask scheduler"):
            batch.run_batch([job], params, scheduler="tcp://127.0.0.1:1")
        assert time.monotonic() - started < 5.0

    def test_address_without_port(self) -> None:
        with pytest.raises(ParameterError, match="HOST:PORT"):
            batch.check_scheduler_listens("tcp://head")
