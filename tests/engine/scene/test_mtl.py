"""Tests of MTL parsing and of the checks on the numbers an MTL holds."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from cloud_fcn_plugin.engine.errors import InputNotFoundError, MetadataError
from cloud_fcn_plugin.engine.scene.bands import FULLBAND_BANDS, MODEL_BANDS
from cloud_fcn_plugin.engine.scene.mtl import MtlMetadata, parse_mtl
from cloud_fcn_plugin.engine.scene.reader import open_scene
from cloud_fcn_plugin.engine.scene.scaling import scaling_for

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
        with pytest.raises(InputNotFoundError, match="does not exist"):
            parse_mtl(tmp_path / "absent_MTL.txt")


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


class TestEveryBandTheModelReads:
    """C6: the full-band model's B6, B7, B9 and thermal constants are checked as B2-B5 are."""

    @pytest.mark.parametrize(
        ("key", "good", "bad"),
        [
            ("REFLECTANCE_MULT_BAND_6", "2.0000E-05", "NaN"),
            ("REFLECTANCE_MULT_BAND_7", "2.0000E-05", "1e300"),
            ("REFLECTANCE_ADD_BAND_9", "-0.100000", "1e30"),
            ("RADIANCE_MULT_BAND_10", "1.2486E-02", "1e300"),
            ("RADIANCE_ADD_BAND_10", "-62.43", "inf"),
        ],
    )
    def test_refused_for_the_full_band_model(
        self, tmp_path: Path, key: str, good: str, bad: str
    ) -> None:
        text = with_thermal(c1_mtl_text()).replace(f"{key} = {good}", f"{key} = {bad}")
        meta = parse_mtl(write_mtl(tmp_path, text))  # the 4-band model does not read it
        assert scaling_for("l1", MODEL_BANDS, meta).gain == (2e-5,) * 4
        with pytest.raises(MetadataError, match=rf"{key} = .*as USGS delivered"):
            scaling_for("l1", FULLBAND_BANDS, meta)

    @pytest.mark.parametrize(("key", "bad"), [("K1", "NaN"), ("K2", "-1321.0789"), ("K1", "0")])
    def test_thermal_constants(self, tmp_path: Path, key: str, bad: str) -> None:
        meta = parse_mtl(write_mtl(tmp_path, with_thermal(c1_mtl_text(), **{key: bad})))
        with pytest.raises(MetadataError, match=rf"{key}_CONSTANT_BAND_10 = "):
            scaling_for("l1", FULLBAND_BANDS, meta)

    def test_real_constants_pass(self, tmp_path: Path) -> None:
        meta = parse_mtl(write_mtl(tmp_path, with_thermal(c1_mtl_text())))
        scaling = scaling_for("l1", FULLBAND_BANDS, meta)
        assert scaling.thermal[0].k1 == pytest.approx(774.8853)

    @pytest.mark.data
    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("K1_CONSTANT_BAND_10", "NaN"),
            ("RADIANCE_MULT_BAND_10", "1e300"),
            ("K2_CONSTANT_BAND_10", "-1321.0789"),
            ("REFLECTANCE_MULT_BAND_6", "NaN"),
            ("REFLECTANCE_ADD_BAND_9", "1e30"),
        ],
    )
    def test_real_product_folder_is_refused_before_reading(
        self, tmp_path: Path, data_dir: Path, key: str, value: str
    ) -> None:
        product = copy_product(data_dir / "scenes" / L1_30M, tmp_path / "p")
        mtl = next(product.glob("*_MTL.txt"))
        mtl.write_text(re.sub(rf"({key} = ).*", rf"\g<1>{value}", mtl.read_text()))
        with pytest.raises(MetadataError, match=key):
            open_scene(product, model_bands=FULLBAND_BANDS)


L1_30M = "LC80200392015216LGN00_L1T_30m"


def with_thermal(text: str, K1: str = "774.8853", K2: str = "1321.0789") -> str:
    """A Collection 1 MTL with the TIRS constants group it ends with."""
    group = (
        "  GROUP = TIRS_THERMAL_CONSTANTS\n"
        f"    K1_CONSTANT_BAND_10 = {K1}\n    K2_CONSTANT_BAND_10 = {K2}\n"
        "  END_GROUP = TIRS_THERMAL_CONSTANTS\n"
    )
    return text.replace("END_GROUP = L1_METADATA_FILE", group + "END_GROUP = L1_METADATA_FILE")


def copy_product(source: Path, target: Path) -> Path:
    """The product's band files linked, its MTL copied so a test can edit it."""
    target.mkdir()
    for path in source.iterdir():
        if path.name.endswith("_MTL.txt"):
            shutil.copy(path, target / path.name)
        elif path.is_file():
            (target / path.name).symlink_to(path.resolve())
    return target
