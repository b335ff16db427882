"""The sun over a Landsat 8/9 scene that has no MTL: from the date in its name and its centre.

A stack or a TOA file often keeps the product's ID in its name (``LC08_L1TP_017033_
20200601_...``, ``LC80130312015295LGN00_...``) and its grid, but not the MTL whose
``SUN_AZIMUTH`` and ``SUN_ELEVATION`` the shadow geometry needs. Both follow from the
acquisition date and the scene's centre: Landsat 8 and 9 fly a sun-synchronous orbit
(inclination 98.2°) whose descending node crosses the equator at about 10:12 mean local
solar time, and at latitude φ the pass comes when the track's right ascension, measured
from the node, says (10:04 at 15°S, 10:31 at 35°N, 11:57 at 72°N). The sun's position at
that time is NOAA's (the equations of its solar calculator, after Meeus). On the five
shared scenes with an MTL (15°S to 72°N) this gives the MTL's angles within 1.7° of
azimuth and 0.7° of elevation (tests/engine/scene/test_sun.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.warp import transform as transform_points

from ..files.gdal_read import GDAL_ERRORS

__all__ = [
    "SceneSun",
    "acquisition_date",
    "overpass_utc",
    "scene_centre",
    "solar_position",
    "sun_from_name",
]

#: Mean local solar time (hours) of Landsat 8 and 9 at the descending node.
NODE_LOCAL_TIME_H = 10.0 + 12.0 / 60.0
INCLINATION_DEG = 98.2

# Collection IDs (LC08_L1TP_PPPRRR_YYYYMMDD_...) and pre-collection scene IDs
# (LC8PPPRRRYYYYDDDLGN00) of Landsat 8 and 9 (OLI, OLI/TIRS): the orbit above is theirs.
_COLLECTION_ID = re.compile(r"(?:^|[^A-Z0-9])L[CO]0[89]_L[0-9A-Z]{3}_\d{6}_(\d{8})_", re.I)
_SCENE_ID = re.compile(r"(?:^|[^A-Z0-9])L[CO][89]\d{6}(\d{4})(\d{3})[A-Z]{3}\d{2}", re.I)


@dataclass(frozen=True)
class SceneSun:
    """Sun angles computed for a scene, and how (one sentence for the run's notes)."""

    azimuth_deg: float
    elevation_deg: float
    note: str


def acquisition_date(name: str) -> date | None:
    """The acquisition date a Landsat 8/9 product or scene ID in ``name`` gives, if any."""
    found = _COLLECTION_ID.search(name)
    try:
        if found:
            return datetime.strptime(found.group(1), "%Y%m%d").date()
        found = _SCENE_ID.search(name)
        if found:
            year, day = int(found.group(1)), int(found.group(2))
            return date(year, 1, 1) + timedelta(days=day - 1) if 1 <= day <= 366 else None
    except ValueError:  # digits that are no date: not an ID after all
        return None
    return None


def overpass_utc(day: date, latitude: float, longitude: float) -> datetime:
    """When Landsat 8/9 passes over a point on its descending (daytime) pass, UTC."""
    inclination = math.radians(INCLINATION_DEG)
    ratio = max(-1.0, min(1.0, math.sin(math.radians(latitude)) / math.sin(inclination)))
    # Argument of latitude on the descending branch, then the right ascension from the
    # ascending node: 180° at the equator, more (later) north, less south.
    u = math.pi - math.asin(ratio)
    right_ascension = (
        math.degrees(math.atan2(math.cos(inclination) * math.sin(u), math.cos(u))) % 360.0
    )
    local_hours = NODE_LOCAL_TIME_H + (right_ascension - 180.0) / 15.0
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return midnight + timedelta(hours=local_hours - longitude / 15.0)


def solar_position(when: datetime, latitude: float, longitude: float) -> tuple[float, float]:
    """Sun azimuth (clockwise from north) and elevation, degrees, without refraction."""
    r = math.radians
    julian_century = (when.timestamp() / 86400.0 + 2440587.5 - 2451545.0) / 36525.0
    t = julian_century
    mean_longitude = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360.0
    anomaly = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    centre = (
        math.sin(r(anomaly)) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(r(2 * anomaly)) * (0.019993 - 0.000101 * t)
        + math.sin(r(3 * anomaly)) * 0.000289
    )
    node = r(125.04 - 1934.136 * t)
    apparent_longitude = mean_longitude + centre - 0.00569 - 0.00478 * math.sin(node)
    arcseconds = 21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))
    mean_obliquity = 23.0 + (26.0 + arcseconds / 60.0) / 60.0
    obliquity = r(mean_obliquity + 0.00256 * math.cos(node))
    declination = math.asin(math.sin(obliquity) * math.sin(r(apparent_longitude)))
    y = math.tan(obliquity / 2) ** 2
    l0, m, e = r(mean_longitude), r(anomaly), eccentricity
    equation_of_time = 4 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * e * math.sin(m)
        + 4 * e * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * e * e * math.sin(2 * m)
    )
    utc = when.astimezone(UTC)
    minutes = utc.hour * 60 + utc.minute + utc.second / 60
    hour_angle = r(((minutes + equation_of_time + 4 * longitude) % 1440) / 4 - 180)
    phi = r(latitude)
    cos_zenith = math.sin(phi) * math.sin(declination) + math.cos(phi) * math.cos(
        declination
    ) * math.cos(hour_angle)
    zenith = math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))
    azimuth = math.degrees(
        math.atan2(
            math.sin(hour_angle),
            math.cos(hour_angle) * math.sin(phi) - math.tan(declination) * math.cos(phi),
        )
    )
    return (azimuth + 180.0) % 360.0, 90.0 - zenith


def scene_centre(
    crs: CRS | None, transform: Affine, width: int, height: int
) -> tuple[float, float] | None:
    """(latitude, longitude) of a grid's centre, None where the grid is not georeferenced."""
    if crs is None or transform == Affine.identity():
        return None
    x, y = transform * (width / 2.0, height / 2.0)
    try:
        (longitude,), (latitude,) = transform_points(crs, "EPSG:4326", [x], [y])
    except (CRSError, ValueError, *GDAL_ERRORS):  # a grid PROJ cannot take to latitudes
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)) or abs(latitude) > 90.0:
        return None
    return float(latitude), (float(longitude) + 180.0) % 360.0 - 180.0


def sun_from_name(path: Path, centre: tuple[float, float] | None) -> SceneSun | None:
    """The sun over a scene whose name (or folder's) holds a Landsat 8/9 ID, if it has a centre.

    Args:
        path: the input (a file or a folder).
        centre: (latitude, longitude) of the scene's centre, None when not georeferenced.
    """
    if centre is None:
        return None
    for name in (path.name, path.parent.name):
        day = acquisition_date(name)
        if day is not None:
            break
    else:
        return None
    latitude, longitude = centre
    azimuth, elevation = solar_position(overpass_utc(day, latitude, longitude), latitude, longitude)
    if elevation <= 0.0:  # a polar night: no daytime pass, so the name or the grid is wrong
        return None
    note = (
        f"sun angles from the acquisition date in the name ({day.isoformat()}) and the "
        f"scene's centre ({abs(latitude):.1f}°{'N' if latitude >= 0 else 'S'}, "
        f"{abs(longitude):.1f}°{'E' if longitude >= 0 else 'W'}): azimuth {azimuth:.0f}°, "
        f"elevation {elevation:.0f}°"
    )
    return SceneSun(azimuth, elevation, note)
