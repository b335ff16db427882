"""The bands an input has, and the spectral indices Fmask's tests are built on.

Every array here is reflectance (0..~1.2) except ``temperature``, in kelvin. Arrays may
have any shape (a strip (H, W), a flat sample (N,)); all of one :class:`Bands` share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

#: Band names understood by :meth:`Bands.from_stack`, as the engine names Landsat bands.
NAME_ALIASES: dict[str, str] = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "swir1": "swir1",
    "swir2": "swir2",
    "cirrus": "cirrus",
    "tirs1": "temperature",
    "thermal": "temperature",
    "temperature": "temperature",
}
#: Landsat 8/9 band numbers of the fields.
LANDSAT_NUMBERS: dict[int, str] = {
    2: "blue", 3: "green", 4: "red", 5: "nir", 6: "swir1", 7: "swir2", 9: "cirrus",
    10: "temperature",
}


@dataclass(frozen=True)
class Bands:
    """The bands of one window of an input; the optional ones are None where absent.

    Attributes:
        blue, green, red, nir: TOA (or surface) reflectance; always present.
        swir1, swir2, cirrus: reflectance of B6, B7, B9, or None.
        temperature: B10 in kelvin (brightness or surface temperature), or None.
        temperature_kind: ``"brightness"`` (Level-1/TOA B10) or ``"surface"`` (Level-2
            ST_B10); the scene-relative tests use both alike, the absolute ones say so.
    """

    blue: np.ndarray
    green: np.ndarray
    red: np.ndarray
    nir: np.ndarray
    swir1: np.ndarray | None = None
    swir2: np.ndarray | None = None
    cirrus: np.ndarray | None = None
    temperature: np.ndarray | None = None
    temperature_kind: str = "brightness"

    def __post_init__(self) -> None:
        shape = np.shape(self.blue)
        for name in self.present:
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"band {name} has shape {np.shape(getattr(self, name))}, "
                                 f"not {shape}")
        if self.temperature_kind not in ("brightness", "surface"):
            raise ValueError(f"temperature_kind {self.temperature_kind!r}: brightness or surface")

    @classmethod
    def from_stack(
        cls, stack: np.ndarray, names: Sequence[str | int], temperature_kind: str = "brightness"
    ) -> Bands:
        """Build from a (B, ...) array whose bands are named (``"red"``) or numbered (4).

        Names the stage does not use (``coastal``, ``tirs2``) are ignored, so the engine's
        reading order (red, green, blue, NIR; or B2..B10) can be passed as is.
        """
        found: dict[str, np.ndarray] = {}
        for index, name in enumerate(names):
            key = LANDSAT_NUMBERS.get(name) if isinstance(name, int) else NAME_ALIASES.get(name)
            if key is not None:
                found[key] = np.asarray(stack[index], dtype=np.float32)
        return cls.from_mapping(found, temperature_kind)

    @classmethod
    def from_mapping(
        cls, bands: Mapping[str, np.ndarray], temperature_kind: str = "brightness"
    ) -> Bands:
        """Build from ``{"blue": ..., "temperature": ...}``; raises when a required band lacks."""
        missing = [n for n in ("blue", "green", "red", "nir") if n not in bands]
        if missing:
            raise ValueError(f"the physics stage needs blue, green, red and NIR; missing {missing}")
        return cls(**dict(bands), temperature_kind=temperature_kind)

    @property
    def present(self) -> tuple[str, ...]:
        """Names of the bands this input has."""
        return tuple(
            f.name for f in fields(self)
            if f.name != "temperature_kind" and getattr(self, f.name) is not None
        )

    @property
    def has_swir(self) -> bool:
        """SWIR1 and SWIR2 both present."""
        return self.swir1 is not None and self.swir2 is not None

    @property
    def has_thermal(self) -> bool:
        """A temperature band is present."""
        return self.temperature is not None

    @property
    def has_cirrus(self) -> bool:
        """The cirrus band B9 is present."""
        return self.cirrus is not None

    def select(self, index: np.ndarray | tuple | slice) -> Bands:
        """The same bands indexed by ``index`` (a boolean mask, a window of slices)."""
        picked = {name: getattr(self, name)[index] for name in self.present}
        return Bands(**picked, temperature_kind=self.temperature_kind)


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where the sum is not positive (fill, saturated dark pixels)."""
    total = a + b
    out = np.zeros(np.shape(a), np.float32)
    np.divide(a - b, total, out=out, where=total > 0)
    return out


def ndvi(bands: Bands) -> np.ndarray:
    """Normalised difference vegetation index (NIR, red)."""
    return normalized_difference(bands.nir, bands.red)


def ndsi(bands: Bands) -> np.ndarray | None:
    """Normalised difference snow index (green, SWIR1); None without SWIR1."""
    return None if bands.swir1 is None else normalized_difference(bands.green, bands.swir1)


def visible_mean(bands: Bands) -> np.ndarray:
    """Mean of blue, green and red: the brightness the whiteness test divides by."""
    return (bands.blue + bands.green + bands.red) / np.float32(3.0)


def whiteness(bands: Bands) -> np.ndarray:
    """Fmask's whiteness: sum |band - mean| / mean over the visible bands (0 = grey)."""
    mean = visible_mean(bands)
    spread = np.abs(bands.blue - mean) + np.abs(bands.green - mean) + np.abs(bands.red - mean)
    out = np.full(np.shape(mean), np.float32(np.inf))  # a black pixel is not white
    np.divide(spread, mean, out=out, where=mean > 0)
    return out


def hot(bands: Bands) -> np.ndarray:
    """Haze optimised transform, Fmask's form: blue - 0.5 red - 0.08 (> 0: haze or cloud)."""
    return bands.blue - np.float32(0.5) * bands.red - np.float32(0.08)


def nir_swir1_ratio(bands: Bands) -> np.ndarray | None:
    """B5/B6 (NIR/SWIR1): bright rock and sand lie below 0.75, cloud above; None without SWIR1."""
    if bands.swir1 is None:
        return None
    out = np.full(np.shape(bands.nir), np.float32(np.inf))
    np.divide(bands.nir, bands.swir1, out=out, where=bands.swir1 > 0)
    return out


def variability(bands: Bands) -> np.ndarray:
    """Fmask's spectral variability max(|NDVI|, |NDSI|, whiteness), clipped to [0, 1].

    Clouds are flat across the spectrum, so a low value is cloud-like. Without SWIR1 the
    NDSI term is left out.
    """
    terms = [np.abs(ndvi(bands)), np.minimum(whiteness(bands), np.float32(1.0))]
    snow = ndsi(bands)
    if snow is not None:
        terms.append(np.abs(snow))
    return np.clip(np.maximum.reduce(terms), 0.0, 1.0).astype(np.float32)
