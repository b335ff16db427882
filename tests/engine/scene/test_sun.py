"""The sun over a Landsat 8/9 scene without an MTL: the date in its name and its centre."""

from __future__ import annotations

import re
from datetime import date

import pytest
from affine import Affine
from rasterio.crs import CRS

from cloud_fcn_plugin.engine.scene.sun import (
    acquisition_date,
    overpass_utc,
    scene_centre,
    solar_position,
    sun_from_name,
)
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("LC08_L1TP_017033_20200601_20200608_02_T1_B2-B5_7800.tif", date(2020, 6, 1)),
        ("LC09_L2SP_001062_20220131_20220202_02_T1_SR_B4.TIF", date(2022, 1, 31)),
        ("LC80130312015295LGN00_B2-B5_toa_120m.tif", date(2015, 10, 22)),
        ("stack_LC80200392015216LGN00.tif", date(2015, 8, 4)),
        ("LE07_L1TP_017033_20200601_20200608_02_T1.tif", None),  # another orbit
        ("LC08_L1TP_017033_20201399_20200608_02_T1.tif", None),  # no such day
        ("LC80130312015400LGN00.tif", None),
        ("scene.tif", None),
    ],
)
def test_the_acquisition_date_comes_from_a_landsat_8_or_9_id(name, expected):
    assert acquisition_date(name) == expected


@pytest.mark.data
def test_the_mtls_sun_angles_are_found_again_from_date_and_place(data_dir):
    mtls = sorted((data_dir / "scenes").glob("*/*_MTL.txt"))
    assert len(mtls) >= 5
    for mtl in mtls:
        text = mtl.read_text()

        def value(key, text=text):
            return re.search(rf'{key} = "?([-\d.]+)', text).group(1)

        latitude = (
            float(value("CORNER_UL_LAT_PRODUCT")) + float(value("CORNER_LR_LAT_PRODUCT"))
        ) / 2
        longitude = (
            float(value("CORNER_UL_LON_PRODUCT")) + float(value("CORNER_LR_LON_PRODUCT"))
        ) / 2
        day = date.fromisoformat(re.search(r"DATE_ACQUIRED = ([\d-]+)", text).group(1))
        when = overpass_utc(day, latitude, longitude)
        azimuth, elevation = solar_position(when, latitude, longitude)
        assert azimuth == pytest.approx(float(value("SUN_AZIMUTH")), abs=2.0), mtl.name
        assert elevation == pytest.approx(float(value("SUN_ELEVATION")), abs=1.0), mtl.name


def test_the_pass_comes_later_towards_the_north_pole():
    day = date(2015, 7, 10)
    hours = [
        overpass_utc(day, lat, 0.0).hour + overpass_utc(day, lat, 0.0).minute / 60
        for lat in (-15.0, 0.0, 35.0, 72.0)
    ]
    assert hours == sorted(hours)
    assert hours[1] == pytest.approx(10.2, abs=0.05) and hours[3] == pytest.approx(11.95, abs=0.1)


def test_a_named_georeferenced_stack_gets_the_sun_of_its_date_and_place():
    import rasterio

    with rasterio.open(SAMPLE) as src:
        centre = scene_centre(src.crs, src.transform, src.width, src.height)
    sun = sun_from_name(SAMPLE, centre)
    assert centre == pytest.approx((40.9, -72.3), abs=0.1)
    assert sun is not None and 155 < sun.azimuth_deg < 167 and 33 < sun.elevation_deg < 39
    assert "2015-10-22" in sun.note and "40.9°N" in sun.note


def test_no_sun_without_a_grid_or_an_id(tmp_path):
    assert scene_centre(None, Affine.identity(), 10, 10) is None
    assert scene_centre(CRS.from_epsg(32618), Affine.identity(), 10, 10) is None
    # Grids PROJ cannot take to latitudes, or that leave the globe: no centre, no error.
    local = CRS.from_wkt('LOCAL_CS["site",UNIT["metre",1],AXIS["x",EAST],AXIS["y",NORTH]]')
    assert scene_centre(local, Affine(30, 0, 1000, 0, -30, 5000), 10, 10) is None
    assert scene_centre(CRS.from_epsg(32618), Affine(30, 0, 1e12, 0, -30, 1e12), 10, 10) is None
    assert scene_centre(CRS.from_epsg(4326), Affine(0.01, 0, 500, 0, -0.01, 300), 10, 10) is None
    assert scene_centre(CRS.from_epsg(4326), Affine(0.01, 0, 190, 0, -0.01, 45), 10, 10) == (
        pytest.approx(44.95),
        pytest.approx(-169.95),
    )
    assert sun_from_name(SAMPLE, None) is None
    assert sun_from_name(tmp_path / "stack.tif", (40.9, -72.3)) is None
    # A polar night: no daytime pass, so the name or the grid is wrong.
    assert sun_from_name(tmp_path / "LC80010012015355LGN00.tif", (85.0, 0.0)) is None
