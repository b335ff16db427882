"""scripts/export_onnx.py and scripts/detect.py --model FILE.onnx as a user runs them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.conftest import REPO_ROOT
from tests.onnx_models import RGBN_WEIGHTS, SAMPLE, with_metadata
from tests.scripts.test_detect import assert_one_line_error, detect

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


# The ONNX export is held to float32 torch (see the fixture).
pytestmark = pytest.mark.usefixtures("float32_torch")


def export(*args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "export_onnx.py"), *map(str, args)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "cloudfcn_rgbn.onnx"
    result = export("rgbn", "-o", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {path}: bands red, green, blue, nir, classes cloud")
    return path


class TestExport:
    def test_refuses_to_replace_a_file_unasked(self, exported: Path) -> None:
        before = exported.read_bytes()
        result = export("rgbn", "-o", exported)
        assert result.returncode == 1 and "exists: pass --overwrite" in result.stderr
        assert exported.read_bytes() == before

    def test_a_checkpoint_path_and_overwrite(self, tmp_path: Path) -> None:
        target = tmp_path / "m.onnx"
        target.write_bytes(b"old")
        result = export(RGBN_WEIGHTS, "-o", target, "--overwrite")
        assert result.returncode == 0, result.stderr
        assert target.stat().st_size > 100_000
        assert not list(tmp_path.glob(".*partial*"))

    def test_wrong_extension_is_one_line(self, tmp_path: Path) -> None:
        result = export("rgbn", "-o", tmp_path / "m.tif")
        assert result.returncode == 1 and "name it m.onnx" in result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "m.tif").exists()


class TestDetectWithOnnx:
    def test_same_mask_as_the_torch_model(self, exported: Path, tmp_path: Path) -> None:
        masks = {}
        for name, model in (("torch", RGBN_WEIGHTS), ("onnx", exported)):
            result = detect(SAMPLE, "-o", tmp_path / f"{name}.tif", "--model", model,
                            "--probability", tmp_path / f"{name}_p.tif", "--quiet")
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("Cloud cover ")
            with rasterio.open(tmp_path / f"{name}.tif") as mask, rasterio.open(
                tmp_path / f"{name}_p.tif"
            ) as prob:
                masks[name] = mask.read(1), prob.read(1)
        (torch_mask, torch_prob), (onnx_mask, onnx_prob) = masks["torch"], masks["onnx"]
        assert np.abs(torch_prob - onnx_prob).max() < 1e-4
        assert np.count_nonzero(torch_mask != onnx_mask) <= 2  # pixels at the threshold
        assert "cloudfcn_rgbn.onnx" in result.stdout

    def test_a_dask_batch_loads_the_onnx_model_in_each_worker(
        self, exported: Path, tmp_path: Path
    ) -> None:
        archive = tmp_path / "archive"
        archive.mkdir()
        for name in ("a", "b"):
            shutil.copy(SAMPLE, archive / f"{name}_{SAMPLE.name}")
        torch_run = detect(SAMPLE, "-o", tmp_path / "torch.tif", "--quiet")
        assert torch_run.returncode == 0, torch_run.stderr
        result = detect(archive, "--output-dir", tmp_path / "masks", "--model", exported,
                        "--scheduler", "local:2", "--report", tmp_path / "report.csv",
                        "--quiet")  # fmt: skip
        assert result.returncode == 0, result.stderr
        masks = sorted((tmp_path / "masks").glob("*_cloudmask.tif"))
        assert len(masks) == 2
        with rasterio.open(tmp_path / "torch.tif") as reference:
            expected = reference.read(1)
        for mask in masks:
            with rasterio.open(mask) as produced:
                assert np.count_nonzero(produced.read(1) != expected) <= 2
        assert (tmp_path / "report.csv").read_text().count(",ok,") == 2

    def test_missing_metadata_is_one_line(self, exported: Path, tmp_path: Path) -> None:
        bad = with_metadata(exported, tmp_path / "bad.onnx", {"cloud_fcn.std": None})
        result = detect(SAMPLE, "-o", tmp_path / "mask.tif", "--model", bad)
        assert_one_line_error(result, "bad.onnx lacks the metadata cloud_fcn.std")
        assert not (tmp_path / "mask.tif").exists()

    def test_not_onnx_is_one_line(self, tmp_path: Path) -> None:
        bad = tmp_path / "model.onnx"
        bad.write_text("hello")
        result = detect(SAMPLE, "-o", tmp_path / "mask.tif", "--model", bad)
        assert_one_line_error(result, "model.onnx is not a valid ONNX model")
