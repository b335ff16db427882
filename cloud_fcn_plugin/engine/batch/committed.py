"""A batch's rows told by the masks it committed, and never a finished scene written twice.

Dask runs a task again when the worker that held its result dies, even after the scene's
mask was committed. Every mask a Dask batch writes records the batch's run token
(:func:`~..outputs.settings_tag.recording`); a task that finds its output already
committed by this batch does not run the scene again, and its row is read from that
file (:func:`earlier_attempt`). Every ``ok`` row is rebuilt from the committed file
(:func:`row_from_mask`): the cover the report gives is the cover the mask holds, with
the tile size the run used.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..classes import CLEAR, CLOUD_SHADOW, THICK_CLOUD, THIN_CLOUD
from ..inference.decision import ClassCounts
from ..outputs.settings_tag import recorded_settings
from .jobs import Job
from .report import SceneReport


def mask_counts(path: Path) -> ClassCounts | None:
    """The class counts of a committed mask, read block by block; None if it does not read."""
    import rasterio

    counts = ClassCounts()
    try:
        with rasterio.open(path) as dataset:
            for _, window in dataset.block_windows(1):
                counts.add(np.asarray(dataset.read(1, window=window), dtype=np.uint8))
    except (rasterio.errors.RasterioError, OSError, ValueError):
        return None
    return counts


def row_from_mask(job: Job, report: SceneReport) -> SceneReport:
    """An ``ok`` row with its covers read from the committed mask (other rows unchanged)."""
    if report.status != "ok":
        return report
    counts = mask_counts(job.output)
    if counts is None:
        return dataclasses.replace(
            report, status="failed", cloud_cover=None, valid_pixels=None,
            error=f"{job.output} does not read back after it was written: check the disk "
            "and run again with --resume.",
        )  # fmt: skip
    record = recorded_settings(job.output) or {}
    tile = record.get("tile_size_used")
    return dataclasses.replace(
        report,
        cloud_cover=round(counts.cloud_cover, 4),
        valid_pixels=counts.valid,
        clear_cover=round(counts.cover((CLEAR,)), 4),
        thick_cloud_cover=round(counts.cover((THICK_CLOUD,)), 4),
        thin_cloud_cover=round(counts.cover((THIN_CLOUD,)), 4),
        shadow_cover=round(counts.cover((CLOUD_SHADOW,)), 4),
        tile_size=tile if isinstance(tile, int) else None,
    )


def earlier_attempt(job: Job, run: str, worker: str) -> SceneReport | None:
    """The row of a scene this batch (run token ``run``) already committed, else None."""
    record = recorded_settings(job.output)
    if record is None or record.get("batch_run") != run:
        return None
    return row_from_mask(job, SceneReport.for_job(job, "ok", worker=worker))
