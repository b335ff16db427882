"""The full-band model's inputs: thermal brightness temperature, band lookup, model choice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import BandMismatchError, ParameterError, UnsupportedDataError
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models import choice as model_choice
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint
from cloud_fcn_plugin.engine.scene.bands import (
    FULLBAND_BANDS,
    MODEL_BANDS,
    SIXBAND_BANDS,
    THERMAL_BAND,
    band_names,
    band_numbers,
)
from cloud_fcn_plugin.engine.scene.mtl import parse_mtl
from cloud_fcn_plugin.engine.scene.reader import inspect_input, open_scene
from cloud_fcn_plugin.engine.scene.scaling import (
    THERMAL_K1,
    THERMAL_K2,
    ThermalBand,
    input_transform,
    normalize,
    scaling_for,
    to_reflectance,
)

L1_30M = "scenes/LC80200392015216LGN00_L1T_30m"
L1_900M = "scenes/LC08_L1TP_016037_20170813_C1_900m"
L2_500M = "LC08_L2SP_005009_20150710_C2_500m"
LONG_ISLAND = "scenes/LC80130312015295LGN00_toa_120m"
SAMPLE = (
    Path(__file__).resolve().parents[3]
    / "resources"
    / "sample"
    / "LC80130312015295LGN00_B2-B5_toa_120m.tif"
)


def _kelvin_by_hand(dn: float, gain: float = 3.342e-4, offset: float = 0.1) -> float:
    radiance = gain * dn + offset
    return THERMAL_K2 / math.log(THERMAL_K1 / radiance + 1.0)


class TestThermal:
    def test_brightness_temperature_by_hand(self):
        band = ThermalBand(0, THERMAL_K1, THERMAL_K2)
        radiance = np.array([3.342e-4 * 30000 + 0.1], np.float32)
        assert band.to_kelvin(radiance)[0] == pytest.approx(_kelvin_by_hand(30000), abs=1e-3)
        assert _kelvin_by_hand(30000) == pytest.approx(303.7, abs=0.1)

    def test_kelvin_stacks_are_used_as_they_are(self):
        values = np.array([271.5], np.float32)
        assert ThermalBand(0).to_kelvin(values) is values

    def test_level1_scaling_corrects_the_sun_on_reflectance_only(self):
        scaling = scaling_for("l1", FULLBAND_BANDS)
        raw = np.full((8, 1, 1), 30000, np.uint16)
        out = to_reflectance(raw, scaling)
        assert out[0, 0, 0] == pytest.approx(2e-5 * 30000 - 0.1)
        assert out[7, 0, 0] == pytest.approx(_kelvin_by_hand(30000), abs=1e-3)
        assert "standard Landsat 8 constants" in scaling.reason

    def test_level2_has_no_full_band_scaling(self):
        with pytest.raises(UnsupportedDataError, match="--model rgbn"):
            scaling_for("sr", FULLBAND_BANDS)

    def test_input_transform_equals_reflectance_then_normalize(self, data_dir):
        mtl = parse_mtl(next((data_dir / L1_30M).glob("*_MTL.txt")))
        scaling = scaling_for("l1", FULLBAND_BANDS, mtl, dtype="uint16")
        rng = np.random.default_rng(0)
        raw = rng.integers(5000, 40000, size=(8, 6, 7)).astype(np.uint16)
        valid = rng.random((6, 7)) > 0.2
        mean = [0.1, 0.1, 0.1, 0.2, 0.15, 0.1, 0.01, 290.0]
        std = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 15.0]
        expected = normalize(to_reflectance(raw, scaling), valid, mean, std, thermal=(7,))
        got = input_transform(scaling, mean, std).apply(raw, valid)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
        assert np.all(got[7][~valid] == 0.0)  # thermal fill is its mean, not 0 K

    def test_mtl_thermal_constants(self, data_dir):
        mtl = parse_mtl(next((data_dir / L1_30M).glob("*_MTL.txt")))
        assert mtl.radiance_mult[10] == pytest.approx(3.342e-4)
        assert (mtl.k1[10], mtl.k2[10]) == (pytest.approx(774.8853), pytest.approx(1321.0789))


class TestBandNames:
    def test_names_round_trip(self):
        assert band_names(MODEL_BANDS) == ("red", "green", "blue", "nir")
        assert band_numbers(band_names(FULLBAND_BANDS)) == FULLBAND_BANDS

    def test_unknown_name_is_refused(self):
        with pytest.raises(ParameterError, match="not a Landsat 8 band"):
            band_numbers(["red", "ultraviolet"])


class TestReading:
    def test_level1_product_reads_eight_bands_with_thermal_in_kelvin(self, data_dir):
        with open_scene(data_dir / L1_30M, model_bands=FULLBAND_BANDS) as reader:
            values, valid = reader.read_all()
        assert values.shape == (8, 603, 627) and valid.mean() > 0.99
        assert 270.0 < float(np.median(values[7][valid])) < 320.0
        assert 0.0 < float(np.median(values[6][valid])) < 0.05  # cirrus is dark
        assert "K1/K2" in reader.scaling.reason

    def test_only_the_eight_bands_are_needed(self, data_dir, tmp_path):
        source = data_dir / L1_30M
        for file in source.iterdir():
            if not file.name.endswith(("_B1.TIF", "_B8.TIF", "_B11.TIF", "_BQA.TIF")):
                (tmp_path / file.name).symlink_to(file)
        info = inspect_input(tmp_path)
        assert info.has_bands(FULLBAND_BANDS) and 1 not in info.landsat_bands
        with open_scene(tmp_path, model_bands=FULLBAND_BANDS) as reader:
            assert reader.read_all()[0].shape[0] == 8

    def test_level1_without_mtl_uses_standard_thermal_constants(self, data_dir):
        with open_scene(data_dir / L1_900M, model_bands=FULLBAND_BANDS) as reader:
            values, valid = reader.read_all()
        assert "standard Landsat 8 constants" in reader.scaling.reason
        assert 200.0 < float(np.median(values[7][valid])) < 320.0

    def test_toa_thermal_in_celsius_becomes_kelvin(self, data_dir):
        with open_scene(data_dir / LONG_ISLAND, model_bands=FULLBAND_BANDS) as reader:
            values, valid = reader.read_all()
        assert "degrees Celsius, turned into kelvin" in reader.scaling.reason
        assert 270.0 < float(np.median(values[7][valid])) < 300.0

    def test_thermal_in_neither_unit_is_refused(self, tmp_path):
        import rasterio

        descriptions = [f"B{b}" for b in FULLBAND_BANDS]
        data = np.full((8, 16, 16), 0.2, np.float32)
        data[7] = 5000.0
        path = tmp_path / "stack_toa.tif"
        profile = {"driver": "GTiff", "width": 16, "height": 16, "count": 8, "dtype": "float32"}
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            for index, text in enumerate(descriptions, start=1):
                dst.set_band_description(index, text)
        with pytest.raises(UnsupportedDataError, match="neither kelvin nor degrees Celsius"):
            open_scene(path, model_bands=FULLBAND_BANDS, product="toa")

    def test_biome_stack_is_recognised(self, biome_dir):
        patch = next((biome_dir / "train" / "Images").glob("*.tif"))
        assert inspect_input(patch).landsat_bands == {
            b: i + 1 for i, b in enumerate(FULLBAND_BANDS)
        }
        with open_scene(patch, model_bands=FULLBAND_BANDS, product="toa") as reader:
            values, valid = reader.read_all()
        assert 200.0 < float(np.median(values[7][valid])) < 320.0

    def test_four_band_stack_cannot_feed_the_full_band_model(self):
        stack = SAMPLE
        assert not inspect_input(stack).has_bands(FULLBAND_BANDS)
        with pytest.raises(BandMismatchError, match="lacks B6, B7, B9, B10.*--model rgbn"):
            open_scene(stack, model_bands=FULLBAND_BANDS)


def _checkpoint(path: Path, bands: tuple[int, ...], cv_jaccard: float | None) -> Path:
    model = build_model("pixel_linear", in_channels=len(bands))
    metrics = {}
    if cv_jaccard is not None:
        metrics = {"cross_validation": {"at_oof": {"pooled_biome": {"jaccard": cv_jaccard}}}}
    meta = CheckpointMetadata(
        "pixel_linear",
        dict(model.arch_args),
        bands=band_names(bands),
        # Reflectance bands around 0.3, the thermal band around 280 K, as trained ones are.
        mean=tuple(280.0 if b == THERMAL_BAND else 0.3 for b in bands),
        std=tuple(20.0 if b == THERMAL_BAND else 0.2 for b in bands),
        metrics=metrics,
    )
    save_checkpoint(path, model, meta)
    return path


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """Point the bundled-model lookup at test checkpoints; ``absent`` names missing ones."""

    def install(absent: tuple[str, ...] = ()) -> None:
        paths = {
            name: (
                tmp_path / f"absent_{name}.safetensors"
                if name in absent
                else _checkpoint(tmp_path / f"{name}.safetensors", model.bands, None)
            )
            for name, model in model_choice.BUNDLED.items()
        }
        monkeypatch.setattr(model_choice, "bundled_model_path", paths.__getitem__)

    return install


class TestModelChoice:
    def test_auto_takes_the_four_band_model_and_physics_on_a_level1_product(
        self, data_dir, bundled
    ):
        bundled()
        choice = model_choice.choose_model(data_dir / L1_30M)
        assert choice.name == "rgbn"
        assert "automatic" in choice.reason and "thermal band (B10)" in choice.reason

    def test_auto_takes_the_six_band_model_on_a_level1_product_without_thermal(
        self, data_dir, bundled, tmp_path
    ):
        bundled()
        folder = tmp_path / "no_thermal"
        folder.mkdir()
        for file in (data_dir / L1_30M).iterdir():
            if "_B10" not in file.name and "_B11" not in file.name:
                (folder / file.name).symlink_to(file)
        choice = model_choice.choose_model(folder)
        assert choice.name == "sixband" and choice.bands == SIXBAND_BANDS
        assert "automatic" in choice.reason and "SWIR" in choice.reason

    def test_auto_takes_the_ensemble_on_a_level2_product(self, data_dir, bundled):
        bundled()
        choice = model_choice.choose_model(data_dir / "scenes" / L2_500M)
        assert choice.name == "ensemble" and choice.bands == SIXBAND_BANDS
        assert choice.also == (model_choice.bundled_model_path("rgbn"),)
        assert "surface temperature (ST_B10)" in choice.reason

    def test_auto_takes_the_six_band_model_on_a_level2_product_without_st_b10(
        self, data_dir, bundled, tmp_path
    ):
        bundled()
        folder = tmp_path / "no_thermal"
        folder.mkdir()
        for file in (data_dir / "scenes" / L2_500M).iterdir():
            if "_ST_" not in file.name:
                (folder / file.name).symlink_to(file)
        assert model_choice.choose_model(folder).name == "sixband"

    def test_auto_takes_the_four_band_model_without_swir(self, bundled):
        bundled()
        choice = model_choice.choose_model(SAMPLE)
        assert choice.name == "rgbn" and "no SWIR1 and SWIR2" in choice.reason

    def test_auto_without_a_bundled_six_band_model(self, data_dir, bundled):
        bundled(absent=("sixband",))
        assert model_choice.choose_model(data_dir / "scenes" / L2_500M).name == "rgbn"

    def test_the_full_band_model_runs_when_chosen(self, data_dir, bundled):
        bundled()
        choice = model_choice.choose_model(data_dir / L1_30M, model="fullband")
        assert choice.name == "fullband" and "chosen" in choice.reason

    def test_a_file_reads_the_bands_its_metadata_names(self, tmp_path):
        path = _checkpoint(tmp_path / "mine.safetensors", FULLBAND_BANDS, None)
        choice = model_choice.choose_model(None, weights=path)
        assert choice.name == "file" and choice.bands == FULLBAND_BANDS
        assert choice.label == "mine.safetensors"

    def test_unknown_choice_is_refused(self):
        with pytest.raises(ParameterError, match="choose auto, .*physics, ensemble or a .safet"):
            model_choice.choose_model(None, model="best")
