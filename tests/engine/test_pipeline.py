"""The streaming pipeline: exact arithmetic, tiling independence, outputs, bad inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_fcn_plugin.engine.errors import (
    BandMismatchError,
    CanceledError,
    InputNotFoundError,
    NoValidPixelsError,
    OutputExistsError,
    OutputNotWritableError,
    ParameterError,
    WeightsError,
)
from cloud_fcn_plugin.engine.inference.predictor import Predictor, load_predictor
from cloud_fcn_plugin.engine.inference.whole_scene import predict_scene
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from cloud_fcn_plugin.engine.scene.scaling import Scaling
from tests.conftest import brightness_probability, write_geotiff

LANDSAT_ORDER = (2, 1, 0, 3)  # B2, B3, B4, B5 stack -> red, green, blue, NIR


# The pipeline's arithmetic is held to float32 torch's (see the fixture).
pytestmark = pytest.mark.usefixtures("float32_torch")


def synthetic_scene(height: int = 150, width: int = 170, seed: int = 0) -> np.ndarray:
    """A TOA stack (B2, B3, B4, B5) with bright blobs and a fill border."""
    rng = np.random.default_rng(seed)
    bands = rng.uniform(0.02, 0.6, (4, height, width)).astype(np.float32)
    bands[:, :7, :] = 0.0
    bands[:, :, -11:] = 0.0
    return bands


def expected_mask(bands: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    reflectance = bands[list(LANDSAT_ORDER)]
    valid = ~(bands == 0).all(axis=0)
    mask = (brightness_probability(reflectance) > threshold).astype(np.uint8)
    mask[~valid] = 255
    return mask


class ArrayReader:
    """An in-memory reader with the SceneReader interface the pipeline uses."""

    def __init__(self, reflectance: np.ndarray, valid: np.ndarray | None = None) -> None:
        self.reflectance = reflectance
        self.height, self.width = reflectance.shape[1:]
        self.valid = np.ones((self.height, self.width), bool) if valid is None else valid
        self.path = "memory"

    scaling = Scaling((1.0,) * 4, (0.0,) * 4, None, "toa", "reflectance in memory")

    def read_raw(self, row_off: int, col_off: int, height: int, width: int):
        rows, cols = slice(row_off, row_off + height), slice(col_off, col_off + width)
        return self.reflectance[:, rows, cols].copy(), self.valid[rows, cols].copy()


@pytest.fixture(scope="module")
def predictor(brightness_weights: Path) -> Predictor:
    model, metadata = load_checkpoint(brightness_weights)
    return Predictor(model, metadata, device="cpu", batch_size=3)


@pytest.fixture(scope="module")
def batched_predictor(brightness_weights: Path) -> Predictor:
    """One worker: tiles go in batches, as on a GPU, grouped by shape and raster edges."""
    model, metadata = load_checkpoint(brightness_weights)
    return Predictor(model, metadata, device="cpu", batch_size=3, cpu_workers=1)


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, np.ndarray]:
    bands = synthetic_scene()
    return write_geotiff(tmp_path / "scene.tif", bands), bands


class TestPredictScene:
    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        height=st.integers(1, 140),
        width=st.integers(1, 140),
        tile=st.sampled_from([32, 48, 64, 96]),
        data=st.data(),
    )
    def test_independent_of_tile_size_and_overlap(
        self, predictor: Predictor, height: int, width: int, tile: int, data: st.DataObject
    ) -> None:
        overlap = data.draw(st.integers(0, tile // 2 - 1))
        reflectance = np.random.default_rng(height * width).uniform(0, 0.6, (4, height, width))
        reader = ArrayReader(reflectance.astype(np.float32))
        probability, valid = predict_scene(reader, predictor, tile_size=tile, overlap=overlap)
        assert valid.all()
        np.testing.assert_allclose(probability, brightness_probability(reflectance), atol=1e-5)

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        height=st.integers(1, 140),
        width=st.integers(1, 140),
        tile=st.sampled_from([32, 48, 64]),
        data=st.data(),
    )
    def test_tiles_cut_to_a_tilted_footprint_lose_no_valid_pixel(
        self,
        predictor: Predictor,
        batched_predictor: Predictor,
        height: int,
        width: int,
        tile: int,
        data: st.DataObject,
    ) -> None:
        predictor = data.draw(st.sampled_from([predictor, batched_predictor]))
        overlap = data.draw(st.integers(0, tile // 2 - 1))
        slope = data.draw(st.floats(-2.0, 2.0))
        rows, cols = np.mgrid[0:height, 0:width]
        valid = (cols - slope * rows > width / 3) & (rows > height / 4)
        reflectance = np.random.default_rng(height + width).uniform(0, 0.6, (4, height, width))
        reader = ArrayReader(reflectance.astype(np.float32), valid)
        probability, got_valid = predict_scene(reader, predictor, tile_size=tile, overlap=overlap)
        np.testing.assert_array_equal(got_valid, valid)
        np.testing.assert_allclose(
            probability[valid], brightness_probability(reflectance)[valid], atol=1e-5
        )

    def test_progress_reaches_one_hundred(self, predictor: Predictor) -> None:
        seen: list[float] = []
        reader = ArrayReader(np.full((4, 100, 130), 0.2, np.float32))
        predict_scene(reader, predictor, tile_size=32, overlap=4, progress=seen.append)
        assert seen == sorted(seen) and seen[-1] == pytest.approx(100.0)


class TestDetectClouds:
    def test_mask_matches_arithmetic_on_the_input_grid(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        path, bands = scene
        # The network's decision alone: shadow by geometry has tests of its own.
        params = DetectionParams(weights=brightness_weights, device="cpu", shadow="network")
        result = detect_clouds(path, tmp_path / "mask.tif", params)
        with rasterio.open(path) as src, rasterio.open(result.output) as out:
            assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
            assert out.dtypes[0] == "uint8" and out.nodata == 255
            assert out.colormap(1)[1][:3] != out.colormap(1)[0][:3]
            assert out.profile["tiled"] and out.profile["compress"].lower() == "deflate"
            mask = out.read(1)
        expected = expected_mask(bands)
        np.testing.assert_array_equal(mask, expected)
        valid = expected != 255
        assert result.valid_pixels == valid.sum()
        assert result.cloud_cover == pytest.approx(100 * (expected == 1).sum() / valid.sum())
        assert result.threshold == 0.5 and result.device == "cpu" and result.product == "toa"

    def test_threshold_override(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        path, bands = scene
        params = DetectionParams(
            weights=brightness_weights, device="cpu", threshold=0.8, shadow="network"
        )
        result = detect_clouds(path, tmp_path / "mask.tif", params)
        with rasterio.open(result.output) as out:
            np.testing.assert_array_equal(out.read(1), expected_mask(bands, 0.8))

    @pytest.mark.parametrize(
        ("dtype", "nodata", "scale"), [("float32", -1.0, 1.0), ("uint8", 255, 100)]
    )
    def test_probability_output(
        self,
        scene: tuple[Path, np.ndarray],
        brightness_weights: Path,
        tmp_path: Path,
        dtype: str,
        nodata: float,
        scale: float,
    ) -> None:
        path, bands = scene
        params = DetectionParams(
            weights=brightness_weights,
            device="cpu",
            probability=tmp_path / "prob.tif",
            probability_dtype=dtype,
        )
        detect_clouds(path, tmp_path / "mask.tif", params)
        with rasterio.open(tmp_path / "prob.tif") as out:
            assert out.dtypes[0] == dtype and out.nodata == nodata
            probability = out.read(1).astype(np.float64)
        valid = expected_mask(bands) != 255
        expected = brightness_probability(bands[list(LANDSAT_ORDER)]) * scale
        # Rounding to percent is off by at most 0.5, plus float noise: batch sizes and
        # CPU kernels may differ in the last bit, which can flip a value at x.5.
        np.testing.assert_allclose(
            probability[valid], expected[valid], atol=0.501 if scale > 1 else 1e-5
        )
        assert (probability[~valid] == nodata).all()

    def test_cancel_leaves_nothing(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        path, _ = scene
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        params = DetectionParams(
            weights=brightness_weights, device="cpu", batch_size=1, probability=out_dir / "prob.tif"
        )
        calls = iter([False, False, True])
        with pytest.raises(CanceledError, match="no output"):
            detect_clouds(path, out_dir / "mask.tif", params, is_canceled=lambda: next(calls, True))
        assert list(out_dir.iterdir()) == []

    def test_existing_output_is_kept_unless_overwrite(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        path, _ = scene
        output = tmp_path / "mask.tif"
        output.write_bytes(b"precious")
        params = DetectionParams(weights=brightness_weights, device="cpu")
        with pytest.raises(OutputExistsError, match="overwrite"):
            detect_clouds(path, output, params)
        assert output.read_bytes() == b"precious"
        detect_clouds(path, output, DetectionParams(weights=brightness_weights, overwrite=True))
        with rasterio.open(output) as out:
            assert out.count == 1

    def test_all_fill_raster_is_refused_without_output(
        self, brightness_weights: Path, tmp_path: Path
    ) -> None:
        path = write_geotiff(tmp_path / "empty.tif", np.zeros((4, 40, 50), np.float32))
        with pytest.raises(NoValidPixelsError, match="no valid pixels"):
            detect_clouds(path, tmp_path / "mask.tif", DetectionParams(weights=brightness_weights))
        assert not (tmp_path / "mask.tif").exists()
        assert [p.name for p in tmp_path.iterdir()] == ["empty.tif"]

    def test_declared_nodata_is_nodata(self, brightness_weights: Path, tmp_path: Path) -> None:
        bands = synthetic_scene()
        bands[:, 50:60, 50:60] = -9999.0
        path = write_geotiff(tmp_path / "nd.tif", bands, nodata=-9999.0)
        result = detect_clouds(
            path, tmp_path / "m.tif", DetectionParams(weights=brightness_weights)
        )
        with rasterio.open(result.output) as out:
            assert (out.read(1)[50:60, 50:60] == 255).all()

    def test_bad_inputs_give_clear_errors(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        path, _ = scene
        params = DetectionParams(weights=brightness_weights)
        with pytest.raises(InputNotFoundError):
            detect_clouds(tmp_path / "nope.tif", tmp_path / "a.tif", params)
        with pytest.raises(BandMismatchError, match="band"):
            detect_clouds(
                path,
                tmp_path / "b.tif",
                DetectionParams(weights=brightness_weights, bands=(3, 2, 1, 9)),
            )
        two_bands = write_geotiff(tmp_path / "two.tif", synthetic_scene()[:2])
        with pytest.raises(BandMismatchError):
            detect_clouds(two_bands, tmp_path / "c.tif", params)
        with pytest.raises(OutputNotWritableError):
            detect_clouds(path, tmp_path / "missing" / "d.tif", params)
        with pytest.raises(WeightsError):
            detect_clouds(
                path, tmp_path / "e.tif", DetectionParams(weights=tmp_path / "w.safetensors")
            )
        with pytest.raises(ParameterError):
            detect_clouds(
                path,
                tmp_path / "f.tif",
                DetectionParams(weights=brightness_weights, probability=tmp_path / "f.tif"),
            )
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif", "two.tif"]


class TestPredictorMargins:
    @pytest.fixture(scope="class")
    def lite(self) -> Predictor:
        model = build_model("cloudfcn_lite", width=0.25)
        return Predictor(model, CheckpointMetadata("cloudfcn_lite", model.arch_args), "cpu")

    @pytest.mark.parametrize(
        ("edges", "computed"),
        [
            ((True, True, True, True), 96 * 96),  # 40+32 -> 96 rows, 50+32 -> 96 columns
            ((False, False, False, False), 64 * 64),  # only the padding to a multiple of 32
            ((True, False, False, True), 64 * 96),
        ],
    )
    def test_mirrored_margin_only_on_the_raster_edge(
        self, lite: Predictor, edges: tuple[bool, bool, bool, bool], computed: int
    ) -> None:
        before = lite.pixels_computed
        out = lite.predict_tiles(np.zeros((1, 4, 40, 50), np.float32), edges)
        assert out.shape == (1, 1, 40, 50)  # one layer: a cloud-only model
        assert lite.pixels_computed - before == computed


class TestLoadPredictor:
    def test_explicit_cpu_and_batch_size(self, brightness_weights: Path) -> None:
        predictor = load_predictor(brightness_weights, device="cpu", batch_size=2)
        assert predictor.device.type == "cpu" and predictor.batch_size == 2
        tiles = np.full((3, 4, 8, 8), 0.5, np.float32)
        out = predictor.predict_tiles(tiles)
        assert out.shape == (3, 1, 8, 8)
        expected = brightness_probability(tiles.swapaxes(0, 1))
        np.testing.assert_allclose(out[:, 0], expected, atol=1e-6)


@pytest.mark.data
class TestRealScenes:
    @pytest.mark.parametrize(
        ("key", "level"), [("toa_120m", "toa"), ("l1_900m", "l1"), ("sr_600m", "sr")]
    )
    def test_mask_on_the_scene_grid_with_nodata_on_fill(
        self,
        scene_dirs: dict[str, Path],
        brightness_weights: Path,
        tmp_path: Path,
        key: str,
        level: str,
    ) -> None:
        folder = scene_dirs[key]
        result = detect_clouds(
            folder, tmp_path / "mask.tif", DetectionParams(weights=brightness_weights)
        )
        assert result.product == level
        band_files = sorted(
            p
            for p in folder.iterdir()
            if p.name.upper().split("_")[-1][:3] in {"B2.", "B3.", "B4.", "B5."}
            or p.name.lower().endswith(("_b2_toa.tif", "_b3_toa.tif", "_b4_toa.tif", "_b5_toa.tif"))
        )
        assert len(band_files) == 4
        stack = []
        for band_file in band_files:
            with rasterio.open(band_file) as src:
                stack.append(src.read(1))
                grid = (src.crs, src.transform, src.shape)
        fill = (np.stack(stack) == 0).all(axis=0)
        # A band missing at the footprint edge (0 in one band only) is fill too.
        complete = (np.stack(stack) != 0).all(axis=0)
        with rasterio.open(result.output) as out:
            assert (out.crs, out.transform, out.shape) == grid
            mask = out.read(1)
        assert fill.any() and (mask[fill] == 255).all()
        assert set(np.unique(mask[complete])) <= {0, 1, 3}  # shadow by geometry
        assert result.valid_pixels == (mask != 255).sum() >= 0.99 * complete.sum()
        assert 0.0 <= result.cloud_cover <= 100.0

    def test_scene_without_nir_is_refused(
        self, scene_dirs: dict[str, Path], brightness_weights: Path, tmp_path: Path
    ) -> None:
        folder = scene_dirs["rgb_30m"]
        stack = next(folder.glob("*.TIF"))
        with pytest.raises(BandMismatchError, match="3 band"):
            detect_clouds(stack, tmp_path / "mask.tif", DetectionParams(weights=brightness_weights))
        assert list(tmp_path.iterdir()) == []


class TestWhatGoesWrong:
    """Issue 11: nothing destroyed, nothing wrong reported as success."""

    def test_output_is_never_the_input(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path
    ) -> None:
        from cloud_fcn_plugin.engine.errors import OutputConflictError

        path, _ = scene
        before = path.read_bytes()
        link = tmp_path / "link.tif"
        link.symlink_to(path)
        for params in (
            DetectionParams(weights=brightness_weights, overwrite=True),
            DetectionParams(weights=brightness_weights, overwrite=True, probability=path),
        ):
            output = path if params.probability is None else tmp_path / "mask.tif"
            with pytest.raises(OutputConflictError, match="destroy"):
                detect_clouds(path, output, params)
        with pytest.raises(OutputConflictError, match="destroy"):
            detect_clouds(path, link, DetectionParams(weights=brightness_weights, overwrite=True))
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["link.tif", "scene.tif"]

    @pytest.mark.parametrize("name", ["mask.png", "mask.jpg"])
    def test_output_named_as_another_format_is_refused(
        self, scene: tuple[Path, np.ndarray], brightness_weights: Path, tmp_path: Path, name: str
    ) -> None:
        path, _ = scene
        with pytest.raises(ParameterError, match="GeoTIFF: name it mask.tif"):
            detect_clouds(path, tmp_path / name, DetectionParams(weights=brightness_weights))
        assert not (tmp_path / name).exists()

    def test_infinite_pixels_are_nodata(self, brightness_weights: Path, tmp_path: Path) -> None:
        bands = np.full((4, 60, 60), 0.9, np.float32)  # bright: cloud everywhere
        bands[:, :30] = np.inf
        bands[1, 30:40] = -np.inf
        path = write_geotiff(tmp_path / "inf.tif", bands)
        params = DetectionParams(weights=brightness_weights)
        result = detect_clouds(path, tmp_path / "m.tif", params)
        assert result.valid_pixels == 20 * 60 and result.cloud_cover == 100.0

    def test_parameters_out_of_bounds(self) -> None:
        with pytest.raises(ParameterError, match="32 to 2048 pixels"):
            DetectionParams(tile_size=100_000)
        with pytest.raises(ParameterError, match="twice"):
            DetectionParams(bands=(1, 1, 1, 1))
