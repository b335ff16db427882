"""Scene statistics from a cheap pre-pass: what "clear" looks like in this scene.

Fmask's thresholds are relative to the scene: the temperature of its clear land and
clear water, and how cloud-like its clear pixels already score. They are computed once
from a decimated sample (every ``step``-th pixel of every ``step``-th row) and then used
on every strip, so a 7,800² scene streams with flat memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .pixel_tests import potential_cloud, water_test
from .spectral import Bands, hot, visible_mean

#: Fmask's percentiles of clear-land temperature (low, high) and clear-water temperature.
LOW_PERCENTILE, HIGH_PERCENTILE = 17.5, 82.5
#: The dark side of clear land's brightness, what thin cloud is brighter than.
DARK_PERCENTILE = 25.0
#: Fewer clear pixels than this (in the sample) and a percentile is not trusted.
MIN_CLEAR_SAMPLES = 200
#: Fmask adds this to the 82.5th percentile of clear pixels' cloud probability.
THRESHOLD_MARGIN = 0.2


@dataclass(frozen=True)
class SceneStatistics:
    """Scene-relative references; a field is None where the scene or bands do not give it.

    Attributes:
        samples: valid pixels sampled.
        clear_land, clear_water: sampled pixels taken as clear land / clear water.
        clear_source: ``"fmask"`` (not potential cloud, Fmask's way) or ``"given"``
            (a clear mask handed in, e.g. the network's clear pixels).
        t_low, t_high: 17.5th and 82.5th percentiles of clear-land temperature (K).
        t_water: 82.5th percentile of clear-water temperature (K).
        land_brightness: 82.5th percentile of clear land's visible mean reflectance.
        land_brightness_low: its 25th percentile: Fmask's "clear land" still holds thin
            cloud that fails the potential-cloud tests; the dark quarter does not.
        land_hot: 82.5th percentile of clear land's HOT (haze optimised transform).
        land_threshold, water_threshold: Fmask's dynamic cloud-probability thresholds
            (82.5th percentile of clear pixels' probability + 0.2).
        tests_ran: the potential-cloud sub-tests the bands allowed.
    """

    samples: int
    clear_land: int
    clear_water: int
    clear_source: str = "fmask"
    t_low: float | None = None
    t_high: float | None = None
    t_water: float | None = None
    land_brightness: float | None = None
    land_brightness_low: float | None = None
    land_hot: float | None = None
    land_threshold: float | None = None
    water_threshold: float | None = None
    tests_ran: tuple[str, ...] = ()

    @property
    def has_land_temperature(self) -> bool:
        """Whether the clear-land temperature range is known (thermal band, enough clear land)."""
        return self.t_low is not None and self.t_high is not None


def _percentile(values: np.ndarray, q: float) -> float | None:
    values = values[np.isfinite(values)]
    if values.size < MIN_CLEAR_SAMPLES:
        return None
    return float(np.percentile(values, q))


def scene_statistics(
    bands: Bands, valid: np.ndarray | None = None, clear: np.ndarray | None = None
) -> SceneStatistics:
    """Statistics of a scene from its (decimated) pixels.

    Args:
        bands: the sampled pixels (any shape; a flat sample is fine).
        valid: True where the pixel holds data; None: all.
        clear: True where the caller knows the pixel is clear (e.g. the network's
            clear pixels); None: Fmask's way, pixels that fail the potential-cloud test.
    """
    from .probability import land_cloud_probability, water_cloud_probability

    valid = np.ones(np.shape(bands.blue), bool) if valid is None else np.asarray(valid, bool)
    pcp = potential_cloud(bands)
    water = water_test(bands).mask
    is_clear = ~pcp.mask if clear is None else np.asarray(clear, bool)
    # Fmask also keeps dark water (SWIR2 < 0.03) as clear water: glint and haze are not.
    land = valid & is_clear & ~water
    clear_water = valid & is_clear & water
    if bands.swir2 is not None:
        clear_water &= bands.swir2 < 0.03
    stats = SceneStatistics(
        samples=int(valid.sum()),
        clear_land=int(land.sum()),
        clear_water=int(clear_water.sum()),
        clear_source="fmask" if clear is None else "given",
        land_brightness=_percentile(visible_mean(bands)[land], HIGH_PERCENTILE),
        land_brightness_low=_percentile(visible_mean(bands)[land], DARK_PERCENTILE),
        land_hot=_percentile(hot(bands)[land], HIGH_PERCENTILE),
        tests_ran=pcp.ran,
    )
    if bands.temperature is not None:
        t_low = _percentile(bands.temperature[land], LOW_PERCENTILE)
        t_high = _percentile(bands.temperature[land], HIGH_PERCENTILE)
        stats = replace(
            stats,
            t_low=t_low,
            t_high=t_high if t_low is not None else None,
            t_water=_percentile(bands.temperature[clear_water], HIGH_PERCENTILE),
        )
    land_p = _percentile(land_cloud_probability(bands.select(land), stats), HIGH_PERCENTILE)
    water_p = _percentile(
        water_cloud_probability(bands.select(clear_water), stats), HIGH_PERCENTILE
    )
    return replace(
        stats,
        land_threshold=None if land_p is None else land_p + THRESHOLD_MARGIN,
        water_threshold=None if water_p is None else water_p + THRESHOLD_MARGIN,
    )


class StatisticsSampler:
    """Collects a decimated sample strip by strip, then computes :class:`SceneStatistics`.

    Feed it the strips of a pre-pass (or of the network's pass, with its clear mask);
    it keeps every ``step``-th pixel of every ``step``-th scene row, so its memory is
    the scene's size / step².

    Args:
        step: decimation in rows and columns (8 keeps 1/64 of a scene: ~1 M pixels
            of a 7,800² Landsat scene).
    """

    def __init__(self, step: int = 8) -> None:
        self.step = max(1, int(step))
        self._parts: dict[str, list[np.ndarray]] = {}
        self._kind = "brightness"
        self._given_clear: bool | None = None

    def add(
        self,
        bands: Bands,
        valid: np.ndarray,
        row_off: int = 0,
        clear: np.ndarray | None = None,
    ) -> None:
        """Add a strip whose first row is scene row ``row_off``."""
        if self._given_clear is not None and self._given_clear != (clear is not None):
            raise ValueError("give a clear mask with every strip or with none")
        self._given_clear = clear is not None
        first = (-row_off) % self.step
        window = (slice(first, None, self.step), slice(0, None, self.step))
        keep = np.asarray(valid, bool)[window]
        sample = bands.select(window).select(keep)
        self._kind = bands.temperature_kind
        for name in sample.present:
            self._parts.setdefault(name, []).append(getattr(sample, name))
        if clear is not None:
            self._parts.setdefault("_clear", []).append(np.asarray(clear, bool)[window][keep])

    def finish(self) -> SceneStatistics:
        """The statistics of everything added."""
        if "blue" not in self._parts:
            return SceneStatistics(samples=0, clear_land=0, clear_water=0)
        arrays = {name: np.concatenate(parts) for name, parts in self._parts.items()}
        clear = arrays.pop("_clear", None)
        return scene_statistics(Bands.from_mapping(arrays, self._kind), clear=clear)
