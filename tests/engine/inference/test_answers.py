"""A model's answer is checked on every batch (finite, 0..1, its classes), not on a trial tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cloud_fcn_plugin.engine.errors import WeightsError
from cloud_fcn_plugin.engine.inference.answers import TOLERANCE, check_layers, check_output
from cloud_fcn_plugin.engine.outputs.writer import encode_probability
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from tests.onnx_models import SAMPLE, contract, nan_on_data_model, pointwise_model

MULTI = ["clear", "thick_cloud", "thin_cloud", "cloud_shadow"]


class TestChecks:
    def test_finite_output_of_the_declared_classes_passes(self) -> None:
        check_output(torch.randn(2, 4, 8, 8), 4, "m.onnx", False)

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
    def test_one_non_finite_value_refuses_the_batch(self, bad: float) -> None:
        output = torch.zeros(2, 1, 8, 8)
        output[1, 0, 7, 7] = bad
        with pytest.raises(WeightsError, match="NaN or infinity on the pixels"):
            check_output(output, 1, "m.onnx", False)

    def test_other_channels_than_declared_are_refused(self) -> None:
        with pytest.raises(WeightsError, match="3 declared class"):
            check_output(torch.zeros(1, 4, 8, 8), 3, "m.onnx", False)

    def test_rounding_is_clamped_and_further_is_refused(self) -> None:
        layers = torch.tensor([-TOLERANCE / 2, 0.5, 1 + TOLERANCE / 2]).reshape(1, 1, 1, 3)
        check_output(layers, 1, "m.onnx", True)
        clamped = check_layers(layers, "m.onnx")
        assert float(clamped.min()) == 0.0 and float(clamped.max()) == 1.0
        for value in (-2.0, 3.0):
            layers = torch.full((1, 1, 2, 2), value)
            check_output(layers, 1, "m.onnx", False)  # logits may be anything finite
            with pytest.raises(WeightsError, match="outside 0..1") as error:
                check_output(layers, 1, "m.onnx", True)
            assert "\n" not in str(error.value)

    def test_uint8_percent_never_wraps(self) -> None:
        probability = np.array([[-2.0, 0.5, 3.0]], np.float32)
        encoded = encode_probability(probability, np.ones((1, 3), bool), "uint8")
        assert encoded.tolist() == [[0, 50, 100]]


pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


class TestOnRealPixels:
    """Models that pass the blank trial tile and go wrong on the scene are refused."""

    @pytest.mark.parametrize("classes", [["cloud"], MULTI])
    def test_nan_on_real_pixels(self, tmp_path: Path, classes: list[str]) -> None:
        model = nan_on_data_model(tmp_path / "nan.onnx", contract(classes=classes))
        self.assert_refused(tmp_path, model, "NaN or infinity on the pixels")

    @pytest.mark.parametrize("classes", [["cloud"], MULTI])
    def test_probabilities_outside_0_1(self, tmp_path: Path, classes: list[str]) -> None:
        weights = np.full((len(classes), 4), 3.0, np.float32)
        props = contract(classes=classes, output="probabilities")
        model = pointwise_model(tmp_path / "p.onnx", weights, props)
        self.assert_refused(tmp_path, model, "outside 0..1")

    @staticmethod
    def assert_refused(tmp_path: Path, model: Path, match: str) -> None:
        out = tmp_path / "out"
        out.mkdir()
        params = DetectionParams(
            weights=model, device="cpu", probability=out / "p.tif", probability_dtype="uint8"
        )
        with pytest.raises(WeightsError, match=match) as error:
            detect_clouds(SAMPLE, out / "m.tif", params)
        assert "\n" not in str(error.value)
        assert list(out.iterdir()) == []
