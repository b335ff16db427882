"""Training augmentation: flips, crops, pasting, brightness, the whole chain."""

from __future__ import annotations

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.training.augment import (
    AugmentConfig,
    Patch,
    augment,
    flip_rotate,
    paste,
    radiometric,
    random_crop,
)


def _patch(size: int = 32, seed: int = 0, product: str = "toa") -> Patch:
    rng = np.random.default_rng(seed)
    reflectance = rng.uniform(0.0, 0.5, (4, size, size)).astype(np.float32)
    target = (reflectance[0] > 0.25).astype(np.float32)
    return Patch(reflectance, target, np.ones((size, size), bool), product)


class TestAugment:
    def test_flips_and_rotations_move_image_and_mask_together(self):
        patch = _patch()
        config = AugmentConfig()
        for seed in range(8):
            out = flip_rotate(patch, np.random.default_rng(seed), config)
            assert np.array_equal(out.target, (out.reflectance[0] > 0.25).astype(np.float32))

    def test_area_downsampling_keeps_cloud_fraction(self):
        patch = _patch(64)
        out = random_crop(patch, 32, np.random.default_rng(0), scale=2.0)
        assert out.reflectance.shape == (4, 32, 32)
        assert out.valid.all()
        assert out.target.mean() == pytest.approx(patch.target.mean(), abs=1e-5)
        assert out.reflectance.mean() == pytest.approx(patch.reflectance.mean(), abs=1e-5)

    def test_small_source_is_padded_with_fill(self):
        out = random_crop(_patch(32), 48, np.random.default_rng(0))
        assert out.reflectance.shape == (4, 48, 48)
        assert out.valid[:32, :32].all() and not out.valid[32:].any()
        assert not out.reflectance[:, 32:].any()

    def test_paste_copies_real_pixels_with_their_labels(self):
        target, donor = _patch(seed=1), _patch(seed=2)
        out = paste(target, donor, np.random.default_rng(3))
        changed = np.any(out.reflectance != target.reflectance, axis=0)
        assert changed.any()
        assert np.array_equal(out.reflectance[:, changed], donor.reflectance[:, changed])
        assert np.array_equal(out.target[changed], donor.target[changed])
        # Only one class of the donor is pasted at a time.
        assert len(np.unique(donor.target[changed])) == 1

    def test_gain_ranges_follow_the_product(self):
        config = AugmentConfig(gain_toa=(0.5, 0.5), gain_l1=(2.0, 2.0), band_jitter=0, noise=0)
        toa = radiometric(_patch(product="toa"), np.random.default_rng(0), config)
        l1 = radiometric(_patch(product="l1"), np.random.default_rng(0), config)
        assert np.allclose(toa.reflectance, _patch().reflectance * 0.5, atol=1e-6)
        assert np.allclose(l1.reflectance, _patch().reflectance * 2.0, atol=1e-6)

    def test_surface_like_input_loses_a_rayleigh_path_radiance_in_the_visible(self):
        patch = _patch()  # red, green, blue, NIR
        config = AugmentConfig(
            gain_toa=(1.0, 1.0), band_jitter=0, noise=0, surface_prob=1.0,
            surface_channels=(2, 1, 0),
        )  # fmt: skip
        out = radiometric(patch, np.random.default_rng(0), config)
        taken = (patch.reflectance - out.reflectance)[:, 0, 0]
        blue = taken[2]
        assert 0.02 <= blue <= 0.08
        assert taken[1] == pytest.approx(0.54 * blue, abs=1e-6)  # green
        assert taken[0] == pytest.approx(0.29 * blue, abs=1e-6)  # red
        assert taken[3] == 0.0  # NIR keeps its light

    def test_surface_prob_zero_draws_nothing_so_older_recipes_keep_their_sequence(self):
        config = AugmentConfig()
        with_channels = AugmentConfig(surface_channels=(2, 1, 0))
        a = radiometric(_patch(), np.random.default_rng(4), config)
        b = radiometric(_patch(), np.random.default_rng(4), with_channels)
        assert np.array_equal(a.reflectance, b.reflectance)

    def test_radiometry_leaves_fill_at_zero(self):
        patch = _patch()
        valid = patch.valid.copy()
        valid[:5] = False
        patch = Patch(patch.reflectance * valid, patch.target, valid)
        out = radiometric(patch, np.random.default_rng(0), AugmentConfig())
        assert not out.reflectance[:, :5].any()

    def test_off_only_crops(self):
        patch = _patch(32)
        out = augment(patch, 32, np.random.default_rng(0), AugmentConfig.off(), _patch(seed=5))
        assert np.array_equal(out.reflectance, patch.reflectance)
        assert np.array_equal(out.target, patch.target)

    def test_bad_range_raises(self):
        with pytest.raises(ParameterError, match="gain_toa"):
            AugmentConfig(gain_toa=(1.2, 0.5))
