"""Landsat 8/9 band numbers, names and the band sets of the models."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import ParameterError

LEVELS = ("l1", "toa", "sr")


LEVEL_NAMES = {
    "l1": "Level-1 DN",
    "toa": "TOA reflectance",
    "sr": "Level-2 surface reflectance",
}


#: One band file of a Landsat product: ``*_B4.TIF``, ``*_SR_B4.TIF``, ``*_ST_B10.TIF``,
#: ``*_B4_toa.tif``; group 1 is the ``SR_``/``ST_`` prefix, group 2 the band number.
BAND_FILE_PATTERN = re.compile(r"(?:^|_)(SR_|ST_)?B(\d{1,2})(_TOA)?\.TIFF?$", re.IGNORECASE)


#: Landsat 8/9 OLI/TIRS band numbers and their short names.
LANDSAT_BAND_NAMES: dict[int, str] = {
    1: "coastal",
    2: "blue",
    3: "green",
    4: "red",
    5: "nir",
    6: "swir1",
    7: "swir2",
    8: "pan",
    9: "cirrus",
    10: "tirs1",
    11: "tirs2",
}


#: Band numbers of the model inputs, in the order the network expects them.
MODEL_BANDS: tuple[int, int, int, int] = (4, 3, 2, 5)


#: Bands of the full-band model (the L8 Biome stack): B2-B7 and cirrus B9 as
#: reflectance, thermal B10 as brightness temperature in kelvin.
FULLBAND_BANDS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 9, 10)


#: Bands of the six-band model: B2-B7 reflectance, what every Level-2 product and most
#: TOA stacks carry (no cirrus, no thermal).
SIXBAND_BANDS: tuple[int, ...] = (2, 3, 4, 5, 6, 7)


#: The thermal band read as brightness temperature (TIRS 1).
THERMAL_BAND = 10


#: Band sets a model can be trained on, by the name used on the command line.
BAND_SETS: dict[str, tuple[int, ...]] = {
    "rgbn": MODEL_BANDS,
    "sixband": SIXBAND_BANDS,
    "fullband": FULLBAND_BANDS,
}


def band_set(name: str) -> tuple[int, ...]:
    """Landsat band numbers of a band set (``rgbn``, ``sixband`` or ``fullband``)."""
    try:
        return BAND_SETS[name]
    except KeyError:
        raise ParameterError(f"Unknown band set {name!r}: choose {', '.join(BAND_SETS)}.") from None


def band_names(numbers: Sequence[int]) -> tuple[str, ...]:
    """Checkpoint band names of Landsat band numbers (red, green, blue, nir for B4, B3, B2, B5)."""
    return tuple(LANDSAT_BAND_NAMES[n] for n in numbers)


def band_numbers(names: Sequence[str]) -> tuple[int, ...]:
    """Landsat band numbers of checkpoint band names.

    Raises:
        ParameterError: a name is not a Landsat 8 band.
    """
    numbers = tuple(band_number_from_text(name) for name in names)
    if None in numbers:
        raise ParameterError(
            f"Band names {list(names)} include one that is not a Landsat 8 band: use names "
            f"such as {', '.join(band_names(FULLBAND_BANDS))}."
        )
    return numbers  # type: ignore[return-value]


_NAME_ALIASES: dict[str, int] = {
    "coastal": 1,
    "aerosol": 1,
    "blue": 2,
    "green": 3,
    "red": 4,
    "nir": 5,
    "nearinfrared": 5,
    "swir1": 6,
    "swir2": 7,
    "pan": 8,
    "panchromatic": 8,
    "cirrus": 9,
    "tirs1": 10,
    "thermal": 10,
    "tirs2": 11,
}


_BAND_CODE = re.compile(
    r"(?:^|[^a-z0-9])(?:sr_|st_|toa_)?b(?:and)?[ _-]?0?(\d{1,2})(?=$|[^a-z0-9])"
)


_WORD = re.compile(r"[a-z0-9]+")


def band_number_from_text(text: str) -> int | None:
    """Return the Landsat 8 band number a label names, or None.

    Understands codes ("B4", "b04", "SR_B4", "band 4", file names ending in
    ``_B4.TIF``) and names ("Red", "nir", "Near infrared", "SWIR1").
    """
    lowered = Path(text).stem.lower() if text.lower().endswith((".tif", ".tiff")) else text.lower()
    codes = {int(m) for m in _BAND_CODE.findall(lowered)}
    if len(codes) == 1:
        number = codes.pop()
        return number if number in LANDSAT_BAND_NAMES else None
    if codes:
        return None  # "B2B3B4"-like labels name a stack, not one band
    # Joining words lets "near infrared", "near-infrared" and "swir 1" match one alias.
    words = _WORD.findall(lowered)
    joined = {a + b for a, b in itertools.pairwise(words)}
    found = {_NAME_ALIASES[w] for w in (*words, *joined) if w in _NAME_ALIASES}
    return found.pop() if len(found) == 1 else None
