"""Batches stay true under worker loss: a row is read from the mask committed, once.

Dask recomputes a task whose result died with its worker, even when the scene's mask was
committed; the second run must not write the scene again (its row was perhaps already
reported), and every row must give what the committed mask holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import rasterio

from cloud_fcn_plugin.engine.batch.committed import earlier_attempt, mask_counts, row_from_mask
from cloud_fcn_plugin.engine.batch.jobs import Job
from cloud_fcn_plugin.engine.batch.report import SceneReport
from cloud_fcn_plugin.engine.outputs.settings_tag import (
    changed_settings,
    recorded_settings,
    recording,
)
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from tests.onnx_models import SAMPLE


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory) -> Job:
    out = tmp_path_factory.mktemp("batch") / "s_cloudmask.tif"
    with recording(batch_run="run1"):
        detect_clouds(SAMPLE, out, DetectionParams(tile_size=256))
    return Job(SAMPLE, out)


def test_the_mask_records_its_tile_and_batch_but_resume_compares_settings_only(
    committed: Job,
) -> None:
    record = recorded_settings(committed.output)
    assert record is not None
    assert (record["tile_size_used"], record["batch_run"]) == (256, "run1")
    assert changed_settings(committed.output, DetectionParams(tile_size=256)) == []


def test_an_ok_row_is_rebuilt_from_the_committed_mask(committed: Job) -> None:
    claimed = SceneReport.for_job(committed, "ok", cloud_cover=99.0, valid_pixels=1)
    row = row_from_mask(committed, claimed)
    counts = mask_counts(committed.output)
    assert counts is not None
    assert (row.cloud_cover, row.valid_pixels) == (round(counts.cloud_cover, 4), counts.valid)
    assert row.tile_size == 256
    failed = SceneReport.for_job(committed, "failed", "bad input")
    assert row_from_mask(committed, failed) is failed


def test_a_scene_committed_by_this_batch_is_read_back_not_run_again(committed: Job) -> None:
    before = committed.output.stat().st_mtime_ns
    row = earlier_attempt(committed, "run1", "worker-2")
    assert row is not None and row.status == "ok" and row.worker == "worker-2"
    assert committed.output.stat().st_mtime_ns == before
    assert earlier_attempt(committed, "another-batch", "w") is None  # an earlier batch's: redone


def test_a_recomputed_dask_task_does_not_write_twice(tmp_path: Path) -> None:
    """The same scene submitted twice under one batch token, as Dask does after a death."""
    distributed = pytest.importorskip("distributed")
    from cloud_fcn_plugin.engine.batch.cluster import run_scene_on_worker

    job = Job(SAMPLE, tmp_path / "s_cloudmask.tif")
    params = DetectionParams(overwrite=True)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1) as client:
        first = client.submit(run_scene_on_worker, job, params, {}, key="cloud-fcn-0-s-tok1")
        first_row = first.result()
        assert first_row.status == "ok"
        written = job.output.stat().st_mtime_ns
        again = client.submit(run_scene_on_worker, job, params, {}, key="cloud-fcn-0-s-x-tok1")
        row = again.result()
    assert job.output.stat().st_mtime_ns == written  # not written again
    assert (row.status, row.cloud_cover) == ("ok", first_row.cloud_cover)
    with rasterio.open(job.output) as dataset:
        assert "tok1" in dataset.tags(1)["CLOUD_FCN_SETTINGS"]
