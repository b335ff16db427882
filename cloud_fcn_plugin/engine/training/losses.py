"""Training losses on logits that ignore nodata pixels.

The soft Jaccard loss is Cloud-Net's (Mohajerani & Saeedi 2019):
``1 - (sum(y p) + s) / (sum(y) + sum(p) - sum(y p) + s)``, summed over the whole
batch so that patches without cloud still contribute their false alarms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ParameterError

LOSSES = ("jaccard", "bce", "both")


def soft_jaccard_loss(
    logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    """Cloud-Net's soft Jaccard loss over the valid pixels of a batch.

    Args:
        logits: raw network output (N, 1, H, W).
        target: cloud probability targets in 0..1, same shape.
        valid: 1 where the pixel counts, 0 on fill, same shape.
        smooth: added to numerator and denominator; keeps an all-clear batch finite.
    """
    prob = torch.sigmoid(logits.float()) * valid
    target = target.float() * valid
    intersection = (prob * target).sum()
    union = prob.sum() + target.sum() - intersection
    return 1.0 - (intersection + smooth) / (union + smooth)


def masked_bce_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    pos_weight: float | None = None,
) -> torch.Tensor:
    """Binary cross-entropy averaged over the valid pixels.

    Args:
        logits: raw network output (N, 1, H, W).
        target: cloud probability targets in 0..1, same shape.
        valid: 1 where the pixel counts, 0 on fill, same shape.
        pos_weight: optional weight of the cloud term (class balance).
    """
    weight = None
    if pos_weight is not None:
        weight = torch.tensor(pos_weight, dtype=torch.float32, device=logits.device)
    per_pixel = F.binary_cross_entropy_with_logits(
        logits.float(), target.float(), reduction="none", pos_weight=weight
    )
    # clamp keeps an all-fill batch at zero loss instead of NaN.
    return (per_pixel * valid).sum() / valid.sum().clamp_min(1.0)


class CloudLoss(nn.Module):
    """Soft Jaccard, BCE, or their sum, with optional label smoothing.

    Label smoothing pulls hard 0/1 targets towards 0.5 by ``label_smoothing / 2``;
    the labels of thin cloud edges are uncertain, so it stops the network
    chasing them with extreme logits.
    """

    def __init__(
        self, kind: str = "both", label_smoothing: float = 0.0, pos_weight: float | None = None
    ) -> None:
        """Choose the loss.

        Args:
            kind: ``jaccard``, ``bce`` or ``both``.
            label_smoothing: 0 (off) to below 1.
            pos_weight: optional weight of the cloud term of the BCE.
        """
        super().__init__()
        if kind not in LOSSES:
            raise ParameterError(f"Unknown loss {kind!r}: choose one of {', '.join(LOSSES)}.")
        if not 0.0 <= label_smoothing < 1.0:
            raise ParameterError(f"Label smoothing must be in [0, 1), got {label_smoothing}.")
        self.kind = kind
        self.label_smoothing = label_smoothing
        self.pos_weight = pos_weight

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Return the scalar loss of a batch."""
        valid = valid.to(logits.dtype if logits.is_floating_point() else torch.float32)
        loss = logits.new_zeros((), dtype=torch.float32)
        if self.kind in ("bce", "both"):
            smoothed = target * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
            loss = loss + masked_bce_loss(logits, smoothed, valid, self.pos_weight)
        if self.kind in ("jaccard", "both"):
            loss = loss + soft_jaccard_loss(logits, target, valid)
        return loss


#: Output channels of a multi-class model, in channel order (``CheckpointMetadata.classes``).
MULTICLASS_CHANNELS = ("clear", "thick_cloud", "thin_cloud", "cloud_shadow")
_CLEAR, _THICK, _THIN, _SHADOW = range(4)


def _masked_bce_of_log_probs(
    log_yes: torch.Tensor, log_no: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """Binary cross-entropy from the log-probabilities of an event and of its complement."""
    per_pixel = -(target * log_yes + (1.0 - target) * log_no)
    return (per_pixel * weight).sum() / weight.sum().clamp_min(1.0)


def _soft_jaccard_of_probs(
    prob: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    prob, target = prob * weight, target * weight
    intersection = (prob * target).sum()
    return 1.0 - (intersection + smooth) / (prob.sum() + target.sum() - intersection + smooth)


class MultiClassLoss(nn.Module):
    """Partial-label loss of a softmax over clear, thick cloud, thin cloud and shadow.

    Each source labels what it labels: every source tells cloud from not cloud; L8
    Biome and the ukis-csmask patches label shadow, L8 Biome thin cloud too. The loss
    is a sum of binary terms on marginals of the softmax, each counted only where its
    label is known, so a class a source does not label is ignored there, never taught
    as clear:

    * cloud (thick + thin) against the cloud target: soft Jaccard + BCE, the cloud-only
      recipe's loss, so the cloud decision trains exactly as before;
    * shadow against its target where shadow is known, BCE + soft Jaccard (shadow is
      rare: the Jaccard term keeps it from being drowned by the clear pixels);
    * thin share of the cloud (thin / (thick + thin)) where thin is known, BCE.

    ``target`` stacks (N, 5, H, W): cloud, shadow, shadow known, thin, thin known.
    """

    def __init__(self, shadow_weight: float = 1.0, thin_weight: float = 0.5) -> None:
        """Weigh the shadow and thin terms against the cloud term."""
        super().__init__()
        self.shadow_weight, self.thin_weight = shadow_weight, thin_weight

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Return the scalar loss of a batch of 4-channel logits."""
        logits = logits.float()
        valid = valid.float()
        cloud, shadow, shadow_known, thin, thin_known = target.float().unbind(1)
        log_total = torch.logsumexp(logits, dim=1)
        log_cloud = torch.logsumexp(logits[:, [_THICK, _THIN]], dim=1)
        log_not_cloud = torch.logsumexp(logits[:, [_CLEAR, _SHADOW]], dim=1)
        log_not_shadow = torch.logsumexp(logits[:, [_CLEAR, _THICK, _THIN]], dim=1)
        weight = valid[:, 0]
        loss = _masked_bce_of_log_probs(
            log_cloud - log_total, log_not_cloud - log_total, cloud, weight
        )
        loss = loss + _soft_jaccard_of_probs(torch.exp(log_cloud - log_total), cloud, weight)
        shadow_weight = weight * shadow_known
        loss = loss + self.shadow_weight * (
            _masked_bce_of_log_probs(
                logits[:, _SHADOW] - log_total, log_not_shadow - log_total, shadow, shadow_weight
            )
            + _soft_jaccard_of_probs(
                torch.exp(logits[:, _SHADOW] - log_total), shadow, shadow_weight
            )
        )
        thin_weight = weight * thin_known
        if bool(thin_weight.any()):
            loss = loss + self.thin_weight * _masked_bce_of_log_probs(
                logits[:, _THIN] - log_cloud, logits[:, _THICK] - log_cloud, thin, thin_weight
            )
        return loss
