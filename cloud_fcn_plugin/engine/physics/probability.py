"""Fmask's cloud probabilities over land and water, relative to the scene's clear pixels.

Zhu & Woodcock (2012): over land, cloud is colder than clear land and spectrally flat;
over water, cloud is colder than clear water and bright in SWIR1. Zhu, Wang & Woodcock
(2015) add the cirrus band's B9/0.04. A term whose band is absent is left out (factor 1),
so a 4-band input gets the spectral-variability probability alone.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .pixel_tests import cirrus_probability
from .spectral import Bands, variability
from .statistics import SceneStatistics

#: Fmask widens the clear-land temperature range by 4 K each side.
TEMPERATURE_MARGIN = 4.0
#: Over water Fmask's temperature probability falls over 4 K below clear water.
WATER_TEMPERATURE_SPAN = 4.0
#: SWIR1 (or NIR without SWIR) reflectance at which a water pixel is surely bright.
WATER_BRIGHTNESS_SCALE = 0.11


def land_temperature_probability(bands: Bands, stats: SceneStatistics) -> np.ndarray | None:
    """(T_high + 4 - T) / ((T_high + 4) - (T_low - 4)), not below 0; None without the range.

    Not clipped above 1, as in Fmask: a very cold cloud scores more than 1 and so passes
    the "probability above 0.99" rule whatever its spectral variability.
    """
    if bands.temperature is None or not stats.has_land_temperature:
        return None
    top = stats.t_high + TEMPERATURE_MARGIN
    span = top - (stats.t_low - TEMPERATURE_MARGIN)
    return np.maximum((top - bands.temperature) / np.float32(span), 0.0).astype(np.float32)


def variability_probability(bands: Bands) -> np.ndarray:
    """1 - max(|NDVI|, |NDSI|, whiteness): spectrally flat pixels score high."""
    return (1.0 - variability(bands)).astype(np.float32)


def land_cloud_probability(bands: Bands, stats: SceneStatistics) -> np.ndarray:
    """Fmask's land cloud probability (temperature x variability, + cirrus)."""
    prob = variability_probability(bands)
    temperature = land_temperature_probability(bands, stats)
    if temperature is not None:
        prob = prob * temperature
    cirrus = cirrus_probability(bands)
    return prob if cirrus is None else prob + cirrus


def water_cloud_probability(bands: Bands, stats: SceneStatistics) -> np.ndarray:
    """Fmask's water cloud probability (temperature x brightness, + cirrus).

    Brightness is SWIR1/0.11 (clear water is black in SWIR1); without SWIR, NIR stands
    in (also near black over clear water, less so over turbid water).
    """
    bright = bands.swir1 if bands.swir1 is not None else bands.nir
    prob = np.clip(bright / np.float32(WATER_BRIGHTNESS_SCALE), 0.0, 1.0).astype(np.float32)
    if bands.temperature is not None and stats.t_water is not None:
        cold = (stats.t_water - bands.temperature) / np.float32(WATER_TEMPERATURE_SPAN)
        prob = prob * np.maximum(cold, 0.0)
    cirrus = cirrus_probability(bands)
    return prob if cirrus is None else prob + cirrus


def local_temperature_background(
    temperature: np.ndarray,
    valid: np.ndarray,
    window: int = 41,
    percentile: float = 80.0,
    step: int = 3,
) -> np.ndarray:
    """The warm background of each pixel: a percentile of temperature in a window.

    Small cumulus are colder than their own surroundings though not colder than the
    whole scene's clear land (a scene spans many kelvin); comparing each pixel with
    its neighbourhood finds them. Computed on a grid decimated by ``step`` (the
    thermal band is 100 m, resampled to 30 m, so nothing is lost), then repeated back.

    Args:
        temperature: (H, W) kelvin. A strip needs ``window // 2`` rows of halo each
            side for the result to match the whole scene's.
        valid: (H, W) True where the pixel holds data; fill does not count.
        window: window side in pixels of the full grid.
        percentile: of the temperatures in the window (80: the warm, clear side).
        step: decimation.
    """
    small = temperature[::step, ::step].astype(np.float32)
    fill = ~np.asarray(valid, bool)[::step, ::step]
    if fill.any():  # give fill the median so it neither warms nor cools the background
        small = np.where(fill, np.median(small[~fill]) if (~fill).any() else 0.0, small)
    size = max(3, (window // step) | 1)
    background = ndimage.percentile_filter(small, percentile, size=size, mode="nearest")
    full = np.repeat(np.repeat(background, step, axis=0), step, axis=1)
    return full[: temperature.shape[0], : temperature.shape[1]]
