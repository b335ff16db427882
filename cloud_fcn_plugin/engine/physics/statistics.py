"""Scene statistics from a cheap pre-pass: what "clear" looks like in this scene.

Fmask's thresholds are relative to the scene: the temperature of its clear land and
clear water, and how cloud-like its clear pixels already score. They are computed once
from a decimated sample (every ``step``-th pixel of every ``step``-th row) and then used
on every strip, so a 7,800² scene streams with flat memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def percentile(values: np.ndarray, q: float) -> float | None:
    values = values[np.isfinite(values)]
    if values.size < MIN_CLEAR_SAMPLES:
        return None
    return float(np.percentile(values, q))
