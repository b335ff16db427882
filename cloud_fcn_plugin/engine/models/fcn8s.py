"""FCN-8s (Long, Shelhamer & Darrell, CVPR 2015) on a small VGG-like backbone.

Differences from the paper, on purpose: 'same' padding instead of the 100-pixel
pad and crop, so outputs align with inputs exactly; BatchNorm after each backbone
convolution (VGG-BN), because we train from scratch rather than from ImageNet;
fc6 is a 3x3 convolution instead of 7x7; one output logit for cloud.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import SegmentationModel, conv_bn_relu, scale_channels

# (channels, convolutions) per VGG stage at width 1.0: half of VGG-16's channels.
_STAGES = ((32, 2), (64, 2), (128, 3), (256, 3), (256, 3))
_FC_CHANNELS = 512


def bilinear_kernel(kernel_size: int) -> torch.Tensor:
    """Return the 2-D bilinear interpolation kernel FCN uses to initialise upsampling."""
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    ramp = 1 - (torch.arange(kernel_size, dtype=torch.float32) - center).abs() / factor
    return ramp[:, None] * ramp[None, :]


def _upsampler(scale: int, channels: int) -> nn.ConvTranspose2d:
    """Return a learned per-channel x``scale`` upsampling, initialised as bilinear."""
    up = nn.ConvTranspose2d(
        channels,
        channels,
        kernel_size=2 * scale,
        stride=scale,
        padding=scale // 2,
        groups=channels,
        bias=False,
    )
    with torch.no_grad():
        up.weight.copy_(bilinear_kernel(2 * scale).expand(channels, 1, -1, -1))
    return up


def _vgg_stage(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    layers = [
        conv_bn_relu(in_channels if i == 0 else out_channels, out_channels) for i in range(convs)
    ]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


def _score(in_channels: int, out_channels: int) -> nn.Conv2d:
    # Zero-initialised like the paper's skip scores, so training starts as FCN-32s.
    score = nn.Conv2d(in_channels, out_channels, kernel_size=1)
    nn.init.zeros_(score.weight)
    nn.init.zeros_(score.bias)
    return score


class FCN8s(SegmentationModel):
    """FCN-8s: scores at pool3, pool4 and fc7 fused by 2x, 2x and 8x learned upsampling.

    Args:
        width: channel multiplier of the backbone and fc layers.
        in_channels: number of input bands.
        out_channels: number of output channels (classes); 1 for a cloud-only model.
    """

    size_multiple = 32

    def __init__(
        self, width: float = 1.0, in_channels: int = 4, out_channels: int = 1
    ) -> None:
        super().__init__(in_channels)
        channels = [scale_channels(c, width) for c, _ in _STAGES]
        previous = [in_channels, *channels[:-1]]
        stages = [
            _vgg_stage(cin, cout, n)
            for cin, cout, (_, n) in zip(previous, channels, _STAGES, strict=True)
        ]
        self.to_pool3 = nn.Sequential(*stages[:3])
        self.to_pool4 = stages[3]
        self.to_pool5 = stages[4]
        fc = scale_channels(_FC_CHANNELS, width)
        self.fc = nn.Sequential(
            nn.Conv2d(channels[4], fc, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Dropout2d(0.5),
            nn.Conv2d(fc, fc, 1),
            nn.ReLU(inplace=True),
            nn.Dropout2d(0.5),
        )
        self.score_fr = nn.Conv2d(fc, out_channels, kernel_size=1)
        self.score_pool4 = _score(channels[3], out_channels)
        self.score_pool3 = _score(channels[2], out_channels)
        self.upscore2 = _upsampler(2, out_channels)
        self.upscore_pool4 = _upsampler(2, out_channels)
        self.upscore8 = _upsampler(8, out_channels)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Fuse coarse-to-fine: fc7 x2 + pool4, x2 + pool3, x8 to the input size."""
        pool3 = self.to_pool3(x)
        pool4 = self.to_pool4(pool3)
        score = self.score_fr(self.fc(self.to_pool5(pool4)))
        score = self.upscore2(score) + self.score_pool4(pool4)
        score = self.upscore_pool4(score) + self.score_pool3(pool3)
        return self.upscore8(score)
