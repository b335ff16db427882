"""Training losses: masked BCE, soft Jaccard, the combined cloud loss."""

from __future__ import annotations

import math

import pytest
import torch

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.training.losses import CloudLoss, masked_bce_loss, soft_jaccard_loss


class TestLosses:
    def test_soft_jaccard_is_zero_for_a_confident_perfect_prediction(self):
        target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
        logits = (target * 2 - 1) * 50
        assert float(soft_jaccard_loss(logits, target, torch.ones_like(target))) < 1e-6

    def test_soft_jaccard_by_hand(self):
        # p = 0.5 everywhere on 4 pixels, 2 cloud: I = 1, U = 2 + 2 - 1 = 3
        target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
        loss = soft_jaccard_loss(torch.zeros_like(target), target, torch.ones_like(target), 0.0)
        assert float(loss) == pytest.approx(1 - 1 / 3)

    @pytest.mark.parametrize("kind", ["jaccard", "bce", "both"])
    def test_nodata_pixels_do_not_count(self, kind):
        loss_fn = CloudLoss(kind)
        target = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
        valid = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
        logits = torch.tensor([[[[2.0, -1.0], [0.3, 0.7]]]])
        changed = logits.clone()
        changed[..., 1, :] = torch.tensor([-9.0, 9.0])
        assert float(loss_fn(logits, target, valid)) == pytest.approx(
            float(loss_fn(changed, target, valid))
        )

    def test_bce_matches_torch_on_valid_pixels(self):
        logits, target = torch.randn(1, 1, 4, 4), (torch.rand(1, 1, 4, 4) > 0.5).float()
        expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        assert float(masked_bce_loss(logits, target, torch.ones_like(target))) == pytest.approx(
            float(expected), rel=1e-6
        )

    def test_all_fill_batch_gives_finite_loss(self):
        zeros = torch.zeros(1, 1, 2, 2)
        assert math.isfinite(float(CloudLoss("both")(zeros, zeros, zeros)))

    def test_label_smoothing_moves_targets_towards_half(self):
        target = torch.ones(1, 1, 2, 2)
        logits = torch.full_like(target, 20.0)
        plain = float(CloudLoss("bce")(logits, target, torch.ones_like(target)))
        smooth = float(CloudLoss("bce", 0.1)(logits, target, torch.ones_like(target)))
        assert smooth > plain

    def test_unknown_loss_raises(self):
        with pytest.raises(ParameterError, match="Unknown loss"):
            CloudLoss("dice")
