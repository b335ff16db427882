"""Fusion steps and the physics-only mask."""

from __future__ import annotations

import numpy as np

from cloud_fcn_plugin.engine.physics import (
    PHYSICS_CLEAR,
    PHYSICS_CLOUD,
    PHYSICS_NODATA,
    PHYSICS_SNOW,
    PHYSICS_WATER,
    Bands,
    FusionSettings,
    fuse,
    local_temperature_background,
    physics_mask,
    scene_statistics,
)
from cloud_fcn_plugin.engine.physics.fusion import (
    cirrus_boost,
    local_contrast_cloud,
    snow_veto,
    thermal_veto,
)

from .scenes import field, pixels


def reference():
    """Statistics of a vegetated scene, 290-300 K."""
    return scene_statistics(field(seed=5))


def test_thermal_veto_takes_warm_cloud_away_and_keeps_cold_cloud():
    bands = pixels("cloud", "desert")
    prob = np.full((1, 2), 0.9, np.float32)
    out, note = thermal_veto(prob, bands, reference(), offset=0.0, width=1.0)
    assert out[0, 0] > 0.85 and out[0, 1] < 0.01 and "thermal veto" in note


def test_thermal_veto_is_skipped_without_thermal_or_without_clear_land():
    prob = np.full((1, 1), 0.9, np.float32)
    four = pixels("desert", bands=("blue", "green", "red", "nir"))
    out, note = thermal_veto(prob, four, reference())
    assert out is prob and "no thermal band" in note
    cloudy = scene_statistics(pixels(*["cloud"] * 20))
    out, note = thermal_veto(prob, pixels("desert"), cloudy)
    assert out is prob and "too little clear land" in note


def test_bright_guard_spares_bright_warm_pixels_but_not_snow():
    stats = reference()
    bands = pixels("desert", "snow")  # both warmer than this scene's cold cloud bound
    warm = Bands.from_mapping({**{n: getattr(bands, n) for n in bands.present},
                               "temperature": np.full((1, 2), 310.0, np.float32)})
    out, note = thermal_veto(np.full((1, 2), 0.9, np.float32), warm, stats, 0.0, 1.0, 0.3)
    assert out[0, 0] == np.float32(0.9) and out[0, 1] < 0.01 and "brighter" in note


def test_snow_veto_clears_snow_and_spares_ice_cloud_bright_in_cirrus():
    bands = pixels("snow", "ice_cloud", "cloud")
    prob = np.full((1, 3), 0.9, np.float32)
    out, note = snow_veto(prob, bands, ndsi_min=0.4, cirrus_max=0.01)
    assert out[0].tolist() == [0.0, np.float32(0.9), np.float32(0.9)] and "cirrus<0.01" in note
    out, _ = snow_veto(prob, bands, ndsi_min=0.4, cirrus_max=None)
    assert out[0, 1] == 0.0  # without the guard, ice cloud looks like snow


def test_without_cirrus_the_snow_veto_spares_ice_cloud_bright_in_swir1():
    with_b9 = pixels("snow", "ice_cloud", "cloud")
    bands = Bands.from_mapping({n: getattr(with_b9, n) for n in with_b9.present if n != "cirrus"})
    prob = np.full((1, 3), 0.9, np.float32)
    out, note = snow_veto(prob, bands, ndsi_min=0.4, cirrus_max=None, swir1_max=0.11)
    assert out[0].tolist() == [0.0, np.float32(0.9), np.float32(0.9)] and "swir1<0.11" in note


def test_a_pixel_without_a_temperature_is_left_to_the_other_tests():
    bands = pixels("snow", "desert")
    known = {n: getattr(bands, n) for n in bands.present}
    missing = Bands.from_mapping({**known, "temperature": np.full((1, 2), np.nan, np.float32)})
    prob = np.full((1, 2), 0.9, np.float32)
    vetoed, _ = thermal_veto(prob, missing, reference(), offset=0.0, width=1.0)
    assert vetoed.tolist() == prob.tolist()  # no temperature, no thermal evidence
    cleared, _ = snow_veto(prob, missing, ndsi_min=0.4, cirrus_max=None)
    assert cleared[0].tolist() == [0.0, np.float32(0.9)]  # snow by its reflectance alone


def test_cirrus_boost_raises_probability_to_b9_over_scale():
    out, _ = cirrus_boost(np.zeros((1, 2), np.float32), pixels("ice_cloud", "vegetation"), 0.04)
    assert out[0, 0] == 1.0 and out[0, 1] < 0.05


def test_fuse_on_four_bands_changes_nothing_and_says_why():
    bands = pixels("desert", "snow", bands=("blue", "green", "red", "nir"))
    prob = np.full((1, 2), 0.7, np.float32)
    settings = FusionSettings(thermal_offset=0.0, snow_ndsi=0.4, cirrus_scale=0.04,
                              local_contrast=1.0)
    result = fuse(prob, bands, scene_statistics(bands), settings)
    np.testing.assert_array_equal(result.probability, prob)
    assert len(result.notes) == 4 and all("skipped" in n for n in result.notes)


def test_local_contrast_finds_a_cold_cell_in_a_warm_field():
    shape = (64, 64)
    veg = pixels("vegetation")
    hazy = {n: np.full(shape, getattr(veg, n)[0, 0], np.float32) for n in veg.present}
    hazy["blue"] = np.full(shape, 0.1, np.float32)  # HOT just above -0.02: a thin haze
    hazy["temperature"][30:34, 30:34] = 291.0  # 4 K colder than its surroundings
    bands = Bands.from_mapping(hazy)
    valid = np.ones(shape, bool)
    background = local_temperature_background(bands.temperature, valid, window=21, step=1)
    found = local_contrast_cloud(bands, background, contrast=1.0)
    assert found[30:34, 30:34].all() and found.sum() == 16


def test_physics_mask_codes_cloud_snow_water_clear_and_nodata():
    scene = field(seed=7)
    stats = scene_statistics(scene)
    names = ("vegetation", "cloud", "snow", "water", "desert")
    mask, notes = physics_mask(pixels(*names), stats, valid=np.array([[1, 1, 1, 1, 0]], bool))
    assert mask[0].tolist() == [PHYSICS_CLEAR, PHYSICS_CLOUD, PHYSICS_SNOW, PHYSICS_WATER,
                                PHYSICS_NODATA]
    assert notes[0].startswith("potential cloud")


def test_physics_mask_on_four_bands_says_snow_is_not_told_from_cloud():
    four = ("blue", "green", "red", "nir")
    bands = pixels("vegetation", "cloud", bands=four)
    _, notes = physics_mask(bands, scene_statistics(bands))
    assert any("no SWIR1" in n for n in notes)
