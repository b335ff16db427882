"""Tests of Landsat band names, scaling, level inference and normalisation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.scene.bands import LANDSAT_BAND_NAMES, band_number_from_text
from cloud_fcn_plugin.engine.scene.mtl import parse_mtl
from cloud_fcn_plugin.engine.scene.scaling import (
    THERMAL_K1,
    THERMAL_K2,
    Scaling,
    ThermalBand,
    infer_level,
    input_transform,
    normalize,
    scaling_for,
    to_reflectance,
)
from tests.engine.scene.test_mtl import c1_mtl_text, c2_l2_mtl_text, write_mtl


class TestBandNames:
    @pytest.mark.parametrize(
        ("text", "number"),
        [
            ("B4", 4),
            ("b04", 4),
            ("SR_B4", 4),
            ("band 4", 4),
            ("Band_5", 5),
            ("Red", 4),
            ("red", 4),
            ("NIR", 5),
            ("Near infrared", 5),
            ("near-infrared", 5),
            ("Blue", 2),
            ("green", 3),
            ("SWIR 1", 6),
            ("LC08_L1TP_016037_20170813_20170814_01_RT_B5.TIF", 5),
            ("LC80130312015295LGN00_B4_toa.tif", 4),
            ("red_patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF", 4),
        ],
    )
    def test_known_labels(self, text: str, number: int) -> None:
        assert band_number_from_text(text) == number

    @pytest.mark.parametrize("text", ["", "B2B3B4", "Band 12", "elevation", "red and blue"])
    def test_unknown_or_ambiguous_labels(self, text: str) -> None:
        assert band_number_from_text(text) is None

    def test_band_names_cover_oli_and_tirs(self) -> None:
        assert LANDSAT_BAND_NAMES[4] == "red" and LANDSAT_BAND_NAMES[5] == "nir"
        assert sorted(LANDSAT_BAND_NAMES) == list(range(1, 12))


class TestScalingFor:
    def test_level1_with_mtl_uses_sun_elevation(self, tmp_path: Path) -> None:
        meta = parse_mtl(write_mtl(tmp_path, c1_mtl_text(sun_elevation=42.1)))
        scaling = scaling_for("l1", mtl=meta)
        assert scaling.gain == (2e-5,) * 4 and scaling.offset == (-0.1,) * 4
        assert scaling.sun_elevation == pytest.approx(42.1)
        assert "REFLECTANCE_MULT/ADD" in scaling.reason and "42.1°" in scaling.reason

    def test_level1_without_mtl(self) -> None:
        scaling = scaling_for("l1")
        assert scaling.sun_elevation is None
        assert scaling.gain == (2e-5,) * 4 and scaling.offset == (-0.1,) * 4
        assert "no sun-angle correction" in scaling.reason

    def test_toa_float_is_identity_and_integer_is_scaled(self) -> None:
        assert scaling_for("toa", dtype="float32").gain == (1.0,) * 4
        assert scaling_for("toa").offset == (0.0,) * 4
        assert scaling_for("toa", dtype="int16").gain == (1e-4,) * 4

    def test_surface_reflectance_standard_and_mtl(self, tmp_path: Path) -> None:
        assert scaling_for("sr", (4,)).gain == (2.75e-5,)
        assert scaling_for("sr", (4,)).offset == (-0.2,)
        meta = parse_mtl(write_mtl(tmp_path, c2_l2_mtl_text()))
        assert "MTL" in scaling_for("sr", mtl=meta).reason
        assert scaling_for("sr", dtype="float32").gain == (1.0,) * 4

    def test_mtl_of_other_level_falls_back_to_constants(self, tmp_path: Path) -> None:
        meta = parse_mtl(write_mtl(tmp_path, c1_mtl_text()))
        assert "standard constants" in scaling_for("sr", mtl=meta).reason

    def test_unknown_level(self) -> None:
        with pytest.raises(ParameterError, match="use one of l1, toa, sr"):
            scaling_for("dn")


class TestToReflectance:
    def test_level1_with_sun_elevation_by_hand(self) -> None:
        raw = np.full((1, 2, 2), 20000, np.uint16)
        scaling = Scaling((2e-5,), (-0.1,), 30.0, "l1", "test")
        # (20000 * 2e-5 - 0.1) / sin(30°) = 0.3 / 0.5
        assert to_reflectance(raw, scaling) == pytest.approx(np.full((1, 2, 2), 0.6), abs=1e-6)

    def test_surface_reflectance_by_hand(self) -> None:
        raw = np.array([[[7273, 20000, 43636]]], np.uint16)
        out = to_reflectance(raw, scaling_for("sr", (4,)))
        expected = 2.75e-5 * raw.astype(np.float64) - 0.2
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, atol=1e-6)
        assert raw[0, 0, 1] == 20000  # integer input is never modified

    def test_float32_input_is_converted_in_place(self) -> None:
        raw = np.full((4, 3, 3), 1000.0, np.float32)
        out = to_reflectance(raw, scaling_for("toa", dtype="int16"))
        assert out is raw
        np.testing.assert_allclose(out, 0.1, rtol=1e-6)

    @pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.float32, np.float64])
    def test_channels_give_the_bits_of_a_float32_copy_scaled(self, dtype) -> None:
        """Converting picked channels straight from the raw bands (no float32 copy first)
        gives the bits that converting a float32 copy of them gives, thermal included."""
        raw = np.random.default_rng(0).integers(0, 30000, (3, 9, 7)).astype(dtype)
        thermal = ThermalBand(0, THERMAL_K1, THERMAL_K2)
        scaling = Scaling((3.3e-4, 2e-5, 1.0), (0.1, -0.1, 0.0), 41.0, "l1", "t", (thermal,))
        picked, before = scaling.select([2, 0]), raw.copy()
        expected = to_reflectance(raw[[2, 0]].astype(np.float32), picked)
        out = to_reflectance(raw, picked, channels=[2, 0])
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.view(np.uint32), expected.view(np.uint32))
        np.testing.assert_array_equal(raw, before)  # left as read

    def test_band_count_must_match(self) -> None:
        with pytest.raises(ParameterError, match="Expected 4 bands"):
            to_reflectance(np.zeros((3, 2, 2), np.uint16), scaling_for("l1"))

    @settings(max_examples=30, deadline=None)
    @given(
        arrays(np.uint16, (4, 5, 6)),
        st.floats(5.0, 90.0),
        st.floats(1e-5, 5e-5),
        st.floats(-0.2, 0.0),
    )
    def test_matches_formula(self, raw, elevation, gain, offset) -> None:
        scaling = Scaling((gain,) * 4, (offset,) * 4, elevation, "l1", "property")
        expected = (raw.astype(np.float64) * gain + offset) / math.sin(math.radians(elevation))
        np.testing.assert_allclose(to_reflectance(raw, scaling), expected, rtol=1e-5, atol=1e-5)


class TestNormalize:
    def test_standardises_and_fills_with_black(self) -> None:
        refl = np.stack([np.full((2, 2), 0.3, np.float32), np.full((2, 2), 0.1, np.float32)])
        valid = np.array([[True, False], [True, True]])
        out = normalize(refl, valid, mean=(0.1, 0.1), std=(0.2, 0.5))
        assert out.dtype == np.float32 and out is not refl
        # Fill is reflectance 0 standardised: (0 - 0.1) / 0.2 and (0 - 0.1) / 0.5.
        np.testing.assert_allclose(out[0], [[1.0, -0.5], [1.0, 1.0]], atol=1e-6)
        np.testing.assert_allclose(out[1], [[0.0, -0.2], [0.0, 0.0]], atol=1e-6)
        assert refl[0, 0, 1] == pytest.approx(0.3)  # input untouched by default

    def test_in_place(self) -> None:
        refl = np.ones((1, 2, 2), np.float32)
        out = normalize(refl, np.ones((2, 2), bool), (0.5,), (0.25,), inplace=True)
        assert out is refl and refl[0, 0, 0] == pytest.approx(2.0)

    def test_statistics_must_match_bands(self) -> None:
        with pytest.raises(ParameterError, match="one mean and one std per band"):
            normalize(np.ones((4, 2, 2), np.float32), np.ones((2, 2), bool), (0.1,), (0.1,))

    def test_std_must_be_positive(self) -> None:
        with pytest.raises(ParameterError, match="positive"):
            normalize(np.ones((1, 2, 2), np.float32), np.ones((2, 2), bool), (0.1,), (0.0,))


class TestInputTransform:
    """One multiply-add from raw pixels must equal to_reflectance then normalize."""

    MEAN, STD = (0.40, 0.39, 0.43, 0.46), (0.33, 0.31, 0.33, 0.31)

    @settings(max_examples=40, deadline=None)
    @given(
        raw=arrays(np.uint16, (4, 6, 7)),
        valid=arrays(np.bool_, (6, 7)),
        elevation=st.one_of(st.none(), st.floats(5.0, 90.0)),
        gain=st.floats(1e-5, 5e-5),
        offset=st.floats(-0.2, 0.0),
    )
    def test_equals_reflectance_then_normalize(self, raw, valid, elevation, gain, offset) -> None:
        scaling = Scaling((gain,) * 4, (offset,) * 4, elevation, "l1", "property")
        expected = normalize(to_reflectance(raw, scaling), valid, self.MEAN, self.STD)
        out = input_transform(scaling, self.MEAN, self.STD).apply(raw, valid)
        assert out.dtype == np.float32 and out.shape == raw.shape
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)

    def test_float_fill_and_nan_become_black(self) -> None:
        raw = np.array([[[0.2, np.nan]]] * 4, np.float32)
        valid = np.array([[True, False]])
        transform = input_transform(scaling_for("toa", dtype="float32"), self.MEAN, self.STD)
        out = transform.apply(raw, valid)
        np.testing.assert_allclose(out[:, 0, 0], (0.2 - np.array(self.MEAN)) / self.STD, rtol=1e-5)
        np.testing.assert_allclose(out[:, 0, 1], -np.array(self.MEAN) / self.STD, rtol=1e-6)
        assert np.isnan(raw[0, 0, 1])  # the raw strip is shared by tiles: never written

    def test_statistics_must_match_bands(self) -> None:
        with pytest.raises(ParameterError, match=r"one mean and one std per band \(4\)"):
            input_transform(scaling_for("l1"), (0.1,), (0.1,))

    def test_std_must_be_positive(self) -> None:
        with pytest.raises(ParameterError, match="positive"):
            input_transform(scaling_for("l1"), self.MEAN, (0.3, 0.3, 0.0, 0.3))

    def test_sun_below_horizon(self) -> None:
        scaling = Scaling((2e-5,) * 4, (-0.1,) * 4, -3.0, "l1", "night")
        with pytest.raises(ParameterError, match="below the horizon"):
            input_transform(scaling, self.MEAN, self.STD)


class TestInferLevel:
    @pytest.mark.parametrize(
        ("name", "level"),
        [
            ("LC08_L2SP_001062_20201031_20201106_02_T2_SR_B4.TIF", "sr"),
            ("LC09_L2SR_001062_20221031_20221106_02_T1_SR_B4.tif", "sr"),
            ("LC80130312015295LGN00_B4_toa.tif", "toa"),
            ("LC08_L1TP_016037_20170813_20170814_01_RT_B4.TIF", "l1"),
            ("LC08_L1GT_016037_20170813_20170814_01_RT_B4.TIF", "l1"),
            ("LC80130312015295LGN00_B4.TIF", "l1"),
        ],
    )
    def test_from_file_names(self, name: str, level: str) -> None:
        found, reason = infer_level("uint16", np.zeros(0, np.uint16), [name])
        assert found == level
        assert name in reason and "product level" in reason

    def test_float_pixels_are_toa(self) -> None:
        level, reason = infer_level("float32", np.full(10, 0.2, np.float32))
        assert level == "toa" and "float32" in reason

    def test_large_integers_are_level1(self) -> None:
        assert infer_level("uint16", np.arange(6000, 30000, 7, dtype=np.uint16))[0] == "l1"

    def test_small_integers_are_scaled_toa(self) -> None:
        level, reason = infer_level("int16", np.arange(0, 9000, 3, dtype=np.int16) // 3)
        assert level == "toa" and "10000" in reason

    def test_float_pixels_overrule_a_level1_name(self) -> None:
        level, reason = infer_level("float32", np.ones(4, np.float32), ["x_L1TP_y_B4.TIF"])
        assert level == "toa" and "file name suggests Level-1" in reason

    def test_all_fill_sample(self) -> None:
        assert infer_level("uint16", np.zeros((4, 4), np.uint16))[0] == "l1"

    def test_real_scene_names(self, scene_dirs: dict[str, Path]) -> None:
        expected = {"l1_900m": "l1", "toa_120m": "toa", "sr_600m": "sr", "rgb_30m": "l1"}
        for key, level in expected.items():
            names = [p.name for p in scene_dirs[key].iterdir()]
            assert infer_level("uint16", np.zeros(0), names)[0] == level, key


class TestSunDivisor:
    @pytest.mark.parametrize("elevation", [0.0, float("nan")])
    def test_scaling_refuses_a_sun_at_or_below_the_horizon(self, elevation: float) -> None:
        scaling = Scaling((2e-5,) * 4, (-0.1,) * 4, elevation, "l1", "test")
        with pytest.raises(ParameterError, match="horizon"):
            to_reflectance(np.ones((4, 2, 2), np.uint16), scaling)
