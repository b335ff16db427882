"""The scene's statistics computed from a decimated sample, strip by strip.

The values themselves are :class:`~.statistics.SceneStatistics`; this module samples
the scene (every ``step``-th pixel of every ``step``-th row) and computes them, with
Fmask's probabilities (:mod:`.probability`) for the dynamic thresholds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .pixel_tests import potential_cloud, water_test
from .probability import land_cloud_probability, water_cloud_probability
from .spectral import Bands, hot, visible_mean
from .statistics import (
    DARK_PERCENTILE,
    HIGH_PERCENTILE,
    LOW_PERCENTILE,
    THRESHOLD_MARGIN,
    SceneStatistics,
    percentile,
)


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
        land_brightness=percentile(visible_mean(bands)[land], HIGH_PERCENTILE),
        land_brightness_low=percentile(visible_mean(bands)[land], DARK_PERCENTILE),
        land_hot=percentile(hot(bands)[land], HIGH_PERCENTILE),
        tests_ran=pcp.ran,
    )
    if bands.temperature is not None:
        t_low = percentile(bands.temperature[land], LOW_PERCENTILE)
        t_high = percentile(bands.temperature[land], HIGH_PERCENTILE)
        stats = replace(
            stats,
            t_low=t_low,
            t_high=t_high if t_low is not None else None,
            t_water=percentile(bands.temperature[clear_water], HIGH_PERCENTILE),
        )
    land_p = percentile(land_cloud_probability(bands.select(land), stats), HIGH_PERCENTILE)
    water_p = percentile(
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
