"""Scene statistics: percentiles of clear land, and the strip-by-strip sampler."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_fcn_plugin.engine.physics import StatisticsSampler, scene_statistics

from .scenes import field, pixels


def test_clear_land_percentiles_leave_the_cloud_out():
    bands = field(seed=1)
    stats = scene_statistics(bands)
    clear = np.ones(bands.blue.shape, bool)
    clear[24:40, 24:40] = False
    expected = np.percentile(bands.temperature[clear], [17.5, 82.5])
    assert (stats.t_low, stats.t_high) == pytest.approx(tuple(expected), abs=1e-3)
    assert stats.clear_land == clear.sum() and stats.clear_source == "fmask"
    assert stats.land_threshold is not None and stats.has_land_temperature


def test_a_given_clear_mask_replaces_fmasks():
    bands = field(seed=2)
    clear = np.zeros(bands.blue.shape, bool)
    clear[:8] = True
    stats = scene_statistics(bands, clear=clear)
    assert stats.clear_source == "given" and stats.clear_land == clear.sum()


def test_too_little_clear_land_gives_no_temperature_reference():
    stats = scene_statistics(pixels(*["cloud"] * 50, *["vegetation"] * 10))
    assert stats.t_low is None and stats.t_high is None and not stats.has_land_temperature
    assert stats.land_threshold is None


def test_no_thermal_band_gives_no_temperatures_but_the_rest():
    bands = field(seed=3)
    four = bands.select(np.s_[:, :])
    four = type(four)(four.blue, four.green, four.red, four.nir)
    stats = scene_statistics(four)
    assert stats.t_low is None and stats.land_brightness is not None
    assert "bt<27C" not in stats.tests_ran


def test_the_sampler_over_strips_equals_the_decimated_scene():
    bands = field(96, 80, seed=4)
    valid = np.ones(bands.blue.shape, bool)
    valid[:, :5] = False
    sampler = StatisticsSampler(step=3)
    for row in range(0, 96, 20):  # strips whose height is no multiple of the step
        window = np.s_[row:row + 20]
        sampler.add(bands.select(window), valid[window], row_off=row)
    decimated = np.s_[::3, ::3]
    expected = scene_statistics(bands.select(decimated), valid[decimated])
    assert sampler.finish() == expected


def test_an_empty_sampler_gives_empty_statistics():
    stats = StatisticsSampler().finish()
    assert stats.samples == 0 and stats.t_low is None
