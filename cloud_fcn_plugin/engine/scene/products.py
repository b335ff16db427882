"""Landsat product folders: which files are the bands, and which folder a band file is in.

A product folder (Collection 1 or 2, Level-1 ``*_B4.TIF``, Level-2 ``*_SR_B4.TIF`` or TOA
``*_B4_toa.tif``) is known by its ``*_MTL.txt`` or its B2-B5 band files; the MTL's
``FILE_NAME_BAND_n`` picks among variants, matched only against files already there.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import BandMismatchError, CloudFcnError, UnsupportedDataError
from ..files.gdal_read import open_raster
from .bands import BAND_FILE_PATTERN, MODEL_BANDS, THERMAL_BAND
from .mtl import MtlMetadata, parse_mtl

ROLES = ("red", "green", "blue", "NIR")
MTL_FILE = re.compile(r"_MTL\.txt$", re.IGNORECASE)


def is_product_folder(folder: Path) -> bool:
    """Whether the reader opens ``folder`` as a Landsat product: an MTL or B2-B5 band files."""
    try:
        if not folder.is_dir():
            return False
        if any(MTL_FILE.search(p.name) for p in folder.iterdir()):
            return True
        return not set(band_candidates(folder)).isdisjoint(MODEL_BANDS)
    except OSError:  # too long a name, a link loop, no permission: not a product we can read
        return False


def product_folder_of(path: str | Path) -> Path | None:
    """The product folder a band file belongs to, or None when it is to be read as itself.

    A file named like a band file (``*_B4.TIF``) is a band of the product beside it only
    when it has one band on the grid of its sibling band files; a stack that happens
    to be named ``mystack_B4.tif`` is read as the stack it is.
    """
    path = Path(path).expanduser()
    folder = path.parent
    try:
        if not BAND_FILE_PATTERN.search(path.name) or not path.is_file():
            return None
    except (OSError, ValueError):
        return None
    if not is_product_folder(folder):
        return None
    try:
        with open_raster(path) as dataset:
            if dataset.count != 1:
                return None
            grid = (dataset.width, dataset.height, dataset.transform)
        candidates = band_candidates(folder)
        siblings = [
            f for band in MODEL_BANDS for f in candidates.get(band, []) if f.name != path.name
        ]
        for sibling in siblings:
            with open_raster(sibling) as dataset:
                sibling_grid = (dataset.width, dataset.height, dataset.transform)
                if dataset.count == 1 and sibling_grid == grid:
                    return folder
    except (OSError, CloudFcnError):
        return None
    return None


def find_mtl(folder: Path) -> MtlMetadata | None:
    """The MTL of a product folder; a folder of several products is refused (which one?).

    Raises:
        UnsupportedDataError: the folder holds several MTL files.
        MetadataError, InputReadError: the MTL cannot be read (see :func:`.mtl.parse_mtl`).
    """
    candidates = sorted(p for p in folder.iterdir() if MTL_FILE.search(p.name))
    if len(candidates) > 1:
        raise UnsupportedDataError(
            f"{folder.name} holds {len(candidates)} products "
            f"({', '.join(c.name for c in candidates[:3])}): give the MTL file of the one you "
            "mean, or keep each product in its own folder."
        )
    return parse_mtl(candidates[0]) if candidates else None


def band_candidates(folder: Path) -> dict[int, list[Path]]:
    """Landsat band files of a folder by band number (case-insensitive names).

    A Level-2 surface temperature file counts as its thermal band only (``ST_B10``, read
    as kelvin by the physics stage alone); the other ``ST_`` files are not bands.
    """
    found: dict[int, list[Path]] = {}
    for file in sorted(folder.iterdir()):
        match = BAND_FILE_PATTERN.search(file.name)
        is_st = (match.group(1) or "").upper() == "ST_" if match else False
        if match and file.is_file() and (not is_st or int(match.group(2)) == THERMAL_BAND):
            found.setdefault(int(match.group(2)), []).append(file)
    return found


def _variant_rank(file: Path) -> int:
    """Prefer surface reflectance, then TOA, then Level-1, then surface temperature."""
    name = file.name.upper()
    return 0 if "SR_B" in name else 1 if "_TOA." in name else 3 if "ST_B" in name else 2


def pick_band_file(folder: Path, band: int, candidates: list[Path], mtl: MtlMetadata | None):
    if mtl is not None and band in mtl.band_files:
        wanted = mtl.band_files[band].lower()
        for file in candidates:
            if file.name.lower() == wanted:
                return file
    return min(candidates, key=lambda f: (_variant_rank(f), f.name))


def product_band_files(folder: Path, mtl: MtlMetadata | None) -> tuple[Path, ...] | None:
    """(red, green, blue, NIR) files of a product folder; None when it has no band files."""
    candidates = band_candidates(folder)
    if not candidates:
        return None
    missing = [b for b in MODEL_BANDS if b not in candidates]
    if missing:
        names = ", ".join(f"B{b} ({ROLES[MODEL_BANDS.index(b)]})" for b in missing)
        found = ", ".join(f"B{b}" for b in sorted(candidates))
        raise BandMismatchError(
            f"{folder} lacks band {names} (found {found}): cloud detection needs B2, B3, B4 "
            "and B5; add the missing band file of the product."
        )
    return tuple(pick_band_file(folder, b, candidates[b], mtl) for b in MODEL_BANDS)
