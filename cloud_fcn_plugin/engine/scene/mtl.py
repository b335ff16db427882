"""Landsat 8/9 MTL text files: parsing and the checks on the numbers they hold.

An MTL file is ODL text (``GROUP = ... / KEY = VALUE / END_GROUP``). :func:`parse_mtl`
reads what the engine needs into one :class:`MtlMetadata`; every number is checked
for being one a real Landsat product could have before the scaling uses it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MetadataError
from ..files.gate import MTL_BYTES, read_small_text
from .bands import MODEL_BANDS


@dataclass(frozen=True)
class MtlMetadata:
    """What the engine needs from a Landsat 8/9 MTL text file.

    Attributes:
        path: the MTL file.
        product_id: LANDSAT_PRODUCT_ID (or LANDSAT_SCENE_ID for pre-collection files).
        collection: 0 (pre-collection), 1 or 2.
        level: ``"l1"`` or ``"sr"``.
        sun_elevation: degrees above the horizon at the scene centre.
        sun_azimuth: degrees clockwise from north at the scene centre (None when the
            file lacks it or it is implausible: the shadow direction is then estimated).
        band_files: band number -> file name, as listed in the MTL.
        reflectance_mult: Level-1 DN -> TOA gain per band.
        reflectance_add: Level-1 DN -> TOA offset per band.
        sr_mult: Level-2 DN -> surface reflectance gain per band (empty for Level-1).
        sr_add: Level-2 DN -> surface reflectance offset per band (empty for Level-1).
        radiance_mult: Level-1 DN -> radiance gain per band (thermal bands).
        radiance_add: Level-1 DN -> radiance offset per band.
        k1: thermal constant K1 per thermal band.
        k2: thermal constant K2 per thermal band.
        qa_file: the product's QA band as the MTL names it (``FILE_NAME_QUALITY_L1_PIXEL``
            in Collection 2, ``FILE_NAME_BAND_QUALITY`` before), None when it names none.
    """

    path: Path
    product_id: str
    collection: int
    level: str
    sun_elevation: float | None
    band_files: dict[int, str] = field(default_factory=dict)
    reflectance_mult: dict[int, float] = field(default_factory=dict)
    reflectance_add: dict[int, float] = field(default_factory=dict)
    sr_mult: dict[int, float] = field(default_factory=dict)
    sr_add: dict[int, float] = field(default_factory=dict)
    radiance_mult: dict[int, float] = field(default_factory=dict)
    radiance_add: dict[int, float] = field(default_factory=dict)
    k1: dict[int, float] = field(default_factory=dict)
    k2: dict[int, float] = field(default_factory=dict)
    sun_azimuth: float | None = None
    qa_file: str | None = None

    def rescaling(
        self, level: str, bands: Sequence[int]
    ) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """Checked DN-to-reflectance gains and offsets of ``bands``, or None if one lacks them.

        Args:
            level: ``"sr"`` for the Level-2 values, anything else for the Level-1 ones.
            bands: Landsat band numbers in reading order.

        Raises:
            MetadataError: a value of one of ``bands`` is not one a Landsat product has.
        """
        mult, add = (
            (self.sr_mult, self.sr_add)
            if level == "sr"
            else (self.reflectance_mult, self.reflectance_add)
        )
        if not all(b in mult and b in add for b in bands):
            return None
        for band in bands:
            _check_plausible(self.path, f"REFLECTANCE_MULT_BAND_{band}", mult[band])
            _check_plausible(self.path, f"REFLECTANCE_ADD_BAND_{band}", add[band])
        return tuple(mult[b] for b in bands), tuple(add[b] for b in bands)

    def thermal(self, band: int) -> tuple[float, float, float, float] | None:
        """Checked ``(RADIANCE_MULT, RADIANCE_ADD, K1, K2)`` of a thermal band, or None.

        Raises:
            MetadataError: one of the four is not a value a Landsat product has.
        """
        tables = {
            "RADIANCE_MULT": self.radiance_mult,
            "RADIANCE_ADD": self.radiance_add,
            "K1_CONSTANT": self.k1,
            "K2_CONSTANT": self.k2,
        }
        if not all(band in values for values in tables.values()):
            return None
        for prefix, values in tables.items():
            _check_plausible(self.path, f"{prefix}_BAND_{band}", values[band])
        mult, add, k1, k2 = (values[band] for values in tables.values())
        return mult, add, k1, k2


_L2_GROUP = "LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"

# One parsed MTL entry: the group path it sits in, its key and its unquoted value.
_Entry = tuple[tuple[str, ...], str, str]


def _read_odl(path: Path) -> list[_Entry]:
    """Parse the ``GROUP = ... / KEY = VALUE / END_GROUP`` text into flat entries."""
    # Through the gate: a regular file of at most MTL_BYTES (a real MTL is about 10 kB), never
    # a FIFO, a device or a system file found in a product folder.
    text = read_small_text(path, "the MTL file", MTL_BYTES)
    entries: list[_Entry] = []
    groups: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line == "END":
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip().strip('"')
        if not sep or not key:
            raise MetadataError(
                f"MTL file {path} line {number} is not 'KEY = VALUE' (is it a Landsat MTL?): "
                "use the MTL file exactly as USGS delivered it."
            )
        if not groups and (key, value) not in _ROOT_GROUPS:
            # Not an MTL (another file named or linked as one): nothing of it is quoted.
            raise MetadataError(
                f"MTL file {path} does not start with GROUP = LANDSAT_METADATA_FILE or "
                "L1_METADATA_FILE: is it really a Landsat MTL?"
            )
        if key == "GROUP":
            groups.append(value)
        elif key == "END_GROUP":
            if not groups or groups[-1] != value:
                raise MetadataError(
                    f"MTL file {path} line {number} closes group {_shown(value)} that is not "
                    "open; "
                    "use the MTL file exactly as USGS delivered it."
                )
            groups.pop()
        else:
            entries.append((tuple(groups), key, value))
    if not entries:
        raise MetadataError(f"MTL file {path} holds no metadata: is it really a Landsat MTL?")
    return entries


_ROOT_GROUPS = {("GROUP", "L1_METADATA_FILE"), ("GROUP", "LANDSAT_METADATA_FILE")}


def _shown(value: str) -> str:
    """A value of the MTL for a message: quoted, and cut short (a number 4,000 digits long)."""
    return repr(value if len(value) <= 32 else value[:32] + "...")


def _lookup(entries: list[_Entry], key: str, group: str | None = None) -> str | None:
    """First value of ``key``, restricted to entries inside ``group`` when given."""
    for groups, name, value in entries:
        if name == key and (group is None or group in groups):
            return value
    return None


def _require(entries: list[_Entry], path: Path, key: str, group: str | None = None) -> str:
    value = _lookup(entries, key, group)
    if value is None:
        where = f" in group {group}" if group else ""
        raise MetadataError(
            f"MTL file {path} lacks {key}{where}: use the complete MTL of the product "
            "or run without it (standard scaling constants)."
        )
    return value


def _as_float(value: str, path: Path, key: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise MetadataError(
            f"MTL file {path} has {key} = {_shown(value)}, which is not a number; "
            "use the MTL file exactly as USGS delivered it."
        ) from None


def _per_band(
    entries: list[_Entry], prefix: str, group: str | None, path: Path
) -> dict[int, float]:
    """Collect ``PREFIX_BAND_<n>`` numbers found in ``group``."""
    found: dict[int, float] = {}
    for groups, name, value in entries:
        match = re.fullmatch(rf"{prefix}_BAND_(\d+)", name)
        if match and (group is None or group in groups):
            found.setdefault(int(match.group(1)), _as_float(value, path, name))
    return found


def _band_file_names(entries: list[_Entry], group: str | None) -> dict[int, str]:
    files: dict[int, str] = {}
    for groups, name, value in entries:
        match = re.fullmatch(r"FILE_NAME_BAND_(\d+)", name)
        if match and (group is None or group in groups):
            files.setdefault(int(match.group(1)), value)
    return files


def _mtl_level(entries: list[_Entry], path: Path, c2: bool) -> str:
    key = "PROCESSING_LEVEL" if c2 else "DATA_TYPE"
    value = _require(entries, path, key).upper()
    if value.startswith("L2"):
        return "sr"
    if value.startswith("L1"):
        return "l1"
    raise MetadataError(
        f"MTL file {path} has {key} = {_shown(value)}; only Level-1 (L1TP/L1GT/L1GS) and "
        "Level-2 (L2SP/L2SR) products are supported."
    )


def parse_mtl(path: str | Path) -> MtlMetadata:
    """Read a Landsat 8/9 Collection 1 or 2 (or pre-collection) MTL text file.

    Raises:
        MetadataError: the file is unreadable, malformed, or lacks a key the scaling
            needs; the message names the key and the file.
    """
    path = Path(path)
    entries = _read_odl(path)
    root = entries[0][0][0] if entries[0][0] else ""
    if root not in ("L1_METADATA_FILE", "LANDSAT_METADATA_FILE"):
        raise MetadataError(
            f"MTL file {path} does not start with GROUP = LANDSAT_METADATA_FILE or "
            "L1_METADATA_FILE: is it really a Landsat MTL?"
        )
    number = _lookup(entries, "COLLECTION_NUMBER")
    collection = int(_as_float(number, path, "COLLECTION_NUMBER")) if number else 0
    c2 = root == "LANDSAT_METADATA_FILE"
    level = _mtl_level(entries, path, c2)
    product_id = _lookup(entries, "LANDSAT_PRODUCT_ID") or _require(
        entries, path, "LANDSAT_SCENE_ID"
    )
    l1_group = "LEVEL1_RADIOMETRIC_RESCALING" if c2 else "RADIOMETRIC_RESCALING"
    meta = MtlMetadata(
        path=path,
        product_id=product_id,
        collection=collection,
        level=level,
        sun_elevation=_as_float(_require(entries, path, "SUN_ELEVATION"), path, "SUN_ELEVATION"),
        band_files=_band_file_names(entries, "PRODUCT_CONTENTS" if c2 else None),
        reflectance_mult=_per_band(entries, "REFLECTANCE_MULT", l1_group, path),
        reflectance_add=_per_band(entries, "REFLECTANCE_ADD", l1_group, path),
        sr_mult=_per_band(entries, "REFLECTANCE_MULT", _L2_GROUP, path),
        sr_add=_per_band(entries, "REFLECTANCE_ADD", _L2_GROUP, path),
        radiance_mult=_per_band(entries, "RADIANCE_MULT", l1_group, path),
        radiance_add=_per_band(entries, "RADIANCE_ADD", l1_group, path),
        k1=_per_band(entries, "K1_CONSTANT", None, path),
        k2=_per_band(entries, "K2_CONSTANT", None, path),
        sun_azimuth=_sun_azimuth(entries),
        qa_file=_lookup(entries, "FILE_NAME_QUALITY_L1_PIXEL")
        or _lookup(entries, "FILE_NAME_BAND_QUALITY"),
    )
    _check_complete(meta)
    return meta


def _check_complete(meta: MtlMetadata) -> None:
    """Every model band needs a file name and the rescaling of its level."""
    if meta.level == "sr":
        needed = {
            "FILE_NAME_BAND": meta.band_files,
            "REFLECTANCE_MULT": meta.sr_mult,
            "REFLECTANCE_ADD": meta.sr_add,
        }
    else:
        needed = {
            "FILE_NAME_BAND": meta.band_files,
            "REFLECTANCE_MULT": meta.reflectance_mult,
            "REFLECTANCE_ADD": meta.reflectance_add,
        }
    for prefix, values in needed.items():
        for band in MODEL_BANDS:
            if band not in values:
                key = f"{prefix}_{band}" if prefix == "FILE_NAME_BAND" else f"{prefix}_BAND_{band}"
                raise MetadataError(
                    f"MTL file {meta.path} lacks {key}: use the complete MTL of the product "
                    "or run without it (standard scaling constants)."
                )
            if prefix != "FILE_NAME_BAND":
                _check_plausible(meta.path, f"{prefix}_BAND_{band}", values[band])
    _check_plausible(meta.path, "SUN_ELEVATION", meta.sun_elevation)


# Bounds no real Landsat 8/9 MTL value comes near (L1: 2e-5 and -0.1, L2: 2.75e-5 and
# -0.2); values outside them (NaN, inf, 1e300, a sun on the horizon) would silently
# turn every pixel into fill or into the same reflectance.
_PLAUSIBLE = {
    "REFLECTANCE_MULT": (1e-7, 1e-2, "about 2e-05"),
    "REFLECTANCE_ADD": (-1.0, 1.0, "about -0.1"),
    "SUN_ELEVATION": (0.5, 90.0, "degrees above the horizon, 0.5 to 90"),
    # TIRS band 10 (11): 3.342e-4, 0.1, K1 774.89 (480.89), K2 1321.08 (1201.14);
    # the OLI bands' radiance gains are about 1e-2 with offsets down to about -65.
    "RADIANCE_MULT": (1e-6, 1.0, "about 3.3e-04 for B10"),
    "RADIANCE_ADD": (-200.0, 200.0, "about 0.1 for B10"),
    "K1_CONSTANT": (100.0, 5000.0, "774.89 for B10"),
    "K2_CONSTANT": (500.0, 5000.0, "1321.08 for B10"),
}


def _sun_azimuth(entries: list[_Entry]) -> float | None:
    """SUN_AZIMUTH in degrees (-180 to 360 as USGS writes it), None when absent or not."""
    text = _lookup(entries, "SUN_AZIMUTH")
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and -360 <= value <= 360 else None


def _check_plausible(path: Path, key: str, value: float | None) -> None:
    low, high, expected = _PLAUSIBLE[key.split("_BAND_")[0]]
    if value is None or not math.isfinite(value) or not low <= value <= high:
        raise MetadataError(
            f"MTL file {path} has {key} = {value}, which no Landsat product has ({expected}): "
            "use the MTL file exactly as USGS delivered it, or run without it."
        )
