"""engine/batch/plan: every output of a detection command checked before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.batch.plan import check_scene_outputs, plan_batch
from cloud_fcn_plugin.engine.errors import (
    OutputConflictError,
    OutputNotWritableError,
    ParameterError,
)
from cloud_fcn_plugin.engine.params import DetectionParams
from tests.conftest import write_geotiff


def _scene(path: Path) -> Path:
    return write_geotiff(path, np.zeros((4, 8, 8), np.float32))


class TestSceneOutputs:
    def test_the_preview_may_not_be_the_mask(self, tmp_path: Path) -> None:
        scene = _scene(tmp_path / "in.tif")
        params = DetectionParams(preview=tmp_path / "m.tif")
        with pytest.raises(OutputConflictError, match="preview and the mask"):
            check_scene_outputs(scene, tmp_path / "m.tif", params)

    def test_no_output_may_be_the_input(self, tmp_path: Path) -> None:
        scene = _scene(tmp_path / "in.tif")
        with pytest.raises(OutputConflictError):
            check_scene_outputs(scene, tmp_path / "m.tif", DetectionParams(probability=scene))

    def test_distinct_new_outputs_pass(self, tmp_path: Path) -> None:
        scene = _scene(tmp_path / "in.tif")
        params = DetectionParams(probability=tmp_path / "p.tif", polygons=tmp_path / "c.gpkg")
        check_scene_outputs(scene, tmp_path / "m.tif", params)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]  # nothing written


class TestBatchPlan:
    def test_output_dir_is_made_and_masks_named_by_scene(self, tmp_path: Path) -> None:
        scenes = [_scene(tmp_path / "a.tif"), _scene(tmp_path / "b.tif")]
        plan = plan_batch(scenes, output_dir=tmp_path / "out" / "masks")
        assert [j.output.name for j in plan.jobs] == ["a_cloudmask.tif", "b_cloudmask.tif"]
        assert (tmp_path / "out" / "masks").is_dir() and plan.lists == []

    def test_a_list_file_is_read_and_protected(self, tmp_path: Path) -> None:
        _scene(tmp_path / "a.tif")
        listing = tmp_path / "scenes.txt"
        listing.write_text("a.tif\n", encoding="utf-8")
        plan = plan_batch([listing], output_dir=tmp_path / "out")
        assert [p.resolve() for p in plan.lists] == [listing.resolve()]
        with pytest.raises(OutputConflictError):
            plan_batch([listing], output_dir=tmp_path / "out", report=listing)

    def test_one_mask_needs_one_scene(self, tmp_path: Path) -> None:
        scenes = [_scene(tmp_path / "a.tif"), _scene(tmp_path / "b.tif")]
        with pytest.raises(ParameterError, match="gives 2 scenes: use --output-dir"):
            plan_batch(scenes, output=tmp_path / "m.tif")
        plan = plan_batch(scenes[:1], output=tmp_path / "m.tif")
        assert plan.jobs[0].output == (tmp_path / "m.tif").absolute()

    def test_an_output_dir_that_cannot_be_made_is_one_error(self, tmp_path: Path) -> None:
        scene = _scene(tmp_path / "a.tif")
        (tmp_path / "file").write_text("x", encoding="utf-8")
        with pytest.raises(OutputNotWritableError, match="Cannot create the output folder"):
            plan_batch([scene], output_dir=tmp_path / "file" / "masks")
