"""Product levels and reflectance scaling; the one place where reflectance becomes network input.

Product levels are plain strings: ``"l1"`` (Level-1 digital numbers), ``"toa"``
(top-of-atmosphere reflectance) and ``"sr"`` (Level-2 surface reflectance);
``"auto"`` asks :func:`infer_level` to decide. Whatever the level, the reader turns
pixels into reflectance with one :class:`Scaling` (``DN * gain + offset``, divided by
the sine of the sun elevation for Level-1 with an MTL file), and :func:`normalize`
is the single place where reflectance becomes network input, for inference and
training alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, UnsupportedDataError
from .bands import LEVEL_NAMES, LEVELS, MODEL_BANDS, THERMAL_BAND
from .mtl import MtlMetadata

# Landsat 8 TIRS band 10 constants of every MTL file (RADIANCE_MULT/ADD_BAND_10 and
# K1/K2_CONSTANT_BAND_10), used when a Level-1 product comes without its MTL.
THERMAL_GAIN, THERMAL_OFFSET = 3.342e-4, 0.1


THERMAL_K1, THERMAL_K2 = 774.8853, 1321.0789


# The value of REFLECTANCE_MULT/ADD in every Landsat 8/9 Level-1 MTL file, and the
# Collection 2 Level-2 surface reflectance constants (USGS product guides).
L1_GAIN, L1_OFFSET = 2.0e-5, -0.1


SR_GAIN, SR_OFFSET = 2.75e-5, -0.2
#: Collection 2 Level-2 surface temperature (ST_B10): kelvin = DN * gain + offset.
ST_GAIN, ST_OFFSET = 0.00341802, 149.0


# Integer TOA products (e.g. ESPA, Google Earth Engine exports) store reflectance * 10000.
TOA_INT_GAIN = 1.0e-4


# ----------------------------------------------------------------------- scaling


@dataclass(frozen=True)
class Scaling:
    """How raw pixel values become reflectance: ``(DN * gain + offset) / sin(sun)``.

    Attributes:
        gain: one multiplier per band, in reading order.
        offset: one additive term per band, in reading order.
        sun_elevation: degrees; when set, reflectance is divided by its sine
            (Level-1 with an MTL file). None means no sun-angle correction.
        level: ``"l1"``, ``"toa"`` or ``"sr"``.
        reason: a sentence saying how the level and the scaling were decided.
    """

    gain: tuple[float, ...]
    offset: tuple[float, ...]
    sun_elevation: float | None
    level: str
    reason: str
    thermal: tuple[ThermalBand, ...] = ()

    def __post_init__(self) -> None:
        if any(not 0 <= t.index < len(self.gain) for t in self.thermal):
            raise ParameterError("A thermal band index lies outside the bands read.")

    def select(self, channels: Sequence[int]) -> Scaling:
        """The scaling of some of the bands read, in the order ``channels`` gives them."""
        channels = list(channels)
        thermal = tuple(
            replace(t, index=channels.index(t.index)) for t in self.thermal if t.index in channels
        )
        gain = tuple(self.gain[i] for i in channels)
        offset = tuple(self.offset[i] for i in channels)
        return replace(self, gain=gain, offset=offset, thermal=thermal)


@dataclass(frozen=True)
class ThermalBand:
    """A band read as brightness temperature (kelvin) rather than reflectance.

    ``DN * gain + offset`` of this band is radiance when ``k1`` and ``k2`` are set,
    turned into kelvin by ``k2 / ln(k1 / radiance + 1)``; without them it is kelvin
    already (the L8 Biome stacks). No sun-angle correction applies to it.

    Attributes:
        index: position of the band in reading order.
        k1: the MTL's K1_CONSTANT (W/(m2 sr um)), or None.
        k2: the MTL's K2_CONSTANT (kelvin), or None.
    """

    index: int
    k1: float | None = None
    k2: float | None = None

    def to_kelvin(self, radiance: np.ndarray) -> np.ndarray:
        """Brightness temperature of ``radiance`` (float32, in place where possible)."""
        if self.k1 is None or self.k2 is None:
            return radiance
        # Fill and saturated-dark pixels give radiance <= 0; they are masked later.
        safe = np.maximum(radiance, np.float32(1e-3))
        return (np.float32(self.k2) / np.log1p(np.float32(self.k1) / safe)).astype(np.float32)


def _mtl_values(mtl: MtlMetadata | None, level: str, bands: Sequence[int]):
    """Checked gains and offsets from the MTL for ``level``, or None when it lacks a band."""
    return None if mtl is None else mtl.rescaling(level, bands)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ParameterError(
            f"Unknown product level {level!r}: use one of l1, toa, sr (or auto to detect it)."
        )


def scaling_for(
    level: str,
    band_numbers: Sequence[int] = MODEL_BANDS,
    mtl: MtlMetadata | None = None,
    *,
    dtype: str | np.dtype | None = None,
    celsius: bool = False,
    surface_temperature: bool = False,
) -> Scaling:
    """Return the DN-to-reflectance scaling of a product level.

    Args:
        level: ``"l1"``, ``"toa"`` or ``"sr"``.
        band_numbers: Landsat band numbers in reading order.
        mtl: parsed MTL of the product, if any; its values win over the constants.
        dtype: data type of the raw pixels. An integer TOA raster is taken as
            reflectance * 10000; a floating-point SR raster as reflectance already.
        celsius: a floating-point TOA thermal band holds degrees Celsius, not kelvin.
        surface_temperature: a Level-2 thermal band (ST_B10) is read as surface
            temperature in kelvin. The physics stage asks for it; the networks never
            do: none was trained on surface temperature.
    """
    _check_level(level)
    if THERMAL_BAND in band_numbers:
        return _with_thermal(level, band_numbers, mtl, dtype, celsius, surface_temperature)
    n = len(band_numbers)
    is_float = dtype is not None and np.dtype(dtype).kind == "f"
    from_mtl = _mtl_values(mtl, level, band_numbers)
    if level == "toa":
        if dtype is not None and not is_float:
            return Scaling(
                (TOA_INT_GAIN,) * n,
                (0.0,) * n,
                None,
                level,
                f"TOA reflectance stored as {np.dtype(dtype).name} * 10000: " "scaled by 1e-4",
            )
        return Scaling((1.0,) * n, (0.0,) * n, None, level, "TOA reflectance, used as is")
    if level == "sr":
        if is_float:
            return Scaling(
                (1.0,) * n,
                (0.0,) * n,
                None,
                level,
                "Level-2 surface reflectance stored as floating point, used as is",
            )
        if from_mtl:
            return Scaling(
                *from_mtl,
                None,
                level,
                "Level-2 surface reflectance, scaled with the " "MTL's LEVEL2 REFLECTANCE_MULT/ADD",
            )
        return Scaling(
            (SR_GAIN,) * n,
            (SR_OFFSET,) * n,
            None,
            level,
            "Level-2 surface reflectance without MTL: standard constants " "2.75e-5*DN-0.2",
        )
    if from_mtl and mtl is not None and mtl.sun_elevation is not None:
        return Scaling(
            *from_mtl,
            mtl.sun_elevation,
            level,
            "Level-1 DN, scaled with the MTL's REFLECTANCE_MULT/ADD and sun "
            f"elevation {mtl.sun_elevation:.1f}°",
        )
    return Scaling(
        (L1_GAIN,) * n,
        (L1_OFFSET,) * n,
        None,
        level,
        "Level-1 DN without MTL: standard constants 2e-5*DN-0.1, " "no sun-angle correction",
    )


def _with_thermal(
    level: str,
    band_numbers: Sequence[int],
    mtl: MtlMetadata | None,
    dtype: Any,
    celsius: bool,
    surface_temperature: bool = False,
) -> Scaling:
    """Scaling of a band set that includes the thermal band (the full-band model's)."""
    index = list(band_numbers).index(THERMAL_BAND)
    optical = [b for b in band_numbers if b != THERMAL_BAND]
    base = scaling_for(level, optical, mtl, dtype=dtype)
    is_float = dtype is not None and np.dtype(dtype).kind == "f"
    if level == "toa" and is_float:
        gain, offset, thermal = 1.0, (273.15 if celsius else 0.0), ThermalBand(index)
        reason = "thermal band " + (
            "in degrees Celsius, turned into kelvin" if celsius else "used as kelvin"
        )
    elif level == "l1":
        constants = None if mtl is None else mtl.thermal(THERMAL_BAND)
        if constants is not None:
            gain, offset, k1, k2 = constants
            thermal = ThermalBand(index, k1, k2)
            reason = "thermal band to kelvin with the MTL's RADIANCE_MULT/ADD and K1/K2"
        else:
            gain, offset = THERMAL_GAIN, THERMAL_OFFSET
            thermal = ThermalBand(index, THERMAL_K1, THERMAL_K2)
            reason = "thermal band to kelvin with the standard Landsat 8 constants"
    elif level == "sr" and surface_temperature and not is_float:
        gain, offset, thermal = ST_GAIN, ST_OFFSET, ThermalBand(index)
        reason = "surface temperature (ST_B10) to kelvin: 0.00341802 * DN + 149"
    else:
        raise UnsupportedDataError(
            f"The full-band model needs Level-1 DN or floating-point TOA with B10 in kelvin, not "
            f"{LEVEL_NAMES[level]} stored as {np.dtype(dtype).name if dtype else 'unknown'}: "
            "choose the 4-band model (--model rgbn)."
        )
    gains, offsets = list(base.gain), list(base.offset)
    gains.insert(index, gain)
    offsets.insert(index, offset)
    return Scaling(
        tuple(gains),
        tuple(offsets),
        base.sun_elevation,
        level,
        f"{base.reason}; {reason}",
        (thermal,),
    )


def to_reflectance(
    raw: np.ndarray, scaling: Scaling, channels: Sequence[int] | None = None
) -> np.ndarray:
    """Turn raw pixels (C, H, W) into float32 reflectance.

    Without ``channels`` a writable float32 ``raw`` is converted in place and returned;
    any other array is converted into a new float32 array.

    Args:
        raw: the bands as read.
        scaling: the scaling of the bands converted (of ``channels`` where given).
        channels: convert only these of ``raw``'s bands, in this order.
    """
    picked = list(range(raw.shape[0])) if channels is None else list(channels)
    if raw.ndim != 3 or len(picked) != len(scaling.gain):
        raise ParameterError(
            f"Expected {len(scaling.gain)} bands shaped (C, H, W), got shape {raw.shape}."
        )
    in_place = channels is None and raw.dtype == np.float32 and raw.flags.writeable
    out = raw if in_place else np.empty((len(picked), *raw.shape[1:]), np.float32)
    # Folding the sun-angle division into gain and offset keeps it one pass per band; the
    # first pass reads the raw band itself (no float32 copy first: the same values, in
    # float32 arithmetic either way).
    sun = _sun_divisor(scaling)
    thermal = {t.index: t for t in scaling.thermal}
    for band, (source, gain, offset) in enumerate(
        zip(picked, scaling.gain, scaling.offset, strict=True)
    ):
        divisor = 1.0 if band in thermal else sun
        first = out[band] if in_place else raw[source]
        if gain / divisor != 1.0:
            np.multiply(first, np.float32(gain / divisor), out=out[band], dtype=np.float32)
        elif not in_place:
            out[band] = first
        if offset != 0.0:
            np.add(out[band], np.float32(offset / divisor), out=out[band])
        if band in thermal:
            out[band] = thermal[band].to_kelvin(out[band])
    return out


def _sun_divisor(scaling: Scaling) -> float:
    if scaling.sun_elevation is None:
        return 1.0
    divisor = math.sin(math.radians(scaling.sun_elevation))
    if not math.isfinite(divisor) or divisor <= 0.0:
        raise ParameterError(
            f"Sun elevation {scaling.sun_elevation}° is at or below the horizon: "
            "check the MTL or choose --product toa."
        )
    return divisor


def _check_statistics(channels: int, mean: Sequence[float], std: Sequence[float]) -> None:
    if len(mean) != channels or len(std) != channels:
        raise ParameterError(
            f"The network input needs one mean and one std per band ({channels}), "
            f"got {len(mean)} and {len(std)}: check the checkpoint's statistics."
        )
    if min(std) <= 0:
        raise ParameterError(f"Standard deviations must be positive, got {list(std)}.")


def normalize(
    reflectance: np.ndarray,
    valid: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    *,
    inplace: bool = False,
    thermal: Sequence[int] = (),
) -> np.ndarray:
    """Standardise reflectance per band, ``(x - mean) / std``; fill becomes reflectance 0.

    This is the only place network input is made, for inference and training, so
    both see identical numbers. Fill is given the value of a black pixel, not the
    band mean: the mean (about 0.4) is as bright as cloud, and the network then
    calls the valid pixels along the scene footprint cloud (measured on the bundled
    weights: 34 % of the pixels within 3 px of the fill were cloud against 10 % inside
    the Long Island scene; 18 % with black fill, interior unchanged).

    Args:
        reflectance: float32 array (C, H, W).
        valid: bool array (H, W); False pixels become ``-mean / std`` (reflectance 0).
        mean: one mean per band.
        std: one standard deviation (> 0) per band.
        inplace: overwrite ``reflectance`` instead of allocating a new array.
        thermal: indices of brightness-temperature bands; their fill becomes their
            mean (0 K would be tens of standard deviations away).
    """
    _check_statistics(reflectance.shape[0], mean, std)
    mean_arr = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
    std_arr = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
    out = reflectance if inplace else np.empty(reflectance.shape, dtype=np.float32)
    np.subtract(reflectance, mean_arr, out=out, dtype=np.float32)
    np.divide(out, std_arr, out=out)
    fill = ~valid
    for band, band_fill in zip(out, _fill_values(mean, std, thermal), strict=True):
        band[fill] = band_fill
    return out


def _fill_values(mean: Sequence[float], std: Sequence[float], thermal: Sequence[int]) -> np.ndarray:
    """Network input of fill per band: black for reflectance, the mean for temperature."""
    fill = -np.asarray(mean, np.float64) / np.asarray(std, np.float64)
    fill[list(thermal)] = 0.0
    return fill.astype(np.float32)


@dataclass(frozen=True)
class InputTransform:
    """Raw pixels straight to network input: ``raw * scale + shift``, fill made black.

    This is :func:`to_reflectance` followed by :func:`normalize`, folded into one
    multiply-add per value (the two take six passes over a strip; this takes two,
    and only over the tiles that are predicted).

    Attributes:
        scale: per band (C, 1, 1) float32.
        shift: per band (C, 1, 1) float32.
        fill: per band (C,) float32: the network input of reflectance 0.
        kelvin: ``(band, mean, std)`` of each band whose multiply-add gives
            radiance, to be turned into standardised brightness temperature.
    """

    scale: np.ndarray
    shift: np.ndarray
    fill: np.ndarray
    kelvin: tuple[tuple[ThermalBand, float, float], ...] = ()

    def apply(self, raw: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Return float32 network input (C, H, W) for raw pixels (C, H, W) of any dtype."""
        out = np.empty(raw.shape, np.float32)
        # One pass: numpy casts the raw values while multiplying, without a float copy first.
        np.multiply(raw, self.scale, out=out, casting="unsafe")
        np.add(out, self.shift, out=out)
        for band, mean, std in self.kelvin:
            out[band.index] = (band.to_kelvin(out[band.index]) - np.float32(mean)) / np.float32(std)
        if not valid.all():
            fill = ~valid
            for band, value in zip(out, self.fill, strict=True):
                band[fill] = value
        return out


def input_transform(
    scaling: Scaling, mean: Sequence[float], std: Sequence[float]
) -> InputTransform:
    """Fold a reader's scaling and a checkpoint's statistics into one :class:`InputTransform`.

    Raises:
        ParameterError: band counts differ, a std is not positive, or the sun is
            below the horizon.
    """
    _check_statistics(len(scaling.gain), mean, std)
    divisor = np.full(len(scaling.gain), _sun_divisor(scaling))
    divisor[[t.index for t in scaling.thermal]] = 1.0
    gain = np.asarray(scaling.gain, np.float64) / divisor
    offset = np.asarray(scaling.offset, np.float64) / divisor
    mean_arr, std_arr = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    scale, shift = gain / std_arr, (offset - mean_arr) / std_arr
    kelvin = tuple(t for t in scaling.thermal if t.k1 is not None)
    for band in kelvin:
        # Radiance first; the workers turn it into standardised kelvin.
        scale[band.index], shift[band.index] = gain[band.index], offset[band.index]
    return InputTransform(
        scale=scale.astype(np.float32).reshape(-1, 1, 1),
        shift=shift.astype(np.float32).reshape(-1, 1, 1),
        fill=_fill_values(mean, std, [t.index for t in scaling.thermal]),
        kelvin=tuple((t, float(mean_arr[t.index]), float(std_arr[t.index])) for t in kelvin),
    )


# --------------------------------------------------------------- level inference

_NAME_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"(^|_)sr_b\d|_l2s[pr]_", re.I), "sr", "Level-2 surface reflectance"),
    (re.compile(r"_toa([._]|$)", re.I), "toa", "TOA reflectance"),
    (re.compile(r"_l1(tp|gt|gs)_", re.I), "l1", "Level-1 DN"),
    (re.compile(r"^l[co][89]\d{13}[a-z]{3}\d{2}_b\d{1,2}\.tiff?$", re.I), "l1", "Level-1 DN"),
)


_OVERRIDE = "set the product level (l1, toa or sr) if this is wrong"


def _level_from_names(names: Sequence[str]) -> tuple[str, str] | None:
    for pattern, level, label in _NAME_RULES:
        for name in names:
            base = Path(name).name
            if pattern.search(base):
                return level, f"{label}, from the file name {base}"
    return None


def _level_from_values(dtype: np.dtype, sample: np.ndarray) -> tuple[str, str]:
    if dtype.kind == "f":
        return "toa", f"TOA reflectance, because the pixels are {dtype.name}"
    values = sample[sample != 0]
    if values.size == 0:
        return "l1", f"Level-1 DN, because the pixels are {dtype.name} (the sample was all fill)"
    top, median = float(values.max()), float(np.median(values))
    # Landsat 8 DN for zero reflectance is 5000 (L1) or 7273 (L2), so a median far
    # below that only fits reflectance * 10000.
    if top <= 12000 and median < 4500:
        return "toa", (
            f"TOA reflectance * 10000, because the {dtype.name} pixels peak at "
            f"{top:.0f} with median {median:.0f}"
        )
    return "l1", (
        f"Level-1 DN, because the pixels are {dtype.name} with values up to " f"{top:.0f}"
    )


def infer_level(
    dtype: str | np.dtype, sample: np.ndarray, names: Sequence[str] = ()
) -> tuple[str, str]:
    """Guess the product level of a raster; return ``(level, reason)``.

    File names decide first (``SR_B4``/``_L2SP_`` -> sr, ``_toa`` -> toa,
    ``_L1TP_`` or a pre-collection ``LC8...LGN00_B4`` -> l1), unless they say
    Level-1 for floating-point pixels. Otherwise the data type and the value range of
    the non-zero pixels in ``sample`` decide. The reason ends with how to override.
    """
    dtype = np.dtype(dtype)
    by_name = _level_from_names(names)
    if by_name and not (by_name[0] == "l1" and dtype.kind == "f"):
        level, why = by_name
    else:
        level, why = _level_from_values(dtype, np.asarray(sample))
        if by_name:
            why += f" (the file name suggests {LEVEL_NAMES[by_name[0]]})"
    return level, f"{why}; {_OVERRIDE}."
