"""The ensemble of networks: cloud where either finds it, each at its own threshold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cloud_fcn_plugin.engine.errors import WeightsError
from cloud_fcn_plugin.engine.inference.predictor import Predictor, load_predictor
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.choice import ENSEMBLE_SHORT, bundled_model_path, choose_model
from cloud_fcn_plugin.engine.models.union import (
    UNION_THRESHOLD,
    CloudUnion,
    to_common_threshold,
    union_metadata,
)
from cloud_fcn_plugin.engine.params import ENSEMBLE

SIX = ("blue", "green", "red", "nir", "swir1", "swir2")
FOUR = ("red", "green", "blue", "nir")


class ReadsOneChannel(torch.nn.Module):
    """Logits that are one input channel times a gain: what the member sees is checkable."""

    def __init__(self, channel: int, classes: int = 1, gain: float = 1.0) -> None:
        super().__init__()
        self.channel, self.classes, self.gain = channel, classes, gain
        self.seen: torch.Tensor | None = None

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        self.seen = batch
        value = batch[:, self.channel : self.channel + 1] * self.gain
        if self.classes == 1:
            return value
        # clear, thick, thin, shadow: thick rises with the value, the others stay level
        zeros = torch.zeros_like(value)
        return torch.cat([zeros, value, zeros - 1.0, zeros - 2.0], dim=1)


def meta(bands, classes=("cloud",), threshold=0.5, mean=None, std=None) -> CheckpointMetadata:
    return CheckpointMetadata(
        architecture="unet",
        arch_args={"in_channels": len(bands), "out_channels": len(classes)},
        bands=bands,
        mean=mean or (0.0,) * len(bands),
        std=std or (1.0,) * len(bands),
        threshold=threshold,
        classes=classes,
    )


def test_each_threshold_is_mapped_to_one_half_and_the_ends_stay():
    p = torch.tensor([0.0, 0.15, 0.3, 0.65, 1.0])
    out = to_common_threshold(p, 0.3)
    assert out.tolist() == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    assert torch.all(out[1:] >= out[:-1])


def test_cloud_where_either_member_is_above_its_own_threshold():
    base = meta(SIX, threshold=0.7)
    other = meta(FOUR, threshold=0.2)
    union = CloudUnion([(ReadsOneChannel(0), base, 0.7), (ReadsOneChannel(0), other, 0.2)])
    batch = torch.zeros(3, 6, 1, 1)
    batch[0, 0] = 2.0  # blue: only the base is sure (sigmoid 0.88 >= 0.7)
    batch[1, 2] = -1.0  # red, the other's first band: sigmoid 0.27 >= 0.2, base's 0.5 < 0.7
    batch[2, 2] = -3.0  # nobody: base 0.5 < 0.7, other 0.05 < 0.2
    cloud = union(batch)[:, 0, 0, 0]
    assert (cloud >= UNION_THRESHOLD).tolist() == [True, True, False]


def test_the_other_member_gets_its_own_bands_normalised_its_own_way():
    base = meta(SIX, mean=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6), std=(0.5,) * 6)
    other_model = ReadsOneChannel(0)
    other = meta(FOUR, mean=(0.0, 0.0, 0.0, 0.0), std=(0.25, 0.25, 0.25, 0.25))
    union = CloudUnion([(ReadsOneChannel(0), base, 0.5), (other_model, other, 0.5)])
    reflectance = torch.tensor([0.11, 0.22, 0.33, 0.44, 0.55, 0.66]).view(1, 6, 1, 1)
    mean, std = torch.tensor(base.mean).view(1, 6, 1, 1), torch.tensor(base.std).view(1, 6, 1, 1)
    union((reflectance - mean) / std)
    seen = other_model.seen.flatten()
    expected = torch.tensor([0.33, 0.22, 0.11, 0.44]) / 0.25  # red, green, blue, NIR
    assert seen.tolist() == pytest.approx(expected.tolist(), abs=1e-5)


def test_a_member_with_the_same_bands_but_another_spread_is_rescaled():
    base = meta(SIX, std=(0.5,) * 6)
    other_model = ReadsOneChannel(0)
    union = CloudUnion([(ReadsOneChannel(0), base, 0.5), (other_model, meta(SIX), 0.5)])
    union(torch.full((1, 6, 1, 1), 2.0))  # reflectance 1.0 in the base's normalisation
    assert other_model.seen.flatten().tolist() == pytest.approx([1.0] * 6)


def test_the_base_classes_stay_a_distribution_with_thin_and_shadow_kept():
    classes = ("clear", "thick_cloud", "thin_cloud", "cloud_shadow")
    base = meta(SIX, classes=classes, threshold=0.4)
    union = CloudUnion(
        [
            (ReadsOneChannel(0, classes=4), base, 0.4),
            (ReadsOneChannel(0, gain=5.0), meta(FOUR), 0.5),
        ]
    )
    batch = torch.linspace(-3, 3, 7).view(7, 1, 1, 1).expand(7, 6, 1, 1).clone()
    out = union(batch)
    assert out.shape == (7, 4, 1, 1)
    assert torch.allclose(out.sum(dim=1), torch.ones(7, 1, 1), atol=1e-5)
    assert torch.all(out >= 0)
    probabilities = torch.softmax(ReadsOneChannel(0, classes=4)(batch), dim=1)
    ratio = out[:, 1] / out[:, 2]  # thick : thin as the base has it
    assert torch.allclose(ratio, probabilities[:, 1] / probabilities[:, 2], rtol=1e-4)
    clear_of_cloud = out[:, 1] + out[:, 2] < 0.5
    assert torch.allclose(out[:, 3][clear_of_cloud], probabilities[:, 3][clear_of_cloud])


def test_a_member_reading_a_band_the_base_lacks_is_refused():
    with pytest.raises(WeightsError, match="swir1"):
        CloudUnion([(ReadsOneChannel(0), meta(FOUR), 0.5), (ReadsOneChannel(0), meta(SIX), 0.5)])
    with pytest.raises(WeightsError, match="two"):
        CloudUnion([(ReadsOneChannel(0), meta(SIX), 0.5)])


def test_the_union_metadata_is_the_base_s_at_one_half():
    out = union_metadata(meta(SIX, threshold=0.37), ["a.safetensors", "b.safetensors"])
    assert out.threshold == UNION_THRESHOLD and out.bands == SIX
    assert out.provenance["ensemble"] == ["a.safetensors", "b.safetensors"]


def test_the_bundled_ensemble_loads_and_predicts_between_its_members():
    choice = choose_model(None, ENSEMBLE)
    assert choice.label == ENSEMBLE_SHORT and choice.also == (bundled_model_path("rgbn"),)
    predictor = load_predictor(choice.path, "cpu", also=choice.also)
    assert isinstance(predictor, Predictor) and predictor.metadata.threshold == UNION_THRESHOLD
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(1, 6, 64, 64)).astype(np.float32)
    layers = predictor.predict_tiles(tiles)
    assert layers.shape == (1, len(predictor.layout.layers), 64, 64)
    assert np.all((layers >= 0) & (layers <= 1))
