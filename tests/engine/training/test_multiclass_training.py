"""Training for several classes with partial labels: decoding, augmentation, loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cloud_fcn_plugin.engine.training.augment import AugmentConfig, Patch, augment
from cloud_fcn_plugin.engine.training.datasets import (
    BIOME_CODING,
    CLOUD38_CODING,
    MaskCoding,
)
from cloud_fcn_plugin.engine.training.losses import MultiClassLoss

BIOME_MASK = np.array([[0, 64, 128, 192, 255]], np.uint8)


class TestDecodeClasses:
    def test_biome_labels_shadow_and_thin(self):
        shadow, shadow_known, thin, thin_known = BIOME_CODING.decode_classes(BIOME_MASK)
        assert shadow.tolist() == [[0, 1, 0, 0, 0]]
        assert shadow_known.tolist() == [[0, 1, 1, 1, 1]]  # fill is unknown
        assert thin.tolist() == [[0, 0, 0, 1, 0]]
        assert thin_known.tolist() == [[0, 0, 0, 1, 1]]  # only cloud has a thin share

    def test_a_source_without_shadow_labels_knows_only_its_clouds_are_not_shadow(self):
        mask = np.array([[0, 255]], np.uint8)  # 38-Cloud: clear pixels may be shadow
        shadow, shadow_known, _, thin_known = CLOUD38_CODING.decode_classes(mask)
        assert shadow.tolist() == [[0, 0]]
        assert shadow_known.tolist() == [[0, 1]]
        assert not thin_known.any()

    def test_pairs_coding_with_shadow(self):
        coding = MaskCoding(cloud=(255,), fill=(0,), shadow=(64,))
        shadow, known, _, thin_known = coding.decode_classes(np.array([[0, 64, 128, 255]]))
        assert shadow.tolist() == [[0, 1, 0, 0]]
        assert known.tolist() == [[0, 1, 1, 1]]
        assert not thin_known.any()


class TestAugmentCarriesClasses:
    def test_class_channels_move_with_the_pixels(self):
        rng = np.random.default_rng(0)
        size = 32
        shadow = np.zeros((size, size), np.float32)
        shadow[:, : size // 2] = 1.0  # the left half is shadow, and dark
        reflectance = np.full((4, size, size), 0.3, np.float32)
        reflectance[:, :, : size // 2] = 0.02
        classes = np.stack([shadow, np.ones_like(shadow), np.zeros_like(shadow), shadow * 0])
        patch = Patch(reflectance, np.zeros_like(shadow), np.ones((size, size), bool), "toa",
                      (), classes)
        config = AugmentConfig(gain_toa=(1, 1), band_jitter=0, noise=0, mix_prob=0)
        for _ in range(5):
            out = augment(patch, 24, rng, config)
            dark = out.reflectance[0] < 0.1
            assert np.array_equal(out.classes[0] > 0.5, dark & out.valid)


class TestMultiClassLoss:
    @staticmethod
    def _target(cloud, shadow, shadow_known, thin=0.0, thin_known=0.0):
        planes = [cloud, shadow, shadow_known, thin, thin_known]
        return torch.tensor(planes, dtype=torch.float32).view(1, 5, 1, 1)

    def test_right_answers_cost_less_than_wrong_ones(self):
        loss = MultiClassLoss()
        valid = torch.ones(1, 1, 1, 1)
        shadow_pixel = self._target(0, 1, 1)
        says_shadow = torch.tensor([0.0, 0.0, 0.0, 6.0]).view(1, 4, 1, 1)
        says_clear = torch.tensor([6.0, 0.0, 0.0, 0.0]).view(1, 4, 1, 1)
        assert loss(says_shadow, shadow_pixel, valid) < loss(says_clear, shadow_pixel, valid)

    def test_an_unlabelled_class_is_never_taught_as_clear(self):
        loss = MultiClassLoss()
        valid = torch.ones(1, 1, 1, 1)
        not_cloud_shadow_unknown = self._target(0, 0, 0)
        says_shadow = torch.tensor([0.0, -4.0, -4.0, 6.0]).view(1, 4, 1, 1)
        says_clear = torch.tensor([6.0, -4.0, -4.0, 0.0]).view(1, 4, 1, 1)
        assert loss(says_shadow, not_cloud_shadow_unknown, valid).item() == pytest.approx(
            loss(says_clear, not_cloud_shadow_unknown, valid).item(), abs=0.02
        )

    def test_fill_pixels_cost_nothing_and_gradients_are_finite(self):
        loss = MultiClassLoss()
        logits = torch.randn(2, 4, 8, 8, requires_grad=True)
        target = torch.rand(2, 5, 8, 8)
        value = loss(logits, target, torch.zeros(2, 1, 8, 8))
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
