"""Per-pixel logistic regression: one 1x1 convolution, the baseline and the test model."""

from __future__ import annotations

import torch
from torch import nn

from .base import SegmentationModel


class PixelLinear(SegmentationModel):
    """Logit = w . x + b at every pixel (one w, b per output channel), with no spatial context.

    Its output is known by arithmetic and it is translation-equivariant, so tests
    of the tiling and blending code can predict the exact result.

    Args:
        width: accepted for a uniform registry signature; ignored.
        in_channels: number of input bands.
        out_channels: number of output channels (classes); 1 for a cloud-only model.
    """

    size_multiple = 1

    def __init__(
        self, width: float = 1.0, in_channels: int = 4, out_channels: int = 1
    ) -> None:
        super().__init__(in_channels)
        self.linear = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=True)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return w . x + b per pixel."""
        return self.linear(x)
