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


def random_scene(path: Path, size: int, seed: int = 0) -> Path:
    """A Level-1-like uint16 4-band scene whose mask and probabilities do not compress."""
    rng = np.random.default_rng(seed)
    return write_geotiff(path, rng.integers(6000, 30000, (4, size, size), dtype=np.uint16))


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if ".partial-" in p.name]


class TestWhatGoesWrong:
    """Issue 11: no partial outputs, never the input, one line, the exit code says it."""

    @pytest.mark.parametrize("option", ["-o", "--probability", "--preview"])
    def test_output_is_never_the_input(
        self, tmp_path: Path, brightness_weights: Path, option: str
    ) -> None:
        scene = random_scene(tmp_path / "scene.tif", 64)
        before = scene.read_bytes()
        outputs = {"-o": tmp_path / "mask.tif", option: scene}
        args = [item for pair in outputs.items() for item in pair]
        result = detect(scene, *args, "--overwrite", "--weights", brightness_weights)
        assert_one_line_error(result, "destroy")
        assert scene.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]

    def test_preview_is_an_output_like_the_others(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        scene = random_scene(tmp_path / "scene.tif", 64)
        mask = tmp_path / "mask.tif"
        result = detect(scene, "-o", mask, "--preview", mask, "--weights", brightness_weights)
        assert_one_line_error(result, "preview and the mask")
        result = detect(
            scene, "-o", mask, "--preview", tmp_path / "no" / "p.png",
            "--weights", brightness_weights,
        )  # fmt: skip
        assert_one_line_error(result, "does not exist")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]

    @pytest.mark.parametrize("name", ["mask.png", "mask.jpg"])
    def test_raster_outputs_must_be_geotiff_names(
        self, tmp_path: Path, brightness_weights: Path, name: str
    ) -> None:
        scene = random_scene(tmp_path / "scene.tif", 64)
        result = detect(scene, "-o", tmp_path / name, "--weights", brightness_weights)
        assert_one_line_error(result, "GeoTIFF")
        assert not (tmp_path / name).exists()

    def test_disk_full_fails_and_keeps_the_old_mask(
        self, tmp_path: Path, tiny_disk: Path, brightness_weights: Path
    ) -> None:
        # 900² float32 probabilities: 3.2 MB, more than the 1 MB disk holds even compressed
        # (600² fitted once the network ran in bfloat16, whose probabilities compress better).
        small, big = random_scene(tmp_path / "s.tif", 32), random_scene(tmp_path / "b.tif", 900)
        mask = tiny_disk / "mask.tif"
        assert detect(small, "-o", mask, "--weights", brightness_weights).returncode == 0
        old = mask.read_bytes()
        result = detect(
            big, "-o", mask, "--probability", tiny_disk / "prob.tif", "--overwrite",
            "--weights", brightness_weights,
        )  # fmt: skip
        assert_one_line_error(result, "free disk space")
        assert "Cloud cover" not in result.stdout
        assert mask.read_bytes() == old
        assert sorted(p.name for p in tiny_disk.iterdir()) == ["mask.tif"]

    def test_tile_size_is_bounded(self, tmp_path: Path, brightness_weights: Path) -> None:
        scene = random_scene(tmp_path / "scene.tif", 64)
        result = detect(
            scene, "-o", tmp_path / "m.tif", "--tile-size", "100000",
            "--weights", brightness_weights,
        )  # fmt: skip
        assert_one_line_error(result, "32 to 2048")

    def test_one_band_four_times_is_a_usage_error(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--bands", "1,1,1,1")
        assert result.returncode == 2 and "four different" in result.stderr

    def test_truncated_input_is_one_line_naming_it(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        whole = random_scene(tmp_path / "whole.tif", 300).read_bytes()
        broken = tmp_path / "broken.tif"
        broken.write_bytes(whole[: len(whole) // 2])
        result = detect(broken, "-o", tmp_path / "m.tif", "--weights", brightness_weights)
        assert_one_line_error(result, "broken.tif")
        assert not (tmp_path / "m.tif").exists() and partials(tmp_path) == []

    @pytest.mark.parametrize(("signum", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
    def test_termination_leaves_no_partial_file(
        self, tmp_path: Path, brightness_weights: Path, signum: str, code: int
    ) -> None:
        import signal
        import time

        scene = random_scene(tmp_path / "scene.tif", 2000)
        out = tmp_path / "out"
        out.mkdir()
        command = [
            sys.executable, str(REPO_ROOT / "scripts" / "detect.py"), str(scene),
            "-o", str(out / "mask.tif"), "--probability", str(out / "prob.tif"),
            "--weights", str(brightness_weights), "--tile-size", "32", "--overlap", "0",
            "--quiet",
        ]  # fmt: skip
        process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while len(partials(out)) < 2 and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            process.send_signal(getattr(signal, signum))
            _, stderr = process.communicate(timeout=120)
        finally:
            process.kill()
        assert process.returncode == code, stderr
        lines = [line for line in stderr.splitlines() if not line.startswith("note: ")]
        assert len(lines) == 1 and signum in lines[0] and "Traceback" not in stderr
        assert list(out.iterdir()) == []


class TestModelChoice:
    def test_auto_reports_the_four_band_model_on_a_four_band_stack(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--quiet")
        assert result.returncode == 0, result.stderr
        assert "4-band model" in result.stdout
        assert "no SWIR1 and SWIR2 (B6, B7)" in result.stderr

    def test_full_band_model_on_a_four_band_stack_is_one_line(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--model", "fullband", "--quiet")
        assert_one_line_error(result, "lacks B6, B7, B9, B10")
        assert not list(tmp_path.iterdir())

    @pytest.mark.data
    def test_full_band_model_on_a_level1_product(self, tmp_path: Path, data_dir: Path) -> None:
        product = data_dir / "scenes" / "LC80200392015216LGN00_L1T_30m"
        result = detect(product, "-o", tmp_path / "m.tif", "--model", "fullband", "--quiet")
        assert result.returncode == 0, result.stderr
        assert "full-band model" in result.stdout and "K1/K2" in result.stderr

    def test_model_file_is_the_same_as_weights(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--model", brightness_weights)
        assert result.returncode == 0, result.stderr
        assert brightness_weights.name in result.stdout

    def test_model_given_twice_is_refused(self, tmp_path: Path, brightness_weights: Path) -> None:
        result = detect(
            SAMPLE, "-o", tmp_path / "m.tif", "--model", "rgbn", "--weights", brightness_weights
        )
        assert_one_line_error(result, "Give the model once")


def _disk(radius: int) -> np.ndarray:
    rows, cols = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return rows**2 + cols**2 <= radius**2


class TestFinishedWorkflow:
    """--min-size, --buffer, --masked-image and --polygons end to end on the real scenes."""

    def test_sample_scene_sieved_buffered_masked_and_polygonized(self, tmp_path: Path) -> None:
        ndimage = pytest.importorskip("scipy.ndimage")
        from osgeo import ogr

        raw = detect(SAMPLE, "-o", tmp_path / "raw.tif", "--quiet")
        assert raw.returncode == 0, raw.stderr
        result = detect(
            SAMPLE, "-o", tmp_path / "mask.tif", "--min-size", 4, "--buffer", 2,
            "--masked-image", tmp_path / "cloudfree.tif", "--polygons", tmp_path / "clouds.gpkg",
            "--quiet",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "before sieve and buffer" in result.stdout and "clouds.gpkg" in result.stdout
        with rasterio.open(tmp_path / "raw.tif") as src:
            detected = src.read(1)
        with rasterio.open(tmp_path / "mask.tif") as src:
            mask = src.read(1)
        valid = detected != 255
        np.testing.assert_array_equal(mask == 255, ~valid)
        clouds = detected == 1
        labels, _ = ndimage.label(clouds)
        sizes = np.bincount(labels.ravel())
        big = clouds & (sizes[labels] >= 4)
        assert clouds.sum() > big.sum() > 0  # the sieve had specks to drop on this scene
        # Every patch of 4 pixels or more, grown by a 2-pixel disk, is in the mask (cloud,
        # or shadow where that is nearer); no cloud lies outside the grown detections
        # (GDAL may keep a speck inside a larger cloud).
        lower = ndimage.binary_dilation(big, _disk(2)) & valid
        upper = ndimage.binary_dilation(clouds, _disk(2)) & valid
        assert not (lower & ~np.isin(mask, (1, 3))).any()
        assert not ((mask == 1) & ~upper).any()
        with rasterio.open(SAMPLE) as src, rasterio.open(tmp_path / "cloudfree.tif") as out:
            assert (out.count, out.dtypes[0], out.crs, out.transform) == (
                src.count, src.dtypes[0], src.crs, src.transform,
            )  # fmt: skip
            # The sample declares 0 as nodata: the masked image keeps the input's nodata.
            assert out.nodata == src.nodata == 0.0 and out.descriptions == src.descriptions
            source, image = src.read(), out.read()
        assert (image[:, mask != 0] == 0.0).all()
        np.testing.assert_array_equal(image[:, mask == 0], source[:, mask == 0])
        dataset = ogr.Open(str(tmp_path / "clouds.gpkg"))
        layer = dataset.GetLayer(0)
        assert layer.GetSpatialRef().GetAuthorityCode(None) == "32618"
        features = list(layer)
        assert sum(f.GetField("pixels") for f in features) == int(np.isin(mask, (1, 2, 3)).sum())
        pixel_area = 120.0 * 120.0
        for feature in features:
            assert feature.GetField("area_m2") == pytest.approx(
                feature.GetField("pixels") * pixel_area
            )
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "cloudfree.tif", "clouds.gpkg", "mask.tif", "raw.tif",
        ]  # fmt: skip

    @pytest.mark.data
    def test_product_folder_masked_image_is_the_reflective_30m_stack(
        self, tmp_path: Path, data_dir: Path
    ) -> None:
        folder = data_dir / "scenes" / "LC80200392015216LGN00_L1T_30m"
        if not folder.is_dir():
            pytest.skip(f"{folder} is absent")
        result = detect(
            folder, "-o", tmp_path / "mask.tif", "--buffer", 1,
            "--masked-image", tmp_path / "cloudfree.tif", "--polygons", tmp_path / "clouds.gpkg",
            "--quiet",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        with rasterio.open(tmp_path / "mask.tif") as src:
            mask = src.read(1)
        with rasterio.open(tmp_path / "cloudfree.tif") as out:
            assert out.descriptions == (
                "B1 coastal", "B2 blue", "B3 green", "B4 red", "B5 nir", "B6 swir1",
                "B7 swir2", "B9 cirrus",
            )  # fmt: skip
            assert out.dtypes[0] == "uint16" and out.nodata == 0
            image = out.read()
        assert (mask == 1).any() and (mask == 0).any()
        assert (image[:, mask != 0] == 0).all()
        with rasterio.open(next(folder.glob("*_B9.TIF"))) as b9:
            np.testing.assert_array_equal(image[7][mask == 0], b9.read(1)[mask == 0])

    def test_new_outputs_are_checked_like_the_others(self, tmp_path: Path) -> None:
        shapefile = detect(
            SAMPLE, "-o", tmp_path / "mask.tif", "--polygons", tmp_path / "clouds.shp"
        )
        assert_one_line_error(shapefile, "clouds.gpkg")
        same = detect(SAMPLE, "-o", tmp_path / "mask.tif", "--masked-image", tmp_path / "mask.tif")
        assert_one_line_error(same, "give each output its own path")
        source = detect(SAMPLE, "-o", tmp_path / "mask.tif", "--masked-image", SAMPLE)
        assert_one_line_error(source, "destroy")
        assert list(tmp_path.iterdir()) == []

    def test_bad_sizes_are_one_line(self, tmp_path: Path) -> None:
        assert_one_line_error(
            detect(SAMPLE, "-o", tmp_path / "mask.tif", "--buffer", -1), "Buffer must be"
        )
        assert_one_line_error(
            detect(SAMPLE, "-o", tmp_path / "mask.tif", "--min-size", -5), "Minimum cloud size"
        )
        # Refused up front, not after the whole detection (audit H13: an OverflowError).
        assert_one_line_error(
            detect(SAMPLE, "-o", tmp_path / "mask.tif", "--min-size", 2**31), "2,147,483,647"
        )

    def test_disk_full_on_the_new_outputs_keeps_the_old_ones(
        self, tmp_path: Path, tiny_disk: Path, brightness_weights: Path
    ) -> None:
        # 900² float32 probabilities: 3.2 MB, more than the 1 MB disk holds even compressed
        # (600² fitted once the network ran in bfloat16, whose probabilities compress better).
        small, big = random_scene(tmp_path / "s.tif", 32), random_scene(tmp_path / "b.tif", 900)
        outputs = ("-o", tiny_disk / "mask.tif", "--polygons", tiny_disk / "clouds.gpkg")
        first = detect(small, *outputs, "--weights", brightness_weights)
        assert first.returncode == 0, first.stderr
        old = {p.name: p.read_bytes() for p in tiny_disk.iterdir()}
        result = detect(
            big, *outputs, "--masked-image", tiny_disk / "cloudfree.tif", "--buffer", 2,
            "--min-size", 3, "--overwrite", "--weights", brightness_weights,
        )  # fmt: skip
        assert_one_line_error(result, "free disk space")
        assert {p.name: p.read_bytes() for p in tiny_disk.iterdir()} == old

    def test_batch_refuses_one_file_outputs(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, SAMPLE, "--output-dir", tmp_path, "--polygons", tmp_path / "c.gpkg")
        assert result.returncode == 2 and "--polygons" in result.stderr


class TestClassesAndQa:
    @pytest.mark.data
    def test_model_qa_on_a_product_prints_every_class(self, tmp_path: Path, data_dir: Path) -> None:
        product = data_dir / "scenes" / "LC08_L1TP_016037_20170813_C1_900m"
        out = tmp_path / "qa.tif"
        result = detect(product, "-o", out, "--model", "qa", "--quiet", "--polygons",
                        tmp_path / "qa.gpkg")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "product QA band" in result.stdout and "cloud shadow" in result.stdout
        assert "Collection 1 BQA" in result.stderr
        with rasterio.open(out) as dataset:
            assert set(np.unique(dataset.read(1))) <= {0, 1, 2, 3, 255}

    def test_model_qa_without_a_qa_band_is_one_sentence(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--model", "qa", "--quiet")
        assert_one_line_error(result, "has no product QA band (QA_PIXEL or BQA)")
        assert not list(tmp_path.iterdir())

    def test_unknown_mask_class_is_one_line(self, tmp_path: Path) -> None:
        result = detect(SAMPLE, "-o", tmp_path / "m.tif", "--mask-classes", "thick,fog")
        assert_one_line_error(result, "choose among thick, thin and shadow")

    def test_help_says_what_each_code_means(self) -> None:
        result = detect("--help")
        text = " ".join(result.stdout.split())
        assert "0 clear, 1 thick cloud, 2 thin cloud, 3 cloud shadow and 255 no data" in text
        assert "--mask-classes" in text and "qa: decode the product's own QA band" in text

    @pytest.mark.data
    def test_network_run_beside_the_qa_band_warns_when_they_differ(
        self, tmp_path: Path, data_dir: Path, brightness_weights: Path
    ) -> None:
        product = data_dir / "scenes" / "LC80200392015216LGN00_L1T_30m"
        result = detect(product, "-o", tmp_path / "m.tif", "--weights", brightness_weights,
                        "--device", "cpu", "--quiet")  # fmt: skip
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert "note: The product's QA band (pre-collection BQA) flags 31.9 % cloud" in lines[-2]
        # The brightness test model finds almost no cloud in this dim cumulus field.
        assert lines[-1] == (
            "warning: The product's QA band flags 31.9 % cloud, this mask 0.0 %: check the "
            "mask; the probability layer shows where the network hesitated."
        )
