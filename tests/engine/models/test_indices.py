"""Spectral indices computed inside the network (engine/models/indices.py)."""

from __future__ import annotations

import pytest
import torch

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.indices import SpectralIndices, index_pairs
from cloud_fcn_plugin.engine.scene.bands import SIXBAND_BANDS, band_names


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


class TestSnowVeto:
    @staticmethod
    def _model(out_channels):
        # Normalisation undone to the identity: the input is reflectance itself.
        return build_model(
            "unet", width=0.25, in_channels=6, out_channels=out_channels,
            indices=[[1, 4]], index_mean=[0.0] * 6, index_std=[1.0] * 6,
            snow_veto=0.5, veto_bands=[1, 3, 4],
        ).eval()

    @staticmethod
    def _pixels(green, nir, swir1):
        x = torch.full((1, 6, 32, 32), 0.3)
        x[:, 1], x[:, 3], x[:, 4] = green, nir, swir1
        return x

    def test_snow_is_never_cloud(self):
        model = self._model(1)
        with torch.no_grad():
            snow = torch.sigmoid(model(self._pixels(0.8, 0.7, 0.05)))
        assert float(snow.max()) < 1e-6

    @pytest.mark.parametrize(
        ("green", "nir", "swir1"),
        [(0.6, 0.6, 0.5), (0.61, 0.68, 0.16)],  # water cloud; ice cloud (NDSI 0.58)
    )
    def test_cloud_is_left_to_the_network(self, green, nir, swir1):
        model = self._model(1)
        plain = build_model("unet", width=0.25, in_channels=6, indices=[[1, 4]],
                            index_mean=[0.0] * 6, index_std=[1.0] * 6).eval()
        plain.load_state_dict(model.state_dict())
        cloud = self._pixels(green, nir, swir1)
        with torch.no_grad():
            assert torch.equal(model(cloud), plain(cloud))

    def test_softmax_gives_the_cloud_to_clear_and_keeps_shadow(self):
        model = self._model(4)
        plain = build_model("unet", width=0.25, in_channels=6, out_channels=4,
                            indices=[[1, 4]], index_mean=[0.0] * 6, index_std=[1.0] * 6).eval()
        plain.load_state_dict(model.state_dict())
        snow = self._pixels(0.8, 0.7, 0.05)
        with torch.no_grad():
            vetoed, before = model(snow).softmax(1), plain(snow).softmax(1)
        assert float(vetoed[:, 1:3].max()) < 1e-6
        assert torch.allclose(vetoed[:, 3], before[:, 3], atol=1e-6)
        assert torch.allclose(vetoed[:, 0], before[:, 0] + before[:, 1] + before[:, 2], atol=1e-5)

    def test_a_checkpoint_trained_without_it_loads_into_it(self):
        plain = build_model("unet", width=0.25, in_channels=6, indices=[[1, 4]],
                            index_mean=[0.0] * 6, index_std=[1.0] * 6)
        self._model(1).load_state_dict(plain.state_dict())  # strict: no new weights

    def test_bad_settings_are_refused(self):
        with pytest.raises(ParameterError, match="NDSI"):
            build_model("unet", width=0.25, in_channels=6, indices=[[1, 4]],
                        index_mean=[0.0] * 6, index_std=[1.0] * 6, snow_veto=1.5,
                        veto_bands=[1, 3, 4])
