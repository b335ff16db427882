"""Fmask's per-pixel tests, and how they degrade without SWIR or thermal."""

from __future__ import annotations

import pytest

from cloud_fcn_plugin.engine.physics.pixel_tests import (
    basic_test,
    cirrus_probability,
    potential_cloud,
    snow_test,
    water_test,
)

from .scenes import pixels

FOUR = ("blue", "green", "red", "nir")


def test_potential_cloud_finds_cloud_and_leaves_clear_surfaces():
    names = ("vegetation", "cloud", "snow", "water", "desert")
    mask = potential_cloud(pixels(*names)).mask[0]
    assert dict(zip(names, mask.tolist(), strict=True)) == {
        "vegetation": False, "cloud": True, "snow": False, "water": False, "desert": False,
    }


def test_desert_fails_by_temperature_and_the_nir_swir1_ratio():
    result = basic_test(pixels("desert"))
    assert not result.mask[0, 0] and "bt<27C" in result.ran


def test_water_and_snow_tests():
    bands = pixels("vegetation", "snow", "water", "cloud")
    assert water_test(bands).mask[0].tolist() == [False, False, True, False]
    assert snow_test(bands).mask[0].tolist() == [False, True, False, False]


def test_four_bands_run_what_they_can_and_say_what_they_skipped():
    result = potential_cloud(pixels("cloud", "vegetation", bands=FOUR))
    assert result.mask[0].tolist() == [True, False]
    assert {"ndsi<0.8", "swir2>0.03", "bt<27C", "b5/b6>0.75"} <= set(result.skipped)
    snow = snow_test(pixels("snow", bands=FOUR))
    assert not snow.mask.any() and not snow.ran and "ndsi" in snow.skipped


def test_snow_test_without_thermal_keeps_its_spectral_part():
    snow = snow_test(pixels("snow", bands=(*FOUR, "swir1")))
    assert snow.mask.all() and "bt<3.8C" in snow.skipped


def test_cirrus_probability_is_b9_over_0_04():
    probability = cirrus_probability(pixels("ice_cloud", "vegetation"))[0]
    assert probability.tolist() == pytest.approx([0.06 / 0.04, 0.001 / 0.04], rel=1e-5)
    assert cirrus_probability(pixels("cloud", bands=FOUR)) is None
