"""Networks on one input: cloud wherever any finds it, each at its own threshold.

The 4-band and 6-band models fail in different places on Level-2 products: the 4-band
model calls snow and ice cloud, the 6-band model calls ice cloud (high, cold, NDSI like
snow's) clear. Their union, with the snow veto of the physics stage taking back the
snow, beat both on the Level-2 checks of ``docs/ensemble_cv.md``.

:class:`CloudUnion` is called like a model by the
:class:`~..inference.predictor.Predictor`: it takes the *base* member's normalised
input, feeds the other member the bands it reads (normalised its own way), and returns
per-class probabilities in the base member's channel order. Each member's cloud
probability is first mapped so that its own threshold lands on 0.5
(:func:`to_common_threshold`); the union's threshold is 0.5.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch

from ..classes import ChannelLayout
from ..errors import WeightsError
from .checkpoint_metadata import CheckpointMetadata

#: The union's decision threshold: each member's own threshold is mapped onto it.
UNION_THRESHOLD = 0.5
_CLOUD_CHANNELS = ("cloud", "thick_cloud", "thin_cloud")


def to_common_threshold(prob: torch.Tensor, threshold: float) -> torch.Tensor:
    """Map a probability monotonically so that ``threshold`` becomes 0.5 (0 and 1 stay).

    Piecewise linear: below the threshold scaled onto [0, 0.5], above it onto [0.5, 1].
    A pixel is cloud for the member (p >= threshold) exactly where the result is >= 0.5.
    """
    t = min(max(float(threshold), 1e-6), 1.0 - 1e-6)
    low = prob * (0.5 / t)
    high = 0.5 + (prob - t) * (0.5 / (1.0 - t))
    return torch.where(prob < t, low, high).clamp(0.0, 1.0)


class _Member:
    """One network of the union: the model, its metadata, threshold and input channels."""

    def __init__(
        self,
        model: Any,
        metadata: CheckpointMetadata,
        threshold: float,
        base: CheckpointMetadata,
    ) -> None:
        missing = [band for band in metadata.bands if band not in base.bands]
        if missing:
            raise WeightsError(
                f"an ensemble member reads {', '.join(missing)}, which the base model "
                f"({', '.join(base.bands)}) does not: choose a base that reads every band."
            )
        self.model = model
        self.layout = ChannelLayout(metadata.classes)
        self.threshold = threshold
        self.channels = [base.bands.index(band) for band in metadata.bands]
        # Base-normalised input to this member's: x * scale + shift, per channel.
        base_mean = torch.tensor([base.mean[i] for i in self.channels])
        base_std = torch.tensor([base.std[i] for i in self.channels])
        mean, std = torch.tensor(metadata.mean), torch.tensor(metadata.std)
        self.scale = (base_std / std).view(1, -1, 1, 1)
        self.shift = ((base_mean - mean) / std).view(1, -1, 1, 1)
        self.same_input = (
            self.channels == list(range(len(base.bands)))
            and bool((self.scale == 1).all())
            and not self.shift.any()
        )

    def probabilities(self, batch: torch.Tensor) -> torch.Tensor:
        """Per-channel probabilities (N, K, H, W) of this member's classes."""
        if not self.same_input:
            scale, shift = self.scale.to(batch.device), self.shift.to(batch.device)
            batch = batch[:, self.channels] * scale + shift
        output = self.model(batch).float().to(batch.device)
        if getattr(self.model, "outputs_probabilities", False):
            return output.clamp(0.0, 1.0)
        return torch.softmax(output, dim=1) if self.layout.softmax else torch.sigmoid(output)

    def cloud(self, probabilities: torch.Tensor) -> torch.Tensor:
        """The cloud probability (N, H, W) of :meth:`probabilities`, mapped to 0.5."""
        return to_common_threshold(_cloud_sum(probabilities, self.layout), self.threshold)


class CloudUnion:
    """Networks run on one tile, cloud where any member finds it (see the module docs).

    Args:
        members: ``(model, metadata, threshold)`` per network, the base first: the
            union reads the base's bands and gives its classes (thin cloud, shadow).
    """

    outputs_probabilities = True

    def __init__(self, members: list[tuple[Any, CheckpointMetadata, float]]) -> None:
        if len(members) < 2:
            raise WeightsError("an ensemble needs at least two models.")
        self.base = members[0][1]
        self.layout = ChannelLayout(self.base.classes)
        self.members = [_Member(model, meta, t, self.base) for model, meta, t in members]
        self.size_multiple = math.lcm(
            *(max(int(getattr(m.model, "size_multiple", 1)), 1) for m in self.members)
        )

    @property
    def execution_device(self) -> torch.device:
        """Where the base member runs (an ONNX twin runs on the CPU whatever is asked)."""
        device = getattr(self.members[0].model, "execution_device", None)
        if device is not None:
            return device
        parameter = next(iter(self.members[0].model.parameters()), None)
        return parameter.device if parameter is not None else torch.device("cpu")

    def to(self, device: torch.device | str) -> CloudUnion:
        """Move every member to ``device``."""
        for member in self.members:
            member.model = member.model.to(device)
        return self

    def eval(self) -> CloudUnion:
        """Put every member in inference mode."""
        for member in self.members:
            member.model = member.model.eval()
        return self

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Per-class probabilities (N, K, H, W) of the base's classes for tiles (N, C, H, W)."""
        base, *others = self.members
        probabilities = base.probabilities(batch)
        union = base.cloud(probabilities)
        for member in others:
            union = torch.maximum(union, member.cloud(member.probabilities(batch)))
        return _with_cloud(probabilities, self.layout, union)


def _cloud_channels(layout: ChannelLayout) -> list[int]:
    return [layout.classes.index(c) for c in _CLOUD_CHANNELS if c in layout.classes]


def _cloud_sum(probabilities: torch.Tensor, layout: ChannelLayout) -> torch.Tensor:
    """p_cloud (N, H, W): the cloud channel, or thick + thin."""
    return probabilities[:, _cloud_channels(layout)].sum(dim=1)


def _with_cloud(
    probabilities: torch.Tensor, layout: ChannelLayout, cloud: torch.Tensor
) -> torch.Tensor:
    """Per-channel probabilities whose cloud channels sum to ``cloud`` (N, H, W).

    Thick and thin keep their ratio; shadow keeps its probability where it fits beside
    the cloud; clear takes the rest.
    """
    if not layout.softmax:
        return cloud[:, None]
    out = probabilities.clone()
    channels = _cloud_channels(layout)
    old = _cloud_sum(probabilities, layout)
    ratio = torch.where(old > 1e-6, cloud / old.clamp_min(1e-6), torch.zeros_like(cloud))
    for channel in channels:
        out[:, channel] = probabilities[:, channel] * ratio
    # Where the base saw no cloud at all, the union's cloud goes to its first cloud channel.
    out[:, channels[0]] += torch.where(old > 1e-6, torch.zeros_like(cloud), cloud)
    rest = 1.0 - cloud
    if layout.has_shadow:
        shadow = layout.classes.index("cloud_shadow")
        out[:, shadow] = torch.minimum(probabilities[:, shadow], rest)
        rest = rest - out[:, shadow]
    clear = [i for i, c in enumerate(layout.classes) if c not in (*_CLOUD_CHANNELS, "cloud_shadow")]
    if clear:
        others = probabilities[:, clear].sum(dim=1).clamp_min(1e-6)
        for channel in clear:
            out[:, channel] = probabilities[:, channel] / others * rest
    return out


def union_metadata(base: CheckpointMetadata, names: list[str]) -> CheckpointMetadata:
    """The base member's metadata with the union's threshold and provenance."""
    provenance = {**base.provenance, "ensemble": names}
    return replace(base, threshold=UNION_THRESHOLD, provenance=provenance)
