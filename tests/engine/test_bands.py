"""Tests of Landsat band names, MTL parsing, scaling, level inference and normalisation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cloud_fcn_plugin.engine.bands import (
    LANDSAT_BAND_NAMES,
    MtlMetadata,
    Scaling,
    band_number_from_text,
    infer_level,
    input_transform,
    normalize,
    parse_mtl,
    scaling_for,
    to_reflectance,
)
from cloud_fcn_plugin.engine.errors import MetadataError, ParameterError

C1_PRODUCT = "LC08_L1TP_016037_20170813_20170814_01_RT"
C2_PRODUCT = "LC08_L2SP_001062_20201031_20201106_02_T2"


def c1_mtl_text(product_id: str = C1_PRODUCT, sun_elevation: float = 64.3) -> str:
    """A Collection 1 Level-1 MTL laid out like the USGS files (keys as documented)."""
    files = "\n".join(f'    FILE_NAME_BAND_{b} = "{product_id}_B{b}.TIF"' for b in range(1, 12))
    rescaling = (
        "\n".join(
            f"    RADIANCE_MULT_BAND_{b} = 1.2486E-02\n    RADIANCE_ADD_BAND_{b} = -62.43"
            for b in range(1, 12)
        )
        + "\n"
        + "\n".join(
            f"    REFLECTANCE_MULT_BAND_{b} = 2.0000E-05\n    REFLECTANCE_ADD_BAND_{b} = -0.100000"
            for b in range(1, 10)
        )
    )
    return f"""GROUP = L1_METADATA_FILE
  GROUP = METADATA_FILE_INFO
    ORIGIN = "Image courtesy of the U.S. Geological Survey"
    REQUEST_ID = "0501708144337_00012"
    LANDSAT_SCENE_ID = "LC80160372017225LGN00"
    LANDSAT_PRODUCT_ID = "{product_id}"
    COLLECTION_NUMBER = 01
    FILE_DATE = 2017-08-14T15:24:24Z
  END_GROUP = METADATA_FILE_INFO
  GROUP = PRODUCT_METADATA
    DATA_TYPE = "L1TP"
    COLLECTION_CATEGORY = "RT"
    SPACECRAFT_ID = "LANDSAT_8"
    SENSOR_ID = "OLI_TIRS"
{files}
    FILE_NAME_BAND_QUALITY = "{product_id}_BQA.TIF"
  END_GROUP = PRODUCT_METADATA
  GROUP = IMAGE_ATTRIBUTES
    CLOUD_COVER = 10.53
    SUN_AZIMUTH = 122.40170000
    SUN_ELEVATION = {sun_elevation}
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = RADIOMETRIC_RESCALING
{rescaling}
  END_GROUP = RADIOMETRIC_RESCALING
END_GROUP = L1_METADATA_FILE
END
"""


def c2_l2_mtl_text(product_id: str = C2_PRODUCT) -> str:
    """A Collection 2 Level-2 MTL with its nested groups, as USGS writes them."""
    sr_files = "\n".join(
        f'    FILE_NAME_BAND_{b} = "{product_id}_SR_B{b}.TIF"' for b in range(1, 8)
    )
    sr = "\n".join(
        f"    REFLECTANCE_MULT_BAND_{b} = 2.75e-05\n    REFLECTANCE_ADD_BAND_{b} = -0.2"
        for b in range(1, 8)
    )
    l1 = "\n".join(
        f"    REFLECTANCE_MULT_BAND_{b} = 2.0000E-05\n    REFLECTANCE_ADD_BAND_{b} = -0.100000"
        for b in range(1, 10)
    )
    return f"""GROUP = LANDSAT_METADATA_FILE
  GROUP = PRODUCT_CONTENTS
    ORIGIN = "Image courtesy of the U.S. Geological Survey"
    DIGITAL_OBJECT_IDENTIFIER = "https://doi.org/10.5066/P9OGBGM6"
    LANDSAT_PRODUCT_ID = "{product_id}"
    PROCESSING_LEVEL = "L2SP"
    COLLECTION_NUMBER = 02
    COLLECTION_CATEGORY = "T2"
    OUTPUT_FORMAT = "GEOTIFF"
{sr_files}
    FILE_NAME_BAND_ST_B10 = "{product_id}_ST_B10.TIF"
    FILE_NAME_QUALITY_L1_PIXEL = "{product_id}_QA_PIXEL.TIF"
  END_GROUP = PRODUCT_CONTENTS
  GROUP = IMAGE_ATTRIBUTES
    SPACECRAFT_ID = "LANDSAT_8"
    CLOUD_COVER = 92.11
    SUN_AZIMUTH = 115.56371263
    SUN_ELEVATION = 60.81327353
  END_GROUP = IMAGE_ATTRIBUTES
  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
{sr}
  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS
  GROUP = LEVEL1_PROCESSING_RECORD
    LANDSAT_PRODUCT_ID = "LC08_L1TP_001062_20201031_20201106_02_T2"
  END_GROUP = LEVEL1_PROCESSING_RECORD
  GROUP = LEVEL1_RADIOMETRIC_RESCALING
{l1}
  END_GROUP = LEVEL1_RADIOMETRIC_RESCALING
END_GROUP = LANDSAT_METADATA_FILE
END
"""


def write_mtl(folder: Path, text: str, name: str = "product_MTL.txt") -> Path:
    path = folder / name
    path.write_text(text)
    return path


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


class TestParseMtl:
    def test_collection1_level1(self, tmp_path: Path) -> None:
        meta = parse_mtl(write_mtl(tmp_path, c1_mtl_text(sun_elevation=42.1)))
        assert isinstance(meta, MtlMetadata)
        assert (meta.product_id, meta.collection, meta.level) == (C1_PRODUCT, 1, "l1")
        assert meta.sun_elevation == pytest.approx(42.1)
        assert meta.band_files[4] == f"{C1_PRODUCT}_B4.TIF"
        assert meta.reflectance_mult[5] == pytest.approx(2e-5)
        assert meta.reflectance_add[2] == pytest.approx(-0.1)
        assert meta.sr_mult == {} and meta.sr_add == {}

    def test_collection2_level2(self, tmp_path: Path) -> None:
        meta = parse_mtl(write_mtl(tmp_path, c2_l2_mtl_text()))
        assert (meta.product_id, meta.collection, meta.level) == (C2_PRODUCT, 2, "sr")
        assert meta.band_files[4] == f"{C2_PRODUCT}_SR_B4.TIF"
        assert 10 not in meta.band_files  # FILE_NAME_BAND_ST_B10 is not an optical band
        # The same key sits in two groups: each must come from its own group.
        assert meta.sr_mult[4] == pytest.approx(2.75e-5)
        assert meta.sr_add[4] == pytest.approx(-0.2)
        assert meta.reflectance_mult[4] == pytest.approx(2e-5)
        assert meta.sun_elevation == pytest.approx(60.81327353)

    def test_missing_sun_elevation_names_key_and_file(self, tmp_path: Path) -> None:
        text = c1_mtl_text().replace("    SUN_ELEVATION = 64.3\n", "")
        path = write_mtl(tmp_path, text)
        with pytest.raises(MetadataError, match=r"lacks SUN_ELEVATION.*") as caught:
            parse_mtl(path)
        assert str(path) in str(caught.value)

    def test_missing_band_rescaling(self, tmp_path: Path) -> None:
        text = c2_l2_mtl_text().replace("    REFLECTANCE_ADD_BAND_5 = -0.2\n", "")
        with pytest.raises(MetadataError, match="REFLECTANCE_ADD_BAND_5"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_missing_band_file(self, tmp_path: Path) -> None:
        text = c1_mtl_text().replace(f'    FILE_NAME_BAND_3 = "{C1_PRODUCT}_B3.TIF"\n', "")
        with pytest.raises(MetadataError, match="FILE_NAME_BAND_3"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_value_not_a_number(self, tmp_path: Path) -> None:
        text = c1_mtl_text().replace("SUN_ELEVATION = 64.3", "SUN_ELEVATION = high")
        with pytest.raises(MetadataError, match="SUN_ELEVATION = 'high'"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_line_without_equals(self, tmp_path: Path) -> None:
        text = c1_mtl_text().replace("    CLOUD_COVER = 10.53", "    CLOUD_COVER 10.53")
        with pytest.raises(MetadataError, match=r"line \d+ is not 'KEY = VALUE'"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_unbalanced_group(self, tmp_path: Path) -> None:
        text = c1_mtl_text().replace("  END_GROUP = IMAGE_ATTRIBUTES\n", "")
        with pytest.raises(MetadataError, match="closes group"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_not_an_mtl(self, tmp_path: Path) -> None:
        with pytest.raises(MetadataError, match="really a Landsat MTL"):
            parse_mtl(write_mtl(tmp_path, "GROUP = SOMETHING\n  A = 1\nEND_GROUP = SOMETHING\n"))

    def test_unsupported_processing_level(self, tmp_path: Path) -> None:
        text = c2_l2_mtl_text().replace('"L2SP"', '"L3XX"')
        with pytest.raises(MetadataError, match="only Level-1"):
            parse_mtl(write_mtl(tmp_path, text))

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(MetadataError, match="Cannot read MTL file"):
            parse_mtl(tmp_path / "absent_MTL.txt")


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


class TestImplausibleMtl:
    """Values no Landsat MTL has are refused in one line instead of giving 0 % cloud."""

    @pytest.mark.parametrize("value", ["NaN", "inf", "-inf", "1e300", "0", "-2.0E-05"])
    def test_reflectance_mult(self, tmp_path: Path, value: str) -> None:
        key = "REFLECTANCE_MULT_BAND_4"
        text = c1_mtl_text().replace(f"{key} = 2.0000E-05", f"{key} = {value}")
        with pytest.raises(MetadataError, match="REFLECTANCE_MULT_BAND_4.*as USGS delivered"):
            parse_mtl(write_mtl(tmp_path, text))

    @pytest.mark.parametrize("value", ["nan", "1e300", "-5"])
    def test_reflectance_add(self, tmp_path: Path, value: str) -> None:
        key = "REFLECTANCE_ADD_BAND_5"
        text = c1_mtl_text().replace(f"{key} = -0.100000", f"{key} = {value}")
        with pytest.raises(MetadataError, match="REFLECTANCE_ADD_BAND_5"):
            parse_mtl(write_mtl(tmp_path, text))

    @pytest.mark.parametrize("value", [float("nan"), 0.0, -10.0, 1e300, 95.0])
    def test_sun_elevation(self, tmp_path: Path, value: float) -> None:
        with pytest.raises(MetadataError, match="SUN_ELEVATION"):
            parse_mtl(write_mtl(tmp_path, c1_mtl_text(sun_elevation=value)))

    @pytest.mark.parametrize("elevation", [0.0, float("nan")])
    def test_scaling_refuses_a_sun_at_or_below_the_horizon(self, elevation: float) -> None:
        scaling = Scaling((2e-5,) * 4, (-0.1,) * 4, elevation, "l1", "test")
        with pytest.raises(ParameterError, match="horizon"):
            to_reflectance(np.ones((4, 2, 2), np.uint16), scaling)
