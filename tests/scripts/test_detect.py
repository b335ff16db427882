"""scripts/detect.py as a user runs it: one summary line, or one clear error line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.conftest import REPO_ROOT, write_geotiff

SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


def detect(*args: object, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO_ROOT / "scripts" / "detect.py"), *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


def assert_one_line_error(result: subprocess.CompletedProcess, pattern: str) -> None:
    assert result.returncode == 1, result.stderr
    # Notes on what was inferred may precede it; the error itself is one line.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and pattern in lines[0], lines[0]
    assert "Traceback" not in result.stderr


class TestSuccess:
    def test_sample_scene_with_preview_and_probability(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        result = detect(
            SAMPLE,
            "-o",
            tmp_path / "mask.tif",
            "--preview",
            tmp_path / "preview.png",
            "--probability",
            tmp_path / "prob.tif",
            "--weights",
            brightness_weights,
            "--quiet",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Cloud cover ") and "cpu" in result.stdout
        with rasterio.open(SAMPLE) as src, rasterio.open(tmp_path / "mask.tif") as out:
            assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
        with rasterio.open(tmp_path / "preview.png") as png:
            assert png.count == 3 and max(png.shape) <= 1024

    @pytest.mark.data
    def test_landsat_folder_and_mtl_like_inputs(
        self, tmp_path: Path, scene_dirs: dict[str, Path], brightness_weights: Path
    ) -> None:
        result = detect(
            scene_dirs["l1_900m"], "-o", tmp_path / "m.tif", "--weights", brightness_weights
        )
        assert result.returncode == 0, result.stderr
        assert "product l1" in result.stdout
        assert "Level-1" in result.stderr  # the note says what was inferred


class TestBadInput:
    def test_missing_input(self, tmp_path: Path, brightness_weights: Path) -> None:
        result = detect(
            tmp_path / "nope.tif", "-o", tmp_path / "m.tif", "--weights", brightness_weights
        )
        assert_one_line_error(result, "nope.tif")
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.data
    def test_too_few_bands(
        self, tmp_path: Path, scene_dirs: dict[str, Path], brightness_weights: Path
    ) -> None:
        stack = next(scene_dirs["rgb_30m"].glob("*.TIF"))
        result = detect(stack, "-o", tmp_path / "m.tif", "--weights", brightness_weights)
        assert_one_line_error(result, "band")
        assert list(tmp_path.iterdir()) == []

    def test_band_index_out_of_range(self, tmp_path: Path, brightness_weights: Path) -> None:
        result = detect(
            SAMPLE, "-o", tmp_path / "m.tif", "--bands", "3,2,1,7", "--weights", brightness_weights
        )
        assert_one_line_error(result, "7")
        assert list(tmp_path.iterdir()) == []

    def test_no_valid_pixels(self, tmp_path: Path, brightness_weights: Path) -> None:
        empty = write_geotiff(tmp_path / "empty.tif", np.zeros((4, 30, 30), np.float32))
        result = detect(empty, "-o", tmp_path / "m.tif", "--weights", brightness_weights)
        assert_one_line_error(result, "no valid pixels")
        assert [p.name for p in tmp_path.iterdir()] == ["empty.tif"]

    def test_unreadable_weights(self, tmp_path: Path) -> None:
        weights = tmp_path / "broken.safetensors"
        weights.write_bytes(b"\x00" * 100)
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--weights", weights)
        assert_one_line_error(result, "broken.safetensors")
        assert not (tmp_path / "m.tif").exists()

    def test_output_exists_unless_overwrite(self, tmp_path: Path, brightness_weights: Path) -> None:
        output = tmp_path / "m.tif"
        output.write_text("keep me")
        result = detect(SAMPLE, "-o", output, "--weights", brightness_weights)
        assert_one_line_error(result, "--overwrite")
        assert output.read_text() == "keep me"
        result = detect(SAMPLE, "-o", output, "--weights", brightness_weights, "--overwrite")
        assert result.returncode == 0, result.stderr

    def test_output_folder_missing(self, tmp_path: Path, brightness_weights: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "no" / "m.tif", "--weights", brightness_weights)
        assert_one_line_error(result, "no")

    def test_bad_bands_syntax_is_a_usage_error(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--bands", "3,2")
        assert result.returncode == 2 and "--bands" in result.stderr
