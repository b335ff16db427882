"""Spectral indices as extra network inputs: the physics Fmask tests on, computed in the model.

Fmask (Zhu & Woodcock 2012) tells snow from cloud by the normalised difference snow
index (green against SWIR1: snow is bright in green and dark in SWIR1, cloud is bright
in both), water by NDVI and NIR, and cloud by its flat, bright spectrum. A network can
in principle learn these ratios, but with a few dozen labelled patches it does not: a
ratio is invariant to brightness, so it carries over to snow fields, illumination and
products it has never seen. The indices are computed inside the model from the
normalised input (the normalisation is undone first), so every caller (the engine,
training, an ONNX export) sees a plain band stack.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ParameterError

#: (name, first band, second band): index = (first - second) / (first + second).
INDEX_DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    ("ndsi", "green", "swir1"),  # snow and ice: high; cloud: near zero
    ("ndvi", "nir", "red"),  # vegetation: high; cloud, snow, water: near zero or below
    ("ndwi", "green", "nir"),  # open water: high
    ("swir_ratio", "swir1", "swir2"),  # ice cloud against warm, dark ground
)
# Keeps the ratio finite and quiet over dark pixels (water, shadow, fill).
_DENOMINATOR_FLOOR = 0.05


def index_pairs(bands: Sequence[str]) -> list[list[int]]:
    """Channel positions ``[first, second]`` of every index the bands allow.

    Args:
        bands: the model's band names in input order (``red``, ``swir1``...).
    """
    position = {name: i for i, name in enumerate(bands)}
    return [
        [position[a], position[b]]
        for _, a, b in INDEX_DEFINITIONS
        if a in position and b in position
    ]


class SpectralIndices(nn.Module):
    """Append normalised-difference indices of the raw reflectance to the input.

    Args:
        pairs: ``[first, second]`` input channel positions of each index.
        mean: per-channel mean of the normalisation the input went through.
        std: per-channel standard deviation of that normalisation.
    """

    def __init__(
        self, pairs: Sequence[Sequence[int]], mean: Sequence[float], std: Sequence[float]
    ) -> None:
        super().__init__()
        channels = len(mean)
        if len(std) != channels or any(float(s) <= 0 for s in std):
            raise ParameterError("index normalisation needs one positive std per input channel.")
        flat = [int(i) for pair in pairs for i in pair]
        if any(len(pair) != 2 for pair in pairs) or any(not 0 <= i < channels for i in flat):
            raise ParameterError(f"index channel pairs {list(pairs)} do not fit {channels} bands.")
        self.register_buffer("first", torch.tensor([int(p[0]) for p in pairs], dtype=torch.long))
        self.register_buffer("second", torch.tensor([int(p[1]) for p in pairs], dtype=torch.long))
        shape = (1, channels, 1, 1)
        self.register_buffer("mean", torch.tensor([float(m) for m in mean]).view(shape))
        self.register_buffer("std", torch.tensor([float(s) for s in std]).view(shape))

    @property
    def count(self) -> int:
        """Number of indices appended."""
        return int(self.first.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x`` with one index channel per pair appended (values in -1..1)."""
        raw = x * self.std + self.mean
        a, b = raw[:, self.first], raw[:, self.second]
        denominator = (a.abs() + b.abs()).clamp_min(_DENOMINATOR_FLOOR)
        return torch.cat([x, ((a - b) / denominator).clamp(-1.0, 1.0)], dim=1)
