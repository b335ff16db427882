"""ONNX Runtime as the CPU back end of the bundled models: same masks, stale twins refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from cloud_fcn_plugin.engine.errors import WeightsError
from cloud_fcn_plugin.engine.files.resources import resource_path
from cloud_fcn_plugin.engine.inference.predictor import load_predictor
from cloud_fcn_plugin.engine.models import onnx_backend
from cloud_fcn_plugin.engine.models.bfloat16 import Bfloat16Model, amx_bfloat16_available
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint, tensors_checksum
from cloud_fcn_plugin.engine.models.choice import BUNDLED, bundled_model_path
from cloud_fcn_plugin.engine.models.onnx_backend import (
    BACKEND_VARIABLE,
    SOURCE_KEY,
    chosen_backend,
    cpu_model,
    twin_path,
)
from cloud_fcn_plugin.engine.models.onnx_model import OnnxModel
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds

pytest.importorskip("onnxruntime")

SAMPLE = resource_path("sample", "LC80130312015295LGN00_B2-B5_toa_120m.tif")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch):
    # The twins' rules as on a CPU without AMX, where auto means ONNX Runtime (TestBfloat16
    # covers AMX): no such CPU can exist in a run on this one.
    monkeypatch.setattr(onnx_backend, "amx_bfloat16_available", lambda: False)

    def choose(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
        else:
            monkeypatch.setenv(BACKEND_VARIABLE, name)

    return choose


class TestTwins:
    @pytest.mark.parametrize("name", sorted(BUNDLED))
    def test_every_bundled_model_ships_a_twin_of_its_own_tensors(self, name: str, backend) -> None:
        backend("onnxruntime")
        checkpoint = bundled_model_path(name)
        model, metadata = load_checkpoint(checkpoint)
        twin = cpu_model(checkpoint, model, metadata)
        assert isinstance(twin, OnnxModel), f"{twin_path(checkpoint).name} is missing or stale"
        props = twin.session.get_modelmeta().custom_metadata_map
        assert props[SOURCE_KEY] == tensors_checksum(checkpoint)
        tiles = torch.from_numpy(
            np.random.default_rng(0).normal(size=(1, len(metadata.bands), 96, 96)).astype("f4")
        )
        with torch.inference_mode():
            expected = model.logits(tiles)
        assert torch.allclose(twin(tiles), expected, atol=1e-4)

    def test_auto_picks_the_twin_on_the_cpu_and_torch_when_asked(self, backend) -> None:
        backend(None)
        assert chosen_backend() == "auto"
        assert isinstance(load_predictor(device="cpu").model, OnnxModel)
        backend("torch")
        assert isinstance(load_predictor(device="cpu").model, torch.nn.Module)

    def test_a_stale_twin_is_not_used(self, tmp_path: Path, backend) -> None:
        checkpoint = tmp_path / "cloudfcn_rgbn.safetensors"
        shutil.copy(bundled_model_path("rgbn"), checkpoint)
        shutil.copy(twin_path(bundled_model_path("fullband")), twin_path(checkpoint))
        model, metadata = load_checkpoint(checkpoint)
        notes: list[str] = []
        backend(None)
        assert cpu_model(checkpoint, model, metadata, notes.append) is model
        assert "was not exported from" in notes[0]
        backend("onnxruntime")
        with pytest.raises(WeightsError, match="was not exported from"):
            cpu_model(checkpoint, model, metadata)

    def test_a_damaged_twin_is_not_used(self, tmp_path: Path, backend) -> None:
        onnx = pytest.importorskip("onnx")
        from onnx import numpy_helper

        checkpoint = tmp_path / "cloudfcn_rgbn.safetensors"
        shutil.copy(bundled_model_path("rgbn"), checkpoint)
        proto = onnx.load(str(twin_path(bundled_model_path("rgbn"))))
        weights = max(proto.graph.initializer, key=lambda t: np.prod(t.dims))
        damaged = numpy_helper.to_array(weights).copy()
        damaged.flat[::7] *= -1.0
        weights.CopyFrom(numpy_helper.from_array(damaged, weights.name))
        onnx.save(proto, str(twin_path(checkpoint)))
        model, metadata = load_checkpoint(checkpoint)
        notes: list[str] = []
        backend(None)
        assert cpu_model(checkpoint, model, metadata, notes.append) is model
        assert "does not compute what" in notes[0]

    def test_forcing_onnxruntime_without_a_twin_says_so(self, tmp_path: Path, backend) -> None:
        checkpoint = tmp_path / "cloudfcn_rgbn.safetensors"
        shutil.copy(bundled_model_path("rgbn"), checkpoint)
        model, metadata = load_checkpoint(checkpoint)
        backend(None)
        assert cpu_model(checkpoint, model, metadata) is model
        backend("onnxruntime")
        with pytest.raises(WeightsError, match="no ONNX twin"):
            cpu_model(checkpoint, model, metadata)
        backend("tensorflow")
        with pytest.raises(Exception, match="not a CPU back end"):
            chosen_backend()


class TestSameMasks:
    """The speed work leaves the masks as they were: the same bytes from both back ends."""

    def _masks(self, source: Path, tmp_path: Path, backend) -> list[np.ndarray]:
        masks = []
        for name in ("torch", "onnxruntime"):
            backend(name)
            output = tmp_path / f"{name}.tif"
            detect_clouds(source, output, DetectionParams(device="cpu"))
            with rasterio.open(output) as dataset:
                masks.append(dataset.read(1))
        return masks

    def test_the_sample_with_the_4_band_model(self, tmp_path: Path, backend) -> None:
        torch_mask, onnx_mask = self._masks(SAMPLE, tmp_path, backend)
        assert np.array_equal(torch_mask, onnx_mask)

    def test_a_level1_product_with_the_default_model(
        self, data_dir: Path, tmp_path: Path, backend
    ) -> None:
        product = data_dir / "scenes" / "LC80200392015216LGN00_L1T_30m"
        torch_mask, onnx_mask = self._masks(product, tmp_path, backend)
        assert np.array_equal(torch_mask, onnx_mask)
        assert {0, 1}.issubset(np.unique(torch_mask))


class TestBfloat16:
    """bfloat16 on AMX: the speed of the CPU's matrix tiles, masks within 0.1 % of float32's."""

    def test_auto_takes_bfloat16_where_the_cpu_has_amx(self, monkeypatch) -> None:
        monkeypatch.delenv(BACKEND_VARIABLE, raising=False)
        model = load_predictor(device="cpu").model
        expected = Bfloat16Model if amx_bfloat16_available() else OnnxModel
        assert isinstance(model, expected)

    @pytest.mark.parametrize("name", sorted(BUNDLED))
    def test_logits_stay_close_to_float32(self, name: str, monkeypatch) -> None:
        monkeypatch.setenv(BACKEND_VARIABLE, "bfloat16")
        checkpoint = bundled_model_path(name)
        model, metadata = load_checkpoint(checkpoint)
        fast = cpu_model(checkpoint, model, metadata)
        assert isinstance(fast, Bfloat16Model) and fast.size_multiple == model.size_multiple
        tiles = torch.from_numpy(
            np.random.default_rng(0).normal(size=(2, len(metadata.bands), 64, 64)).astype("f4")
        )
        with torch.inference_mode():
            expected, got = torch.sigmoid(model.logits(tiles)), torch.sigmoid(fast(tiles))
        assert got.dtype == torch.float32
        assert (got - expected).abs().max() < 0.05

    def test_the_sample_mask_changes_on_at_most_a_thousandth(self, tmp_path: Path, monkeypatch):
        masks = []
        for name in ("torch", "bfloat16"):
            monkeypatch.setenv(BACKEND_VARIABLE, name)
            output = tmp_path / f"{name}.tif"
            detect_clouds(SAMPLE, output, DetectionParams(device="cpu"))
            with rasterio.open(output) as dataset:
                masks.append(dataset.read(1))
        assert np.mean(masks[0] != masks[1]) <= 0.001
