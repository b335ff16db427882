"""Tests of the architectures and the registry that builds them."""

from __future__ import annotations

import pytest
import torch

from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.models import SegmentationModel, available_models, build_model
from cloud_fcn_plugin.engine.models.base import scale_channels
from cloud_fcn_plugin.engine.models.fcn8s import bilinear_kernel

# Small widths keep Cloud-Net (36 M parameters at width 1.0) fast enough for CI.
WIDTHS = {"cloudnet": (0.125, 0.25), "fcn8s": (0.125, 0.25)}
DEFAULT_WIDTHS = (0.25, 0.5)


def _param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _cases() -> list[tuple[str, float]]:
    return [(n, w) for n in available_models() for w in WIDTHS.get(n, DEFAULT_WIDTHS)]


class TestRegistry:
    def test_names(self) -> None:
        assert available_models() == ["cloudfcn_lite", "cloudnet", "fcn8s", "pixel_linear", "unet"]

    def test_unknown_name_lists_available(self) -> None:
        with pytest.raises(ParameterError, match=r"unknown model 'segnet'.*cloudfcn_lite.*unet"):
            build_model("segnet")

    @pytest.mark.parametrize("width", [0, -1.0, float("nan"), float("inf"), "1", True])
    def test_bad_width(self, width: object) -> None:
        with pytest.raises(ParameterError, match="width"):
            build_model("cloudfcn_lite", width=width)  # type: ignore[arg-type]

    @pytest.mark.parametrize("in_channels", [0, -3, 2.0])
    def test_bad_in_channels(self, in_channels: object) -> None:
        with pytest.raises(ParameterError, match="in_channels"):
            build_model("pixel_linear", in_channels=in_channels)  # type: ignore[arg-type]

    def test_unknown_kwarg(self) -> None:
        with pytest.raises(ParameterError, match="does not take depth"):
            build_model("fcn8s", depth=3)

    def test_records_arch_args(self) -> None:
        model = build_model("cloudfcn_lite", width=0.5, in_channels=3)
        assert model.architecture == "cloudfcn_lite"
        assert model.arch_args == {"width": 0.5, "in_channels": 3}
        assert model.training


class TestScaleChannels:
    @pytest.mark.parametrize(
        ("channels", "width", "expected"),
        [(16, 1.0, 16), (16, 0.5, 8), (24, 0.25, 6), (3, 0.5, 2), (16, 0.01, 1), (10, 1.25, 13)],
    )
    def test_rounding(self, channels: int, width: float, expected: int) -> None:
        assert scale_channels(channels, width) == expected


class TestForward:
    @pytest.mark.parametrize(("name", "width"), _cases())
    def test_logits_shape_at_input_resolution(self, name: str, width: float) -> None:
        torch.manual_seed(0)
        model = build_model(name, width=width)
        assert isinstance(model, SegmentationModel)
        m = model.size_multiple
        x = torch.randn(2, 4, 2 * m, 3 * m)
        y = model(x)
        assert y.shape == (2, 1, 2 * m, 3 * m)
        assert y.dtype == torch.float32
        assert torch.isfinite(y).all()

    @pytest.mark.parametrize("name", available_models())
    def test_other_in_channels(self, name: str) -> None:
        model = build_model(name, width=0.125, in_channels=3)
        m = model.size_multiple
        assert model(torch.randn(2, 3, m, m)).shape == (2, 1, m, m)

    @pytest.mark.parametrize("name", ["cloudfcn_lite", "cloudnet", "fcn8s"])
    def test_size_not_multiple_is_refused(self, name: str) -> None:
        model = build_model(name, width=0.125)
        assert model.size_multiple == 32
        with pytest.raises(ParameterError, match="not a multiple of 32; pad tiles"):
            model(torch.randn(1, 4, 48, 64))

    def test_wrong_band_count_is_refused(self) -> None:
        model = build_model("cloudfcn_lite", width=0.25)
        with pytest.raises(ParameterError, match=r"must be \(N, 4, H, W\), got \(1, 3, 32, 32\)"):
            model(torch.randn(1, 3, 32, 32))

    @pytest.mark.parametrize(("name", "width"), _cases())
    def test_gradients_reach_every_parameter(self, name: str, width: float) -> None:
        torch.manual_seed(0)
        model = build_model(name, width=width)
        m = model.size_multiple
        x = torch.randn(2, 4, m, m, requires_grad=True)
        model(x).square().mean().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        # FCN-8s zero-initialises its skip scores, so gradients into pool3/pool4 only
        # start after one step; every parameter still gets a gradient tensor.
        for pname, param in model.named_parameters():
            assert param.grad is not None, pname
            assert torch.isfinite(param.grad).all(), pname
        assert sum(float(p.grad.abs().sum()) for p in model.parameters()) > 0


class TestOutChannels:
    @pytest.mark.parametrize("name", available_models())
    def test_one_logit_per_class(self, name: str) -> None:
        torch.manual_seed(0)
        model = build_model(name, width=0.125, out_channels=4)
        m = model.size_multiple
        assert model(torch.randn(2, 4, m, m)).shape == (2, 4, m, m)
        assert model.arch_args["out_channels"] == 4

    @pytest.mark.parametrize("outputs", [0, 9, 1.5, True])
    def test_bad_out_channels(self, outputs: object) -> None:
        with pytest.raises(ParameterError, match="out_channels must be an integer from 1 to 8"):
            build_model("pixel_linear", out_channels=outputs)

    def test_default_keeps_the_cloud_only_state_dict(self) -> None:
        # Old checkpoints (no out_channels) must still load into the same shapes.
        for name in available_models():
            old = build_model(name, width=0.125).state_dict()
            new = build_model(name, width=0.125, out_channels=1).state_dict()
            assert {k: v.shape for k, v in old.items()} == {k: v.shape for k, v in new.items()}

    def test_several_channels_are_softmaxed(self) -> None:
        torch.manual_seed(0)
        model = build_model("pixel_linear", out_channels=3)
        x = torch.randn(2, 4, 5, 7)
        probs = model.predict(x)
        torch.testing.assert_close(probs.sum(dim=1), torch.ones(2, 5, 7))
        with torch.no_grad():
            torch.testing.assert_close(probs, torch.softmax(model(x), dim=1))

    def test_fcn8s_upsamples_each_channel_bilinearly(self) -> None:
        model = build_model("fcn8s", width=0.125, out_channels=3)
        constant = torch.ones(1, 3, 4, 4)
        torch.testing.assert_close(
            model.upscore2(constant)[..., 1:-1, 1:-1], torch.ones(1, 3, 6, 6)
        )


class TestPredict:
    def test_probabilities_in_eval_mode_without_grad(self) -> None:
        torch.manual_seed(0)
        model = build_model("cloudfcn_lite", width=0.25)
        x = torch.randn(2, 4, 64, 64)
        probs = model.predict(x)
        assert not model.training
        assert not probs.requires_grad
        assert probs.shape == (2, 1, 64, 64)
        assert ((probs >= 0) & (probs <= 1)).all()
        with torch.no_grad():
            torch.testing.assert_close(probs, torch.sigmoid(model(x)))

    def test_lite_inference_layout_gives_training_layout_result(self) -> None:
        # predict() runs channels-last, forward with autograd runs NCHW: same numbers.
        torch.manual_seed(0)
        model = build_model("cloudfcn_lite", width=0.5).eval()
        x = torch.randn(2, 4, 64, 96)
        torch.testing.assert_close(
            model.predict(x), torch.sigmoid(model(x)).detach(), rtol=1e-4, atol=1e-5
        )

    def test_eval_output_does_not_depend_on_batch(self) -> None:
        # BatchNorm must use running statistics in predict(), not batch statistics.
        torch.manual_seed(0)
        model = build_model("cloudfcn_lite", width=0.25)
        x = torch.randn(3, 4, 64, 64)
        torch.testing.assert_close(model.predict(x)[:1], model.predict(x[:1]))


class TestPixelLinear:
    def test_output_is_hand_arithmetic(self) -> None:
        model = build_model("pixel_linear")
        assert model.size_multiple == 1
        with torch.no_grad():
            model.linear.weight.copy_(torch.tensor([1.0, -2.0, 0.5, 4.0]).view(1, 4, 1, 1))
            model.linear.bias.fill_(-1.0)
        x = torch.zeros(1, 4, 1, 2)
        x[0, :, 0, 0] = torch.tensor([1.0, 1.0, 2.0, 0.5])  # 1 - 2 + 1 + 2 - 1 = 1
        x[0, :, 0, 1] = torch.tensor([0.0, 0.5, 0.0, 0.0])  # -1 - 1 = -2
        expected = torch.tensor([[[[1.0, -2.0]]]])
        torch.testing.assert_close(model(x), expected)
        torch.testing.assert_close(model.predict(x), torch.sigmoid(expected))

    def test_odd_sizes_and_translation_equivariance(self) -> None:
        torch.manual_seed(0)
        model = build_model("pixel_linear")
        x = torch.randn(1, 4, 7, 5)
        shifted = torch.roll(x, shifts=(2, 3), dims=(2, 3))
        torch.testing.assert_close(model(shifted), torch.roll(model(x), (2, 3), (2, 3)))

    def test_width_is_ignored(self) -> None:
        assert _param_count(build_model("pixel_linear", width=3.0)) == 5


class TestWidth:
    @pytest.mark.parametrize("name", ["cloudfcn_lite", "cloudnet", "fcn8s", "unet"])
    def test_width_changes_parameter_count(self, name: str) -> None:
        small = _param_count(build_model(name, width=0.125))
        large = _param_count(build_model(name, width=0.25))
        # Parameters grow about quadratically with width.
        assert 2.5 * small < large < 4.5 * small

    def test_unet_levels_at_width_one(self) -> None:
        model = build_model("unet")
        widths = [encoder[1][0].out_channels for encoder in model.encoders]
        assert widths == [16, 32, 64, 128, 256]
        assert model.size_multiple == 16
        assert model(torch.randn(1, 4, 32, 48)).shape == (1, 1, 32, 48)

    def test_cloudnet_filters_as_published(self) -> None:
        with torch.device("meta"):
            model = build_model("cloudnet")
        assert model.conv_in[0].out_channels == 16
        assert model.bridge.conv1[0].out_channels == 1024
        assert model.head.in_channels == 32
        assert _param_count(model) > 30_000_000

    def test_tiny_width_keeps_one_channel(self) -> None:
        model = build_model("cloudfcn_lite", width=0.01)
        assert model(torch.randn(2, 4, 32, 32)).shape == (2, 1, 32, 32)

    def test_lite_is_small_and_sees_far(self) -> None:
        torch.manual_seed(0)
        model = build_model("cloudfcn_lite").eval()
        # Under 2 MB of float32 tensors, buffers included.
        assert sum(t.numel() * 4 for t in model.state_dict().values()) < 2_000_000
        x = torch.randn(1, 4, 512, 512, requires_grad=True)
        model(x)[0, 0, 256, 256].backward()
        rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
        assert int(rows.max() - rows.min()) + 1 >= 300


class TestFcn8sUpsampling:
    def test_bilinear_kernel_matches_fcn(self) -> None:
        torch.testing.assert_close(
            bilinear_kernel(4)[0], torch.tensor([0.0625, 0.1875, 0.1875, 0.0625])
        )

    def test_initial_upsampling_is_bilinear(self) -> None:
        model = build_model("fcn8s", width=0.125)
        constant = torch.ones(1, 1, 4, 4)
        # Away from the border a bilinear transposed conv maps a constant to itself.
        torch.testing.assert_close(
            model.upscore2(constant)[..., 1:-1, 1:-1], torch.ones(1, 1, 6, 6)
        )
        assert model.upscore8(constant).shape == (1, 1, 32, 32)
