"""A plain U-Net (Ronneberger et al. 2015): the recipe that generalises best here.

Four poolings, two 3x3 conv + BatchNorm + ReLU per level, transposed-convolution
upsampling and concatenated skips. At width 1.0 the levels carry 16, 32, 64, 128
and 256 channels (about 1.9 M parameters). Cross-validated by biome it beat the
bigger Cloud-Net and the faster CloudFCN-Lite on the shared patches (README,
"Accuracy"), so it is the bundled architecture.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from .base import SegmentationModel, conv_bn_relu, scale_channels
from .indices import SpectralIndices
from .snow_veto import SnowVeto

_CHANNELS = (16, 32, 64, 128, 256)


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        conv_bn_relu(in_channels, out_channels), conv_bn_relu(out_channels, out_channels)
    )


class _Up(nn.Module):
    """Upsample x2 with a transposed convolution, concatenate the skip, double conv."""

    def __init__(self, coarse_channels: int, skip_channels: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(coarse_channels, skip_channels, 2, stride=2)
        self.mix = _double_conv(2 * skip_channels, skip_channels)

    def forward(self, coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        """Return the fused map at the skip's resolution."""
        return self.mix(torch.cat([self.up(coarse), skip], dim=1))


class UNet(SegmentationModel):
    """Plain U-Net with four poolings.

    Args:
        width: channel multiplier of every level (1.0 = 16 channels at full resolution).
        in_channels: number of input bands.
        out_channels: logits per pixel (1: cloud; more: one per class, softmax).
        indices: ``[first, second]`` input channels of spectral indices appended to the
            input (see :mod:`.indices`); needs ``index_mean`` and ``index_std``.
        index_mean: the input normalisation's per-band mean (to undo it for the indices).
        index_std: the input normalisation's per-band standard deviation.
        snow_veto: NDSI above which Fmask's snow test takes the cloud away (see
            :mod:`.snow_veto`); needs ``veto_bands``, ``index_mean`` and ``index_std``.
        veto_bands: input channels of green, NIR and SWIR1 for the veto.
    """

    size_multiple = 16

    def __init__(
        self,
        width: float = 1.0,
        in_channels: int = 4,
        out_channels: int = 1,
        indices: list[list[int]] | None = None,
        index_mean: list[float] | None = None,
        index_std: list[float] | None = None,
        snow_veto: float | None = None,
        veto_bands: list[int] | None = None,
    ) -> None:
        super().__init__(in_channels)
        channels = [scale_channels(c, width) for c in _CHANNELS]
        self.indices = (
            SpectralIndices(indices, index_mean or [], index_std or []) if indices else None
        )
        # The cloud channels of the classes the trainer writes: cloud, or clear, thick
        # cloud, thin cloud, shadow.
        cloud_channels = [0] if out_channels == 1 else [1, 2]
        self.snow_veto = (
            SnowVeto(snow_veto, veto_bands or [], index_mean or [], index_std or [],
                     cloud_channels, clear_channel=None if out_channels == 1 else 0)
            if snow_veto is not None
            else None
        )
        first = in_channels + (self.indices.count if self.indices is not None else 0)
        self.encoders = nn.ModuleList(
            [_double_conv(first, channels[0])]
            + [_double_conv(a, b) for a, b in itertools.pairwise(channels)]
        )
        self.pool = nn.MaxPool2d(2)
        self.decoders = nn.ModuleList(
            [_Up(a, b) for a, b in zip(channels[:0:-1], channels[-2::-1], strict=False)]
        )
        self.head = nn.Conv2d(channels[0], out_channels, 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Encode with four poolings, decode with the skips, one logit per class and pixel."""
        if not (self.training or torch.is_grad_enabled()):
            x = x.contiguous(memory_format=torch.channels_last)
        bands = x
        if self.indices is not None:
            x = self.indices(x)
        skips = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(x if index == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for decoder in self.decoders:
            x = decoder(x, skips.pop())
        logits = self.head(x)
        if self.snow_veto is not None:
            logits = self.snow_veto(bands, logits)
        return logits.contiguous()
