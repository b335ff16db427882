"""Spectral indices computed inside the network (engine/models/indices.py)."""

from __future__ import annotations

import pytest
import torch

from cloud_fcn_plugin.engine.bands import SIXBAND_BANDS, band_names
from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.indices import SpectralIndices, index_pairs


class TestIndexPairs:
    def test_six_bands_give_every_index(self):
        bands = band_names(SIXBAND_BANDS)  # blue, green, red, nir, swir1, swir2
        assert index_pairs(bands) == [[1, 4], [3, 2], [1, 3], [4, 5]]

    def test_four_bands_give_only_the_indices_they_can(self):
        assert index_pairs(("red", "green", "blue", "nir")) == [[3, 0], [1, 3]]


class TestSpectralIndices:
    def test_undoes_the_normalisation_then_takes_the_normalised_difference(self):
        mean, std = [0.2, 0.1], [0.1, 0.05]
        layer = SpectralIndices([[0, 1]], mean, std)
        raw = torch.tensor([0.8, 0.1]).view(1, 2, 1, 1)  # snow: bright green, dark SWIR
        x = (raw - torch.tensor(mean).view(1, 2, 1, 1)) / torch.tensor(std).view(1, 2, 1, 1)
        out = layer(x)
        assert out.shape == (1, 3, 1, 1)
        assert torch.equal(out[:, :2], x)
        assert out[0, 2].item() == pytest.approx((0.8 - 0.1) / (0.8 + 0.1), abs=1e-6)

    def test_dark_pixels_stay_bounded(self):
        layer = SpectralIndices([[0, 1]], [0.0, 0.0], [1.0, 1.0])
        out = layer(torch.tensor([0.001, -0.002]).view(1, 2, 1, 1))
        assert -1.0 <= out[0, 2].item() <= 1.0

    @pytest.mark.parametrize("pairs", [[[0, 5]], [[0]], [[-1, 0]]])
    def test_pairs_outside_the_bands_are_refused(self, pairs):
        with pytest.raises(ParameterError, match="pairs|std"):
            SpectralIndices(pairs, [0.0, 0.0], [1.0, 1.0])


class TestUNetWithIndices:
    def test_builds_and_predicts_with_extra_inputs(self):
        model = build_model(
            "unet", width=0.25, in_channels=6, indices=[[1, 4], [3, 2]],
            index_mean=[0.1] * 6, index_std=[0.1] * 6,
        )
        assert model.arch_args["indices"] == [[1, 4], [3, 2]]
        assert model(torch.zeros(1, 6, 32, 32)).shape == (1, 1, 32, 32)

    def test_several_output_channels(self):
        model = build_model("unet", width=0.25, in_channels=4, out_channels=3)
        assert model(torch.zeros(2, 4, 32, 32)).shape == (2, 3, 32, 32)
