"""Cloud-Net (Mohajerani & Saeedi, IGARSS 2019), following the authors' Keras code.

A U-Net-like network with three changes: contracting blocks that add a shortcut
(the input concatenated with a 1x1 projection) to two 3x3 convolutions; expanding
blocks that add the matching encoder output and the transposed convolution back;
and "improved feedforward" skips that bring every shallower encoder level, tiled
along channels and max-pooled, to each decoder level.

Layer names follow the Keras functions (contr_arm, imprv_contr_arm, bridge,
conv_block_exp_path[3], add_block_exp_path, improve_ff_block1..4). Differences on
purpose: the output is a logit (no sigmoid), and BatchNorm uses PyTorch defaults.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import SegmentationModel, scale_channels

_BASE_FILTERS = 16


def _bn_relu_conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Sequential:
    # Keras Conv2D keeps its bias even before BatchNorm; so do we, to match.
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ContrArm(nn.Module):
    """contr_arm (and bridge with dropout): relu(conv3(conv3(x)) + cat(x, conv1(x))).

    ``in_channels`` must be ``filters // 2`` so the shortcut has ``filters`` channels.
    """

    def __init__(self, in_channels: int, filters: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv1 = _bn_relu_conv(in_channels, filters)
        # Keras applies the bridge's dropout between the conv and its BatchNorm.
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.bn2 = nn.BatchNorm2d(filters)
        self.shortcut = _bn_relu_conv(in_channels, filters - in_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block output at the input resolution."""
        main = F.relu(self.bn2(self.dropout(self.conv2(self.conv1(x)))))
        return F.relu(main + torch.cat([x, self.shortcut(x)], dim=1))


class ImprvContrArm(nn.Module):
    """imprv_contr_arm: three 3x3 convolutions with two shortcuts (input and 2nd conv)."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.conv1 = _bn_relu_conv(in_channels, filters)
        self.conv2 = _bn_relu_conv(filters, filters)
        self.conv3 = _bn_relu_conv(filters, filters)
        self.shortcut = _bn_relu_conv(in_channels, filters - in_channels, kernel_size=1)
        self.shortcut2 = _bn_relu_conv(filters, filters, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block output at the input resolution."""
        x0 = self.conv2(self.conv1(x))
        shortcut = torch.cat([x, self.shortcut(x)], dim=1)
        return F.relu(self.conv3(x0) + shortcut + self.shortcut2(x0))


def _conv_block_exp_path(in_channels: int, filters: int, convs: int) -> nn.Sequential:
    """conv_block_exp_path (2 convs) or conv_block_exp_path3 (3 convs)."""
    layers = [_bn_relu_conv(in_channels if i == 0 else filters, filters) for i in range(convs)]
    return nn.Sequential(*layers)


def improve_ff(shallower: list[torch.Tensor], pure_ff: torch.Tensor) -> torch.Tensor:
    """improve_ff_block1..4: relu(pure_ff + sum of shallower maps tiled and max-pooled).

    Level ``i`` (closest first) is tiled ``2**(i+1)`` times along channels and pooled
    by ``2**(i+1)``. Pooling before tiling gives the same tensor for less work.
    """
    total = pure_ff
    for level, feature in enumerate(shallower, start=1):
        factor = 2**level
        total = total + F.max_pool2d(feature, factor).repeat(1, factor, 1, 1)
    return F.relu(total)


class ExpandingBlock(nn.Module):
    """One decoder level: transposed conv, concat with improve_ff, convs, add_block_exp_path."""

    def __init__(self, in_channels: int, filters: int, convs: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, filters, kernel_size=2, stride=2)
        self.convs = _conv_block_exp_path(2 * filters, filters, convs)

    def forward(
        self, x: torch.Tensor, same_level: torch.Tensor, shallower: list[torch.Tensor]
    ) -> torch.Tensor:
        """Upsample ``x`` and fuse it with the encoder output ``same_level`` and shallower ones."""
        up = self.up(x)
        skip = improve_ff(shallower, same_level) if shallower else same_level
        y = self.convs(torch.cat([up, skip], dim=1))
        return F.relu(y + same_level + up)


class CloudNet(SegmentationModel):
    """Cloud-Net: 16 base filters doubling to 1024 at the bridge (width 1.0), 5 poolings.

    Args:
        width: multiplier of the base filter count (16); deeper levels double it.
        in_channels: number of input bands.
        out_channels: number of output channels (classes); 1 for a cloud-only model.
    """

    size_multiple = 32

    def __init__(
        self, width: float = 1.0, in_channels: int = 4, out_channels: int = 1
    ) -> None:
        super().__init__(in_channels)
        base = scale_channels(_BASE_FILTERS, width)
        f = [base * 2**i for i in range(7)]  # 16, 32, ..., 1024 at width 1.0
        self.conv_in = nn.Sequential(nn.Conv2d(in_channels, f[0], 3, padding=1), nn.ReLU(True))
        self.contr1 = ContrArm(f[0], f[1])
        self.contr2 = ContrArm(f[1], f[2])
        self.contr3 = ContrArm(f[2], f[3])
        self.contr4 = ContrArm(f[3], f[4])
        self.contr5 = ImprvContrArm(f[4], f[5])
        self.bridge = ContrArm(f[5], f[6], dropout=0.15)
        self.exp7 = ExpandingBlock(f[6], f[5], convs=3)
        self.exp8 = ExpandingBlock(f[5], f[4], convs=2)
        self.exp9 = ExpandingBlock(f[4], f[3], convs=2)
        self.exp10 = ExpandingBlock(f[3], f[2], convs=2)
        self.exp11 = ExpandingBlock(f[2], f[1], convs=2)
        self.head = nn.Conv2d(f[1], out_channels, kernel_size=1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Encode with 5 poolings, decode with Cloud-Net's skips, return logits."""
        c1 = self.contr1(self.conv_in(x))
        c2 = self.contr2(F.max_pool2d(c1, 2))
        c3 = self.contr3(F.max_pool2d(c2, 2))
        c4 = self.contr4(F.max_pool2d(c3, 2))
        c5 = self.contr5(F.max_pool2d(c4, 2))
        c6 = self.bridge(F.max_pool2d(c5, 2))
        y = self.exp7(c6, c5, [c4, c3, c2, c1])
        y = self.exp8(y, c4, [c3, c2, c1])
        y = self.exp9(y, c3, [c2, c1])
        y = self.exp10(y, c2, [c1])
        y = self.exp11(y, c1, [])
        return self.head(y)
