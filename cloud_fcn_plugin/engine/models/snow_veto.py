"""Fmask's snow test as a veto on the network's cloud: snow is never cloud.

Zhu & Woodcock (2012) call a pixel snow where NDSI (green against SWIR1) is high and
NIR and green are bright. Snow and ice are as bright as cloud in red, green, blue and
NIR but dark in SWIR1; a network trained on three snow patches does not learn that for
snow it has never seen, and held out by biome it calls every snow patch cloud. The
veto takes the cloud away where the test holds, whatever the network says.

NDSI alone does not separate snow from ice cloud: on the L8 Biome patches a whole
Forest patch of thick ice cloud has NDSI 0.54-0.62, an Urban one too (brightness
temperature 235 K), and a veto on NDSI alone cleared them (cross-validated Forest
Jaccard 93 -> 52). What does separate them is SWIR1 itself: snow absorbs at 1.6 um
(SWIR1 reflectance median 0.08 on the Biome snow), ice cloud still scatters (0.13-0.21).
So snow here also needs SWIR1 below 0.1. The NDSI threshold is the checkpoint's
(``snow_veto``); the README says how the rule was measured under cross-validation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ParameterError

#: What the veto subtracts from the cloud logits of a snow pixel: its cloud
#: probability becomes negligible (e^-60) without an infinity an export would carry.
_VETO_LOGIT = 60.0
# NIR and green brighter than this (reflectance) for snow, as in Fmask; SWIR1 darker.
NIR_MIN, GREEN_MIN, SWIR1_MAX = 0.11, 0.10, 0.10


class SnowVeto(nn.Module):
    """Lower the cloud logits of pixels that pass Fmask's snow test.

    Args:
        ndsi_min: NDSI above which a bright pixel is snow.
        bands: input channel positions of green, NIR and SWIR1.
        mean: the input normalisation's per-channel mean (to undo it).
        std: the input normalisation's per-channel standard deviation.
        cloud_channels: output channels that are cloud (lowered where snow).
        clear_channel: the output channel that takes the cloud's probability over
            (a softmax model's "clear"), or None for a one-channel cloud model.
    """

    def __init__(
        self,
        ndsi_min: float,
        bands: Sequence[int],
        mean: Sequence[float],
        std: Sequence[float],
        cloud_channels: Sequence[int],
        clear_channel: int | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < float(ndsi_min) < 1.0:
            raise ParameterError(f"snow_veto NDSI {ndsi_min} must be between 0 and 1.")
        if len(bands) != 3 or not all(0 <= int(b) < len(mean) for b in bands):
            raise ParameterError(f"snow_veto bands {list(bands)} must be green, NIR, SWIR1.")
        self.ndsi_min = float(ndsi_min)
        self.green, self.nir, self.swir1 = (int(b) for b in bands)
        self.cloud_channels = [int(c) for c in cloud_channels]
        self.clear_channel = clear_channel
        # Not persistent: the veto has no weights, so a checkpoint trained without it
        # loads into a model with it.
        self.register_buffer("mean", torch.tensor([float(m) for m in mean]), persistent=False)
        self.register_buffer("std", torch.tensor([float(s) for s in std]), persistent=False)

    def _raw(self, x: torch.Tensor, channel: int) -> torch.Tensor:
        return x[:, channel] * self.std[channel] + self.mean[channel]

    def snow(self, x: torch.Tensor) -> torch.Tensor:
        """Boolean (N, H, W): where the normalised input ``x`` passes the snow test."""
        green, nir, swir1 = (self._raw(x, c) for c in (self.green, self.nir, self.swir1))
        ndsi = (green - swir1) / (green.abs() + swir1.abs()).clamp_min(1e-6)
        return (ndsi > self.ndsi_min) & (nir > NIR_MIN) & (green > GREEN_MIN) & (swir1 < SWIR1_MAX)

    def forward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """Return ``logits`` with the cloud of snow pixels of ``x`` given to clear.

        With a clear channel, its logit becomes the log-sum of itself and the cloud
        channels, so the pixel's cloud probability moves to clear alone and its shadow
        probability stays what the network said.
        """
        snow = self.snow(x).unsqueeze(1)
        channels = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
        channels[self.cloud_channels] = True
        vetoed = torch.where(snow & channels.view(1, -1, 1, 1), logits - _VETO_LOGIT, logits)
        if self.clear_channel is None:
            return vetoed
        clear = self.clear_channel
        merged = torch.logsumexp(logits[:, [clear, *self.cloud_channels]], dim=1, keepdim=True)
        new_clear = torch.where(snow, merged, logits[:, clear : clear + 1])
        return torch.cat([vetoed[:, :clear], new_clear, vetoed[:, clear + 1 :]], dim=1)
