"""CloudFCN-Lite: the small, fast network we bundle and train on a CPU.

Design (measured on a 2-core CPU, see the report in the repository history):

- a space-to-depth stem (PixelUnshuffle 2) so no convolution runs at full resolution
  except the final refinement;
- an encoder of plain 3x3 conv + BatchNorm + ReLU at 1/4, 1/8, 1/16 and 1/32, whose
  last stage uses dilations 2 and 4 for a receptive field of several hundred pixels
  (clouds need context: bright roofs, snow and sand look like cloud pixel by pixel);
- an FPN/U-Net decoder that adds 1x1-projected, nearest-upsampled coarse features to
  each skip and mixes them with one 3x3 conv, back to 1/2 resolution;
- a learned x2 upsampling (1x1 conv + PixelShuffle) and a full-resolution refinement
  conv that also sees the raw bands, so cloud edges stay sharp.

Plain convolutions beat depthwise-separable ones here (same speed, faster to train).
For inference ``logits`` switches to channels-last layout, where oneDNN runs these
small convolutions about twice as fast as in NCHW; for training it stays in NCHW,
because BatchNorm and ReLU backward are several times slower in channels-last.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import SegmentationModel, conv_bn_relu, scale_channels

# Channels at 1/2, 1/4, 1/8, 1/16 and 1/32 resolution at width 1.0.
_CHANNELS = (16, 24, 48, 64, 96)
_UPSAMPLED_CHANNELS = 4
_REFINE_CHANNELS = 8


def _down(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_channels, out_channels, stride=2),
        conv_bn_relu(out_channels, out_channels),
    )


class FuseUp(nn.Module):
    """Decoder step: project the coarse map, upsample x2, add the skip, mix with a 3x3 conv."""

    def __init__(self, coarse_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.lateral = conv_bn_relu(coarse_channels, skip_channels, kernel_size=1)
        self.mix = conv_bn_relu(skip_channels, skip_channels)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Return the fused map at the skip's resolution."""
        up = F.interpolate(self.lateral(coarse), scale_factor=2.0, mode="nearest")
        return self.mix(up + skip)


class CloudFcnLite(SegmentationModel):
    """Small encoder-decoder FCN with a full-resolution edge refinement.

    Args:
        width: channel multiplier of every layer.
        in_channels: number of input bands.
        out_channels: number of output channels (classes); 1 for a cloud-only model.
    """

    size_multiple = 32

    def __init__(
        self, width: float = 1.0, in_channels: int = 4, out_channels: int = 1
    ) -> None:
        super().__init__(in_channels)
        c0, c1, c2, c3, c4 = (scale_channels(c, width) for c in _CHANNELS)
        upsampled = scale_channels(_UPSAMPLED_CHANNELS, width)
        refine = scale_channels(_REFINE_CHANNELS, width)
        self.stem = nn.Sequential(nn.PixelUnshuffle(2), conv_bn_relu(4 * in_channels, c0))
        self.down1 = _down(c0, c1)
        self.down2 = _down(c1, c2)
        self.down3 = _down(c2, c3)
        self.context = nn.Sequential(
            conv_bn_relu(c3, c4, stride=2),
            conv_bn_relu(c4, c4, dilation=2),
            conv_bn_relu(c4, c4, dilation=4),
        )
        self.up3 = FuseUp(c4, c3)
        self.up2 = FuseUp(c3, c2)
        self.up1 = FuseUp(c2, c1)
        self.up0 = FuseUp(c1, c0)
        self.upsample = nn.Sequential(nn.Conv2d(c0, 4 * upsampled, 1), nn.PixelShuffle(2))
        self.refine = nn.Sequential(
            nn.Conv2d(upsampled + in_channels, refine, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(refine, out_channels, 1),
        )

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Encode to 1/32, decode to 1/2, upsample and refine with the raw bands."""
        if not (self.training or torch.is_grad_enabled()):
            x = x.contiguous(memory_format=torch.channels_last)
        s0 = self.stem(x)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        y = self.up3(self.context(s3), s3)
        y = self.up2(y, s2)
        y = self.up1(y, s1)
        y = self.up0(y, s0)
        y = self.refine(torch.cat([self.upsample(y), x], dim=1))
        return y.contiguous()
