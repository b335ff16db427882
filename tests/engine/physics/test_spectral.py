"""Bands and spectral indices."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_fcn_plugin.engine.physics import Bands
from cloud_fcn_plugin.engine.physics.spectral import hot, ndsi, ndvi, variability, whiteness

from .scenes import pixels


def test_from_stack_reads_the_engines_band_order_and_ignores_unknown_bands():
    stack = np.arange(5 * 2 * 2, dtype=np.float32).reshape(5, 2, 2)
    bands = Bands.from_stack(stack, ("red", "green", "blue", "nir", "coastal"))
    assert bands.present == ("blue", "green", "red", "nir")
    np.testing.assert_array_equal(bands.red, stack[0])
    assert not (bands.has_swir or bands.has_thermal or bands.has_cirrus)


def test_from_stack_reads_landsat_band_numbers():
    stack = np.ones((8, 3, 3), np.float32)
    bands = Bands.from_stack(stack, (2, 3, 4, 5, 6, 7, 9, 10))
    assert bands.has_swir and bands.has_thermal and bands.has_cirrus


def test_missing_required_band_or_mismatched_shape_is_refused():
    with pytest.raises(ValueError, match="missing"):
        Bands.from_mapping({"red": np.ones(2), "green": np.ones(2), "blue": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        Bands(np.ones(2), np.ones(2), np.ones(2), np.ones(3))


def test_indices_tell_the_surfaces_apart():
    bands = pixels("vegetation", "cloud", "snow", "water")
    veg, cloud, snow, water = range(4)
    index = ndvi(bands)[0]
    assert index[veg] > 0.7 and abs(index[cloud]) < 0.1 and index[water] < 0
    assert ndsi(bands)[0][snow] > 0.8
    assert whiteness(bands)[0][cloud] < 0.05 < whiteness(bands)[0][veg]
    assert hot(bands)[0][cloud] > 0 > hot(bands)[0][veg]
    assert variability(bands)[0][cloud] < 0.3 < variability(bands)[0][veg]


def test_four_bands_give_no_ndsi_and_a_variability_without_it():
    bands = pixels("cloud", "snow", bands=("blue", "green", "red", "nir"))
    assert ndsi(bands) is None
    assert variability(bands).shape == (1, 2)


def test_divisions_by_zero_give_finite_or_explicit_values():
    zero = np.zeros((1, 1), np.float32)
    bands = Bands(zero, zero, zero, zero, swir1=zero)
    assert ndvi(bands)[0, 0] == 0 and ndsi(bands)[0, 0] == 0
    assert np.isinf(whiteness(bands)[0, 0])  # a black pixel is not white
