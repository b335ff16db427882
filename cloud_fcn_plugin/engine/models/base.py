"""Shared pieces of every architecture: the model base class and small layer helpers."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..errors import ParameterError


def scale_channels(channels: int, width: float) -> int:
    """Scale a channel count by a width multiplier, rounding half up, never below 1.

    Args:
        channels: channel count at width 1.0.
        width: multiplier (> 0).

    Returns:
        The scaled channel count.
    """
    return max(1, int(channels * width + 0.5))


def conv_bn_relu(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    dilation: int = 1,
) -> nn.Sequential:
    """Return a 'same'-padded convolution followed by BatchNorm and ReLU.

    The convolution has no bias because the BatchNorm that follows has one.
    """
    padding = dilation * (kernel_size // 2)
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SegmentationModel(nn.Module):
    """Base class: ``forward`` returns logits (N, K, H, W), ``predict`` probabilities.

    K is the number of classes (``out_channels``, 1 for a cloud-only model). One
    channel is a cloud logit (sigmoid); several are class logits (softmax over them).

    Subclasses implement ``logits`` and set ``size_multiple``: the input height and
    width must be multiples of it (the inference engine pads tiles to it).
    """

    size_multiple: ClassVar[int] = 1

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        # Filled in by build_model so training code can write checkpoint metadata.
        self.architecture: str = ""
        self.arch_args: dict = {}

    def check_input_shape(self, x: torch.Tensor) -> None:
        """Raise ParameterError unless ``x`` is (N, in_channels, H, W) with H, W multiples."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ParameterError(
                f"model input must be (N, {self.in_channels}, H, W), got {tuple(x.shape)}; "
                "pass the bands the checkpoint was trained on, in its order."
            )
        height, width = x.shape[-2:]
        if height % self.size_multiple or width % self.size_multiple:
            raise ParameterError(
                f"model input {height}x{width} is not a multiple of {self.size_multiple}; "
                f"pad tiles to a multiple of {self.size_multiple} before calling the model."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (N, K, H, W) for normalised reflectance ``x`` (N, C, H, W)."""
        self.check_input_shape(x)
        return self.logits(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the logits; ``x`` has already been checked."""
        raise NotImplementedError

    @torch.inference_mode()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Return probabilities (N, K, H, W) in eval mode, without autograd.

        One channel: the sigmoid of the cloud logit. Several: softmax over the channels.
        """
        if self.training:
            self.eval()
        logits = self.forward(x)
        return torch.sigmoid(logits) if logits.shape[1] == 1 else torch.softmax(logits, dim=1)
