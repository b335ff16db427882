"""Synthetic clouds: real spectra through fractal transparency, labels that follow them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from cloud_fcn_plugin.engine.training.augment import AugmentConfig, Patch, augment
from cloud_fcn_plugin.engine.training.synthetic_clouds import (
    LABEL_RAMP,
    add_synthetic_cloud,
    cloud_spectrum,
    cumulus_field,
    fractal_field,
    opacity_map,
)

SIZE = 96
CLOUD_SPECTRUM = np.array([0.55, 0.5, 0.45, 0.6], np.float32)


def clear_patch(classes: bool = False, thermal: tuple[int, ...] = ()) -> Patch:
    """Dark vegetated ground, a strip of fill on the left."""
    bands = 4 + len(thermal)
    reflectance = np.empty((bands, SIZE, SIZE), np.float32)
    reflectance[:4] = np.array([0.04, 0.06, 0.05, 0.3], np.float32)[:, None, None]
    for band in thermal:
        reflectance[band] = 295.0
    valid = np.ones((SIZE, SIZE), bool)
    valid[:, :8] = False
    reflectance[:, ~valid] = 0.0
    labels = None
    if classes:  # shadow and thin cloud both labelled, nothing marked
        labels = np.zeros((4, SIZE, SIZE), np.float32)
        labels[1] = labels[3] = 1.0
    return Patch(
        reflectance, np.zeros((SIZE, SIZE), np.float32), valid, thermal=thermal, classes=labels
    )


def cloudy_donor(bands: int = 4) -> Patch:
    reflectance = np.zeros((bands, SIZE, SIZE), np.float32)
    reflectance[:4] = CLOUD_SPECTRUM[:, None, None]
    return Patch(reflectance, np.ones((SIZE, SIZE), np.float32), np.ones((SIZE, SIZE), bool))


def test_fractal_field_spans_zero_to_one_and_is_seeded() -> None:
    a = fractal_field((64, 80), np.random.default_rng(1))
    b = fractal_field((64, 80), np.random.default_rng(1))
    assert a.shape == (64, 80) and a.min() == 0.0 and a.max() == pytest.approx(1.0)
    np.testing.assert_array_equal(a, b)


def test_opacity_map_has_clear_ground_and_cloud() -> None:
    alpha = opacity_map((SIZE, SIZE), np.random.default_rng(2))
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    assert (alpha == 0).mean() > 0.3 and (alpha > 0.3).any()


def test_cumulus_field_is_many_separate_cells_over_part_of_the_patch() -> None:
    shape = (192, 192)
    alpha = cumulus_field(shape, np.random.default_rng(3))
    np.testing.assert_array_equal(alpha, cumulus_field(shape, np.random.default_rng(3)))
    assert alpha.dtype == np.float32 and alpha.min() >= 0.0 and alpha.max() <= 0.8
    _, cells = ndimage.label(alpha > 0.5 * alpha.max())
    assert cells >= 20  # a field of cells, not one body
    assert 0.1 < (alpha > 0).mean() < 0.95  # ground between and around the cells


def test_cumulus_share_zero_keeps_the_fractal_clouds_and_their_sequence() -> None:
    patch, donor = clear_patch(), cloudy_donor()
    before = add_synthetic_cloud(patch, donor, np.random.default_rng(4))
    same = add_synthetic_cloud(patch, donor, np.random.default_rng(4), cumulus=0.0)
    np.testing.assert_array_equal(before.reflectance, same.reflectance)
    field = add_synthetic_cloud(patch, donor, np.random.default_rng(4), cumulus=1.0)
    _, cells = ndimage.label(field.target > 0.5)
    assert cells >= 10


def test_donor_without_thick_cloud_changes_nothing() -> None:
    patch = clear_patch()
    donor = cloudy_donor()
    donor = Patch(donor.reflectance, np.full((SIZE, SIZE), 0.6, np.float32), donor.valid)
    assert cloud_spectrum(donor) is None
    assert add_synthetic_cloud(patch, donor, np.random.default_rng(0)) is patch


def test_cloud_brightens_towards_the_donor_spectrum_and_is_labelled() -> None:
    patch = clear_patch()
    out = add_synthetic_cloud(patch, cloudy_donor(), np.random.default_rng(3))
    cloud = out.target >= 1.0
    assert cloud.any()
    # Opaque enough to be labelled cloud: much brighter than the ground in the visible bands.
    assert (out.reflectance[0][cloud] > 0.2).mean() > 0.9
    low, _ = LABEL_RAMP
    # Clear where no cloud was blended, or too thin to label: the ground as it was or darker
    # (shadow); never brighter than thin cloud (texture up to 1.15) without being labelled.
    unlabelled = (out.target == 0) & patch.valid
    assert (out.reflectance[0][unlabelled] <= 0.04 + low * 1.15 * CLOUD_SPECTRUM[0]).all()
    assert not out.reflectance[:, ~patch.valid].any() and not out.target[~patch.valid].any()
    np.testing.assert_array_equal(out.valid, patch.valid)


def test_thermal_bands_cool_under_cloud_instead_of_blending() -> None:
    patch = clear_patch(thermal=(4,))
    out = add_synthetic_cloud(patch, cloudy_donor(bands=5), np.random.default_rng(4))
    cloud = (out.target >= 1.0) & patch.valid
    assert (out.reflectance[4][cloud] < 295.0).all()
    assert (out.reflectance[4][cloud] > 250.0).all()


def test_cast_shadow_labelled_where_shadow_is_known_never_on_cloud() -> None:
    out = add_synthetic_cloud(clear_patch(classes=True), cloudy_donor(), np.random.default_rng(5))
    shadow = out.classes[0] > 0
    assert shadow.any()
    assert not (shadow & (out.target >= 0.5)).any()
    # Shadow darkens the ground it is marked on (where no thin cloud brightens it).
    assert np.median(out.reflectance[3][shadow & out.valid & (out.target == 0)]) < 0.3 * 0.9
    # Thin or thick is not known under a synthetic cloud.
    assert not out.classes[3][out.target > 0].any()


class CountingRng:
    """A generator that counts its ``random()`` draws (the steps' coin tosses)."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self.coin_tosses = 0

    def random(self, *args, **kwargs):
        self.coin_tosses += 1
        return self._rng.random(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._rng, name)


def test_probability_zero_tosses_no_coin_so_older_recipes_keep_their_sequence() -> None:
    off = AugmentConfig.off()
    tosses = []
    for probability in (0.0, 0.5):
        rng = CountingRng(6)
        config = replace(off, synthetic_prob=probability)
        augment(clear_patch(), 64, rng, config, donor=cloudy_donor())
        tosses.append(rng.coin_tosses)
    assert tosses == [2, 3]  # scale jitter and mixing; the synthetic cloud only when asked


def test_augment_adds_synthetic_cloud_when_asked() -> None:
    config = replace(AugmentConfig.off(), synthetic_prob=1.0)
    out = augment(clear_patch(), SIZE, np.random.default_rng(7), config, donor=cloudy_donor())
    assert out.target.max() == 1.0
