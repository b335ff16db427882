"""Re-thresholding a kept probability raster gives what a full run at that threshold gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pytest.importorskip("torch")

from cloud_fcn_plugin.engine.errors import CanceledError, ParameterError  # noqa: E402
from cloud_fcn_plugin.engine.outputs.rethreshold import rethreshold  # noqa: E402
from cloud_fcn_plugin.engine.params import DetectionParams  # noqa: E402
from cloud_fcn_plugin.engine.pipeline import detect_clouds  # noqa: E402
from tests.conftest import write_geotiff  # noqa: E402
from tests.engine.test_classes import four_class_checkpoint  # noqa: E402


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    """A 4-band reflectance stack with bright blobs (clouds for the brightness model)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:120, 0:150]
    bright = sum(np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * r**2))
                 for y, x, r in rng.uniform((0, 0, 3), (120, 150, 12), (14, 3)))
    bands = np.stack([0.05 + 0.5 * bright + 0.02 * rng.standard_normal(bright.shape)] * 4)
    bands = bands.astype(np.float32)
    bands[:, :, -4:] = 0.0  # fill
    return write_geotiff(tmp_path / "scene.tif", bands, descriptions=("B2", "B3", "B4", "B5"))


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


class TestRethreshold:
    def test_same_mask_cover_and_outputs_as_a_full_run(
        self, scene: Path, brightness_weights: Path, tmp_path: Path
    ) -> None:
        base = DetectionParams(weights=brightness_weights, product="toa", device="cpu",
                               min_size=3, buffer=1)
        kept = detect_clouds(scene, tmp_path / "run.tif",
                             replace(base, threshold=0.5, probability=tmp_path / "p.tif"))
        for threshold in (0.3, 0.5, 0.7):
            params = replace(base, threshold=threshold,
                             masked_image=tmp_path / f"full_{threshold}_img.tif",
                             polygons=tmp_path / f"full_{threshold}.gpkg")
            full = detect_clouds(scene, tmp_path / f"full_{threshold}.tif", params)
            again = rethreshold(
                kept.probability, scene, tmp_path / f"again_{threshold}.tif",
                replace(params, masked_image=tmp_path / f"again_{threshold}_img.tif",
                        polygons=tmp_path / f"again_{threshold}.gpkg"),
            )
            np.testing.assert_array_equal(_read(again.output), _read(full.output))
            np.testing.assert_array_equal(_read(again.masked_image), _read(full.masked_image))
            assert again.cloud_cover == pytest.approx(full.cloud_cover)
            assert again.detected_cloud_cover == pytest.approx(full.detected_cloud_cover)
            assert again.polygon_count == full.polygon_count
            assert again.threshold == threshold

    def test_several_classes(self, tmp_path: Path) -> None:
        weights = four_class_checkpoint(tmp_path / "four.safetensors")
        rng = np.random.default_rng(5)
        stack = rng.uniform(-3, 3, (4, 40, 50)).astype(np.float32)
        scene = write_geotiff(tmp_path / "scene.tif", stack)
        base = DetectionParams(weights=weights, product="toa", device="cpu")
        kept = detect_clouds(scene, tmp_path / "run.tif",
                             replace(base, probability=tmp_path / "p.tif"))
        full = detect_clouds(scene, tmp_path / "full.tif", replace(base, threshold=0.35))
        again = rethreshold(kept.probability, scene, tmp_path / "again.tif",
                            replace(base, threshold=0.35, shadow_threshold=0.5))
        np.testing.assert_array_equal(_read(again.output), _read(full.output))
        assert again.class_pixels == full.class_pixels

    def test_cancel_leaves_no_output(
        self, scene: Path, brightness_weights: Path, tmp_path: Path
    ) -> None:
        kept = detect_clouds(scene, tmp_path / "run.tif", DetectionParams(
            weights=brightness_weights, product="toa", probability=tmp_path / "p.tif"))
        with pytest.raises(CanceledError):
            rethreshold(kept.probability, scene, tmp_path / "again.tif",
                        DetectionParams(threshold=0.4), is_canceled=lambda: True)
        assert not (tmp_path / "again.tif").exists()

    def test_percent_probabilities_and_no_threshold_are_refused(
        self, scene: Path, brightness_weights: Path, tmp_path: Path
    ) -> None:
        kept = detect_clouds(scene, tmp_path / "run.tif", DetectionParams(
            weights=brightness_weights, product="toa", probability=tmp_path / "p.tif",
            probability_dtype="uint8"))
        with pytest.raises(ParameterError, match="percent"):
            rethreshold(kept.probability, scene, tmp_path / "a.tif", DetectionParams(threshold=0.4))
        with pytest.raises(ParameterError, match="needs a threshold"):
            rethreshold(kept.probability, scene, tmp_path / "a.tif", DetectionParams())


class TestTheProbabilityIsAnInput:
    """N-M4: the probability raster is gated, never replaced, and must be the scene's."""

    @pytest.fixture()
    def kept(self, scene: Path, brightness_weights: Path, tmp_path: Path) -> Path:
        params = DetectionParams(weights=brightness_weights, product="toa", device="cpu",
                                 probability=tmp_path / "p.tif")  # fmt: skip
        return detect_clouds(scene, tmp_path / "run.tif", params).probability

    @pytest.mark.parametrize("which", ["output", "masked_image"])
    def test_an_output_on_the_probability_is_refused(
        self, scene: Path, kept: Path, tmp_path: Path, which: str
    ) -> None:
        from cloud_fcn_plugin.engine.errors import OutputConflictError

        before = kept.read_bytes()
        output = kept if which == "output" else tmp_path / "m.tif"
        params = DetectionParams(threshold=0.5, overwrite=True,
                                 masked_image=kept if which == "masked_image" else None)
        with pytest.raises(OutputConflictError, match="probability raster"):
            rethreshold(kept, scene, output, params)
        assert kept.read_bytes() == before

    def test_another_scenes_probability_is_refused(
        self, scene: Path, kept: Path, tmp_path: Path
    ) -> None:
        from cloud_fcn_plugin.engine.errors import BandMismatchError

        other = write_geotiff(tmp_path / "other.tif", np.ones((4, 30, 20), np.float32),
                              descriptions=("B2", "B3", "B4", "B5"))  # fmt: skip
        with pytest.raises(BandMismatchError, match="another scene's probability"):
            rethreshold(kept, other, tmp_path / "m.tif", DetectionParams(threshold=0.5))
        assert not (tmp_path / "m.tif").exists()
