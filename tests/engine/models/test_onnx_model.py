"""ONNX models in the engine: same results as torch, known arithmetic, and every refusal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from cloud_fcn_plugin.engine.errors import DependencyMissingError, ParameterError, WeightsError
from cloud_fcn_plugin.engine.inference.predictor import Predictor, load_predictor
from cloud_fcn_plugin.engine.models.checkpoints import read_metadata
from cloud_fcn_plugin.engine.models.choice import choose_model
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from tests.onnx_models import (
    RGBN_WEIGHTS,
    SAMPLE,
    contract,
    export_bundled,
    pointwise_model,
    with_metadata,
)

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

WEIGHTS = np.array([[1.0, -2.0, 0.5, 3.0]], np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_bundled(tmp_path_factory.mktemp("onnx"))


def tiles(count: int = 2, height: int = 40, width: int = 50, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, 4, height, width)).astype(np.float32)


def predictor(path: Path) -> Predictor:
    return load_predictor(path, device="cpu", batch_size=4)


def one_sentence(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


class TestSameAsTorch:
    def test_export_writes_the_contract(self, exported: Path) -> None:
        import onnx

        props = {p.key: p.value for p in onnx.load(str(exported)).metadata_props}
        assert json.loads(props["cloud_fcn.bands"]) == ["B4", "B3", "B2", "B5"]
        assert props["cloud_fcn.output"] == "logits"
        assert json.loads(props["cloud_fcn.classes"]) == ["cloud"]
        torch_meta, onnx_meta = read_metadata(RGBN_WEIGHTS), read_metadata(exported)
        for field in ("bands", "mean", "std", "threshold", "tile_size", "overlap"):
            assert getattr(onnx_meta, field) == getattr(torch_meta, field), field

    @pytest.mark.usefixtures("float32_torch")
    def test_demo_scene_mask_matches_torch(self, exported: Path, tmp_path: Path) -> None:
        results = {}
        for name, weights in (("torch", RGBN_WEIGHTS), ("onnx", exported)):
            params = DetectionParams(
                weights=weights, device="cpu", probability=tmp_path / f"{name}_p.tif"
            )
            result = detect_clouds(SAMPLE, tmp_path / f"{name}.tif", params)
            with rasterio.open(tmp_path / f"{name}.tif") as mask, rasterio.open(
                tmp_path / f"{name}_p.tif"
            ) as prob:
                results[name] = (result, mask.read(1), prob.read(1))
        (torch_result, torch_mask, torch_prob), (onnx_result, onnx_mask, onnx_prob) = (
            results["torch"], results["onnx"],
        )  # fmt: skip
        assert np.abs(torch_prob - onnx_prob).max() < 1e-4
        # Only a pixel within float noise of the threshold may flip.
        near = np.abs(torch_prob - torch_result.threshold) < 1e-4
        assert np.array_equal(torch_mask[~near], onnx_mask[~near])
        assert onnx_result.cloud_cover == pytest.approx(torch_result.cloud_cover, abs=0.01)
        assert onnx_result.model == "rgbn.onnx"

    def test_choose_model_reads_the_bands_of_the_file(self, exported: Path) -> None:
        choice = choose_model(SAMPLE, weights=exported)
        assert choice.bands == (4, 3, 2, 5) and choice.label == "rgbn.onnx"


class TestArithmetic:
    def expected_logits(self, x: np.ndarray, weights: np.ndarray = WEIGHTS) -> np.ndarray:
        return np.einsum("kc,nchw->nkhw", weights, x)

    def test_single_cloud_logits_get_a_sigmoid(self, tmp_path: Path) -> None:
        path = pointwise_model(tmp_path / "m.onnx", WEIGHTS, contract())
        x = tiles()
        got = predictor(path).predict_tiles(x)
        expected = 1.0 / (1.0 + np.exp(-self.expected_logits(x)))
        np.testing.assert_allclose(got, expected, atol=1e-6)

    def test_probabilities_are_taken_as_they_are(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS, contract(output="probabilities"), sigmoid=True
        )
        x = tiles()
        expected = 1.0 / (1.0 + np.exp(-self.expected_logits(x)))
        np.testing.assert_allclose(predictor(path).predict_tiles(x), expected, atol=1e-6)

    def test_several_classes_give_the_engines_layers(self, tmp_path: Path) -> None:
        weights = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
        classes = ["clear", "thick_cloud", "thin_cloud", "cloud_shadow"]
        path = pointwise_model(tmp_path / "m.onnx", weights, contract(classes=classes))
        x = tiles()
        logits = self.expected_logits(x, weights)
        softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        model = predictor(path)
        assert model.layout.layers == ("cloud", "thin", "shadow")
        got = model.predict_tiles(x)
        np.testing.assert_allclose(got[:, 0], softmax[:, 1] + softmax[:, 2], atol=1e-5)
        np.testing.assert_allclose(got[:, 1], softmax[:, 2], atol=1e-5)
        np.testing.assert_allclose(got[:, 2], softmax[:, 3], atol=1e-5)

    def test_several_class_probabilities_skip_the_softmax(self, tmp_path: Path) -> None:
        weights = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
        props = contract(classes=["clear", "cloud"], output="probabilities")
        path = pointwise_model(tmp_path / "m.onnx", weights, props, sigmoid=True)
        x = tiles()
        expected = 1.0 / (1.0 + np.exp(-self.expected_logits(x, weights)))
        np.testing.assert_allclose(predictor(path).predict_tiles(x)[:, 0], expected[:, 1],
                                   atol=1e-6)

    def test_fixed_input_size_pads_and_crops(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS, contract(tile_size=64), shape=(1, 4, 64, 64)
        )
        model = predictor(path)
        x = tiles(count=3)  # batch 3 in a model of batch 1, tiles of 40x50 in 64x64
        expected = 1.0 / (1.0 + np.exp(-self.expected_logits(x)))
        np.testing.assert_allclose(model.predict_tiles(x), expected, atol=1e-6)
        with pytest.raises(ParameterError, match="64x64 pixels at most"):
            model.predict_tiles(tiles(count=1, height=80, width=80))

    def test_output_kind_may_be_a_json_string(self, tmp_path: Path) -> None:
        path = pointwise_model(tmp_path / "m.onnx", WEIGHTS, contract(output='"logits"'))
        x = tiles()
        expected = 1.0 / (1.0 + np.exp(-self.expected_logits(x)))
        np.testing.assert_allclose(predictor(path).predict_tiles(x), expected, atol=1e-6)

    def test_fixed_input_size_is_the_default_tile_size(self, tmp_path: Path) -> None:
        props = contract()
        del props["cloud_fcn.tile_size"], props["cloud_fcn.overlap"]
        path = pointwise_model(tmp_path / "m.onnx", WEIGHTS, props, shape=(1, 4, 48, 48))
        meta = read_metadata(path)
        assert (meta.tile_size, meta.overlap) == (48, 12)
        assert meta.architecture == "onnx"


class TestClassesThroughThePipeline:
    @pytest.mark.parametrize(
        ("bias", "code"),
        [([0, 0, 3, 0], 2), ([0, 3, 0, 0], 1), ([0, 0, 0, 3], 3), ([3, 0, 0, 0], 0)],
    )
    def test_the_dominant_class_is_the_mask_code(
        self, tmp_path: Path, bias: list[int], code: int
    ) -> None:
        classes = ["clear", "thick_cloud", "thin_cloud", "cloud_shadow"]
        path = pointwise_model(
            tmp_path / "m.onnx", np.zeros((4, 4), np.float32), contract(classes=classes),
            bias=np.array(bias, np.float32),
        )  # fmt: skip
        params = DetectionParams(
            weights=path, device="cpu", probability=tmp_path / "p.tif", shadow="network"
        )
        result = detect_clouds(SAMPLE, tmp_path / "mask.tif", params)
        with rasterio.open(tmp_path / "mask.tif") as mask, rasterio.open(tmp_path / "p.tif") as p:
            values = set(np.unique(mask.read(1)).tolist()) - {255}
            assert p.count == 3  # cloud, thin, shadow layers
        assert values == {code}
        assert result.valid_pixels > 0


class TestRefusals:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"cloud_fcn.bands": None}, "lacks the metadata cloud_fcn.bands"),
            ({"cloud_fcn.mean": "[NaN, 0, 0, 0]"}, "cloud_fcn.mean is not valid JSON"),
            ({"cloud_fcn.mean": "[" * 100_000}, "cloud_fcn.mean is not valid JSON"),
            ({"cloud_fcn.mean": "[1e30, 0, 0, 0]"}, "is not a reflectance"),
            ({"cloud_fcn.threshold": "1"}, "strictly inside (0, 1)"),
            ({"cloud_fcn.std": "[1, 1, 0, 1]"}, "std must be > 0"),
            ({"cloud_fcn.bands": '["B4", "B3", "B2", "X9"]'}, "'X9', not a Landsat 8/9 band"),
            ({"cloud_fcn.bands": '["B4", "red", "B2", "B5"]'}, "names band B4 twice"),
            ({"cloud_fcn.bands": json.dumps([f"B{n % 11 + 1}" for n in range(17)])},
             "more than the 16 allowed"),
            ({"cloud_fcn.classes": json.dumps([f"c{n}" for n in range(17)])},
             "each must be one of"),
            ({"cloud_fcn.classes": '["clear", "water"]'}, "each must be one of"),
            ({"cloud_fcn.classes": '["clear", "cloud_shadow"]'}, "at least one cloud channel"),
            ({"cloud_fcn.classes": '"cloud"'}, "must be a JSON list of channel names"),
            ({"cloud_fcn.output": "softmax"}, "say logits or probabilities"),
            ({"cloud_fcn.threshold": "2"}, "threshold must be within [0, 1]"),
            ({"cloud_fcn.shadow_threshold": "Infinity"}, "is not valid JSON"),
            ({"cloud_fcn.tile_size": "100000"}, "exceeds"),
            ({"cloud_fcn.treshold": "0.4"}, "unknown metadata cloud_fcn.treshold"),
            ({"cloud_fcn.version": "2"}, "update the plugin"),
            ({"cloud_fcn.classes": '["clear", "cloud"]'}, "outputs 1 channels"),
        ],
    )
    def test_bad_metadata(
        self, tmp_path: Path, exported: Path, changes: dict, message: str
    ) -> None:
        path = with_metadata(exported, tmp_path / "bad.onnx", changes)
        with pytest.raises(WeightsError) as error:
            load_predictor(path, device="cpu")
        assert message in one_sentence(error)
        assert path.name in str(error.value)

    def test_not_an_onnx_file(self, tmp_path: Path) -> None:
        path = tmp_path / "model.onnx"
        path.write_text("not a model")
        with pytest.raises(WeightsError, match="model.onnx is not a valid ONNX model") as error:
            read_metadata(path)
        one_sentence(error)

    def test_safetensors_named_onnx(self, tmp_path: Path) -> None:
        path = tmp_path / "weights.onnx"
        path.write_bytes(RGBN_WEIGHTS.read_bytes())
        with pytest.raises(WeightsError, match="not a valid ONNX model"):
            load_predictor(path, device="cpu")

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsError, match="model not found"):
            read_metadata(tmp_path / "absent.onnx")

    def test_input_channels_disagree_with_the_bands(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS[:, :3], contract(), shape=("N", 3, "H", "W")
        )
        with pytest.raises(WeightsError, match="takes 3 input channels but its cloud_fcn.bands"):
            read_metadata(path)

    def test_absurd_fixed_input(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS, contract(), shape=(1, 4, 1, 200000)
        )
        with pytest.raises(WeightsError, match="fixed input of 1x200000 pixels") as error:
            read_metadata(path)
        one_sentence(error)

    def test_output_channels_disagree_with_the_classes(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS, contract(classes=["clear", "cloud"])
        )
        with pytest.raises(WeightsError, match="outputs 1 channels but its cloud_fcn.classes"):
            read_metadata(path)

    def test_a_smaller_output_is_caught_by_a_trial_run(self, tmp_path: Path) -> None:
        path = pointwise_model(
            tmp_path / "m.onnx", WEIGHTS, contract(), out_shape=("N", 1, "h", "w"), stride=2
        )
        with pytest.raises(WeightsError, match=r"returned shape \(1, 1, 32, 32\)") as error:
            load_predictor(path, device="cpu")
        one_sentence(error)

    def test_without_onnxruntime_one_sentence_says_how_to_install(
        self, tmp_path: Path, exported: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
        with pytest.raises(DependencyMissingError) as error:
            detect_clouds(SAMPLE, tmp_path / "mask.tif", DetectionParams(weights=exported))
        assert "pip install onnxruntime==" in one_sentence(error)
        assert "rgbn.onnx" in str(error.value)
        assert not (tmp_path / "mask.tif").exists()


def test_torch_models_keep_their_sigmoid() -> None:
    model = load_predictor(RGBN_WEIGHTS, device="cpu")
    x = tiles(count=1, height=64, width=64)
    with torch.inference_mode():
        expected = torch.sigmoid(model.model(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(model.predict_tiles(x, edges=(False,) * 4), expected, atol=1e-6)
