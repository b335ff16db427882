"""Tests of the checkpoint format: round trips, cheap metadata reads and every refusal."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cloud_fcn_plugin.engine.errors import (
    DeviceError,
    OutputNotWritableError,
    ParameterError,
    WeightsError,
)
from cloud_fcn_plugin.engine.models import build_model, checkpoint_metadata, checkpoints
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.checkpoints import (
    checkpoint_sha256,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
    sidecar_path,
    tensors_sha256,
)

ARCH_ARGS = {"width": 0.25, "in_channels": 4}


def _metadata(**changes: object) -> CheckpointMetadata:
    fields = {
        "architecture": "cloudfcn_lite",
        "arch_args": ARCH_ARGS,
        "mean": (0.1, 0.1, 0.1, 0.2),
        "std": (0.05, 0.05, 0.05, 0.1),
        "threshold": 0.42,
        "provenance": {"command": "train.py --epochs 2", "epochs": 2},
        "metrics": {"jaccard": 0.8},
    }
    fields.update(changes)
    return CheckpointMetadata(**fields)  # type: ignore[arg-type]


def _trained_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model("cloudfcn_lite", **ARCH_ARGS)
    # One training-mode pass moves the BatchNorm running statistics off their defaults.
    model(torch.randn(2, 4, 64, 64))
    return model


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    path = tmp_path / "model.safetensors"
    save_checkpoint(path, _trained_model(), _metadata())
    return path


def _header(path: Path) -> dict:
    return json.loads(safe_open(str(path), "pt").metadata()["cloud_fcn"])


def _rewrite(path: Path, header: dict | None, tensors: dict | None = None) -> None:
    """Rewrite a checkpoint with another header and/or tensors, as a tamperer would."""
    tensors = load_file(path) if tensors is None else tensors
    metadata = None if header is None else {"cloud_fcn": json.dumps(header)}
    save_file(tensors, path, metadata=metadata)


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # the last byte belongs to the last tensor's data
    path.write_bytes(bytes(data))


class TestMetadata:
    def test_json_round_trip(self) -> None:
        meta = _metadata()
        data = json.loads(json.dumps(meta.to_json_dict()))
        assert data["bands"] == ["red", "green", "blue", "nir"]
        assert CheckpointMetadata.from_json_dict(data) == meta

    def test_defaults(self) -> None:
        meta = CheckpointMetadata("pixel_linear", {"in_channels": 4})
        assert meta.bands == ("red", "green", "blue", "nir")
        assert (meta.threshold, meta.tile_size, meta.overlap, meta.format_version) == (
            0.5,
            384,
            32,
            1,
        )

    def test_lists_become_tuples(self) -> None:
        meta = _metadata(mean=[0, 0, 0, 1], bands=["red", "green", "blue", "nir"])
        assert meta.mean == (0.0, 0.0, 0.0, 1.0)
        assert isinstance(meta.bands, tuple)

    @pytest.mark.parametrize(
        ("changes", "match"),
        [
            ({"mean": (0.0, 0.0)}, "mean has 2 values for 4 bands"),
            ({"std": (1.0, 0.0, 1.0, 1.0)}, "std must be > 0"),
            ({"threshold": 1.5}, r"threshold must be within \[0, 1\]"),
            ({"tile_size": 0}, "tile_size must be a positive integer"),
            ({"overlap": 384}, "overlap must be an integer"),
            ({"provenance": {"date": object()}}, "plain JSON"),
            ({"arch_args": [1, 2]}, "arch_args must be a JSON object"),
            ({"architecture": ""}, "architecture must be a registry name"),
            ({"classes": ("cloud", "cloud")}, "name a channel twice"),
            ({"classes": ("rain",)}, "each must be one of"),
            ({"classes": ("thick_cloud", "cloud_shadow")}, "needs 'clear'"),
            ({"classes": ("clear", "cloud_shadow")}, "needs 'clear' and at least one cloud"),
            ({"classes": ("clear", "cloud", "thin_cloud")}, "overlap"),
            ({"classes": "cloud"}, "must be a list of names"),
            ({"classes": ("clear", "cloud")}, "out_channels 1 must equal the 2 classes"),
            ({"shadow_threshold": 0.0}, r"shadow_threshold must be within \(0, 1\)"),
            ({"shadow_threshold": 1.0}, r"shadow_threshold must be within \(0, 1\)"),
            ({"shadow_threshold": "low"}, "shadow_threshold must be a number"),
        ],
    )
    def test_invalid_values(self, changes: dict, match: str) -> None:
        with pytest.raises(ParameterError, match=match):
            _metadata(**changes)

    @pytest.mark.parametrize("field", ["tile_size", "overlap", "threshold"])
    def test_long_values_are_cut_short_in_the_line(self, field: str) -> None:
        """N-L2: a header tile_size of 10^4000 was printed whole (4,000 digits)."""
        with pytest.raises(ParameterError) as error:
            _metadata(**{field: 10**4000 if field != "threshold" else "9" * 4000})
        assert len(str(error.value)) < 300

    def test_old_checkpoint_without_classes_is_cloud_only(self) -> None:
        data = _metadata().to_json_dict()
        del data["classes"], data["shadow_threshold"]
        meta = CheckpointMetadata.from_json_dict(data)
        assert (meta.classes, meta.shadow_threshold) == (("cloud",), 0.5)

    def test_multi_class_round_trip(self) -> None:
        classes = ["clear", "thick_cloud", "thin_cloud", "cloud_shadow"]
        meta = _metadata(
            arch_args={**ARCH_ARGS, "out_channels": 4}, classes=classes, shadow_threshold=0.4
        )
        assert meta.classes == tuple(classes)
        data = json.loads(json.dumps(meta.to_json_dict()))
        assert data["classes"] == classes
        assert CheckpointMetadata.from_json_dict(data) == meta

    def test_from_json_dict_missing_field(self) -> None:
        data = _metadata().to_json_dict()
        del data["arch_args"]
        with pytest.raises(WeightsError, match="lacks arch_args"):
            CheckpointMetadata.from_json_dict(data)

    def test_from_json_dict_unknown_field(self) -> None:
        data = {**_metadata().to_json_dict(), "treshold": 0.3}
        with pytest.raises(WeightsError, match="unknown field.*treshold"):
            CheckpointMetadata.from_json_dict(data)

    def test_from_json_dict_newer_version(self) -> None:
        data = {**_metadata().to_json_dict(), "format_version": 2}
        with pytest.raises(WeightsError, match="newer.*update the plugin"):
            CheckpointMetadata.from_json_dict(data)

    def test_from_json_dict_bad_value_is_weights_error(self) -> None:
        data = {**_metadata().to_json_dict(), "threshold": "high"}
        with pytest.raises(WeightsError, match="invalid checkpoint metadata: threshold"):
            CheckpointMetadata.from_json_dict(data)


class TestSaveLoad:
    def test_round_trip_gives_identical_outputs(self, tmp_path: Path) -> None:
        model = _trained_model()
        path = tmp_path / "lite.safetensors"
        sha = save_checkpoint(path, model, _metadata())
        loaded, meta = load_checkpoint(path)
        assert meta == _metadata()
        assert not loaded.training
        assert type(loaded) is type(model)
        x = torch.randn(2, 4, 64, 64)
        torch.testing.assert_close(loaded.predict(x), model.predict(x), rtol=0, atol=0)
        assert sha == tensors_sha256(model.state_dict())
        assert _header(path)["sha256"] == sha

    def test_multi_class_checkpoint_round_trips(self, tmp_path: Path) -> None:
        args = {"in_channels": 4, "out_channels": 3}
        model = build_model("pixel_linear", **args)
        meta = CheckpointMetadata(
            "pixel_linear", args, classes=("clear", "cloud", "cloud_shadow")
        )
        path = tmp_path / "multi.safetensors"
        save_checkpoint(path, model, meta)
        loaded, read = load_checkpoint(path)
        assert read.classes == ("clear", "cloud", "cloud_shadow")
        assert loaded(torch.zeros(1, 4, 2, 2)).shape == (1, 3, 2, 2)

    def test_every_architecture_round_trips(self, tmp_path: Path) -> None:
        for name in ("pixel_linear", "fcn8s", "cloudnet"):
            torch.manual_seed(0)
            args = {"width": 0.125, "in_channels": 4}
            model = build_model(name, **args)
            path = tmp_path / f"{name}.safetensors"
            save_checkpoint(path, model, CheckpointMetadata(name, args))
            loaded, _ = load_checkpoint(path)
            for key, tensor in model.state_dict().items():
                assert torch.equal(loaded.state_dict()[key], tensor), key

    def test_sidecar_is_readable_json_with_file_sha(self, checkpoint: Path) -> None:
        sidecar = sidecar_path(checkpoint)
        assert sidecar == checkpoint.with_name("model.json")
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        assert record["file_sha256"] == checkpoint_sha256(checkpoint)
        assert record["file"] == "model.safetensors"
        assert record["threshold"] == 0.42
        assert record["sha256"] == _header(checkpoint)["sha256"]

    def test_overwrite_is_atomic_and_leaves_no_temp_files(self, checkpoint: Path) -> None:
        save_checkpoint(checkpoint, _trained_model(), _metadata(threshold=0.6))
        assert read_metadata(checkpoint).threshold == 0.6
        assert sorted(p.name for p in checkpoint.parent.iterdir()) == [
            "model.json",
            "model.safetensors",
        ]
        load_checkpoint(checkpoint)

    def test_save_refuses_model_not_matching_metadata(self, checkpoint: Path) -> None:
        before = checkpoint.read_bytes()
        wrong = _metadata(arch_args={"width": 0.5, "in_channels": 4})
        with pytest.raises(WeightsError, match="cannot save: the model does not match.*shape"):
            save_checkpoint(checkpoint, _trained_model(), wrong)
        assert checkpoint.read_bytes() == before

    def test_save_into_missing_folder(self, tmp_path: Path) -> None:
        with pytest.raises(OutputNotWritableError, match="check the folder exists"):
            save_checkpoint(tmp_path / "no" / "m.safetensors", _trained_model(), _metadata())

    def test_saved_tensors_are_contiguous_cpu(self, checkpoint: Path) -> None:
        tensors = load_file(checkpoint)
        assert set(tensors) == set(_trained_model().state_dict())

    @pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
    def test_unavailable_device(self, checkpoint: Path) -> None:
        with pytest.raises(DeviceError, match="CUDA is not available here; use device 'cpu'"):
            load_checkpoint(checkpoint, device="cuda")


class TestReadMetadata:
    def test_reads_header_only(self, checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        def no_tensors(*args: object, **kwargs: object) -> None:
            raise AssertionError("read_metadata must not load tensors")

        monkeypatch.setattr(checkpoints, "load_file", no_tensors)
        assert read_metadata(checkpoint) == _metadata()

    def test_does_not_need_valid_tensor_data(self, checkpoint: Path) -> None:
        _flip_last_byte(checkpoint)
        assert read_metadata(checkpoint).threshold == 0.42


class TestRefusals:
    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsError, match="checkpoint not found: .*absent.safetensors"):
            load_checkpoint(tmp_path / "absent.safetensors")
        with pytest.raises(WeightsError, match="checkpoint not found"):
            read_metadata(tmp_path / "absent.safetensors")

    def test_truncated(self, checkpoint: Path) -> None:
        data = checkpoint.read_bytes()
        checkpoint.write_bytes(data[: len(data) // 2])
        with pytest.raises(
            WeightsError, match="not a valid safetensors file.*truncated or corrupt"
        ):
            load_checkpoint(checkpoint)

    def test_truncated_inside_header(self, checkpoint: Path) -> None:
        checkpoint.write_bytes(checkpoint.read_bytes()[:20])
        with pytest.raises(WeightsError, match="not a valid safetensors file"):
            read_metadata(checkpoint)

    @pytest.mark.parametrize("content", [b"", b"hello, I am not a checkpoint", bytes(range(256))])
    def test_not_safetensors(self, tmp_path: Path, content: bytes) -> None:
        path = tmp_path / "junk.safetensors"
        path.write_bytes(content)
        with pytest.raises(WeightsError, match="not a valid safetensors file"):
            load_checkpoint(path)

    def test_flipped_tensor_byte(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        _flip_last_byte(checkpoint)
        with pytest.raises(WeightsError, match="checksum mismatch.*corrupt or was modified; re-"):
            load_checkpoint(checkpoint)

    def test_flipped_byte_caught_by_sidecar(self, checkpoint: Path) -> None:
        _flip_last_byte(checkpoint)
        with pytest.raises(WeightsError, match="does not match the sha256 in model.json"):
            load_checkpoint(checkpoint)

    def test_edited_threshold_caught_by_sidecar(self, checkpoint: Path) -> None:
        _rewrite(checkpoint, {**_header(checkpoint), "threshold": 0.1})
        with pytest.raises(WeightsError, match="corrupt or was modified"):
            load_checkpoint(checkpoint)

    def test_edited_sidecar(self, checkpoint: Path) -> None:
        sidecar = sidecar_path(checkpoint)
        record = json.loads(sidecar.read_text(encoding="utf-8"))
        sidecar.write_text(json.dumps({**record, "file_sha256": "0" * 64}), encoding="utf-8")
        with pytest.raises(WeightsError, match="does not match the sha256 in model.json"):
            load_checkpoint(checkpoint)

    def test_sidecar_without_sha(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).write_text("{}", encoding="utf-8")
        with pytest.raises(WeightsError, match="lacks file_sha256"):
            load_checkpoint(checkpoint)

    def test_no_cloud_fcn_metadata(self, checkpoint: Path) -> None:
        _rewrite(checkpoint, None)
        with pytest.raises(WeightsError, match="no 'cloud_fcn' metadata.*re-save"):
            read_metadata(checkpoint)

    def test_metadata_not_json(self, checkpoint: Path) -> None:
        save_file(load_file(checkpoint), checkpoint, metadata={"cloud_fcn": "{not json"})
        with pytest.raises(WeightsError, match="not valid JSON"):
            load_checkpoint(checkpoint)

    def test_invalid_metadata_value(self, checkpoint: Path) -> None:
        _rewrite(checkpoint, {**_header(checkpoint), "threshold": 1.5})
        with pytest.raises(WeightsError, match=r"threshold must be within \[0, 1\]"):
            read_metadata(checkpoint)

    def test_unknown_architecture(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        _rewrite(checkpoint, {**_header(checkpoint), "architecture": "segnet"})
        with pytest.raises(WeightsError, match="unknown architecture 'segnet'.*update the plugin"):
            load_checkpoint(checkpoint)

    def test_wrong_architecture_says_which_keys(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        header = {**_header(checkpoint), "architecture": "fcn8s"}
        _rewrite(checkpoint, header)
        with pytest.raises(WeightsError, match=r"do not fit fcn8s .*missing: .*unexpected: "):
            load_checkpoint(checkpoint)

    def test_wrong_width_says_which_shapes(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        header = {**_header(checkpoint), "arch_args": {"width": 0.5, "in_channels": 4}}
        _rewrite(checkpoint, header)
        with pytest.raises(WeightsError, match=r"shape: .*\(\d+,.*\) != \(\d+,"):
            load_checkpoint(checkpoint)

    def test_missing_key_with_valid_checksum(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        tensors = load_file(checkpoint)
        del tensors["refine.2.bias"]
        header = {**_header(checkpoint), "sha256": tensors_sha256(tensors)}
        _rewrite(checkpoint, header, tensors)
        with pytest.raises(WeightsError, match=r"missing: refine\.2\.bias"):
            load_checkpoint(checkpoint)

    def test_missing_tensor_sha(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        header = _header(checkpoint)
        del header["sha256"]
        _rewrite(checkpoint, header)
        with pytest.raises(WeightsError, match="lacks its tensor sha256"):
            load_checkpoint(checkpoint)


class _Payload:
    """Unpickling this creates a marker file: proof that a loader ran pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


class TestNoPickle:
    def test_torch_pt_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "model.pt"
        torch.save(_trained_model().state_dict(), path)
        with pytest.raises(WeightsError, match="is a PyTorch pickle.*unsafe.*safetensors"):
            load_checkpoint(path)

    def test_malicious_pickle_is_never_run(self, tmp_path: Path) -> None:
        marker = tmp_path / "pwned"
        path = tmp_path / "evil.safetensors"
        path.write_bytes(pickle.dumps(_Payload(marker), protocol=4))
        assert path.read_bytes()[:1] == b"\x80"
        with pytest.raises(WeightsError, match="PyTorch pickle"):
            load_checkpoint(path)
        with pytest.raises(WeightsError, match="PyTorch pickle"):
            read_metadata(path)
        assert not marker.exists()


class TestBounds:
    """A header is data from anywhere: what it asks for is bounded before anything is built."""

    @pytest.mark.parametrize(
        ("arch_args", "match"),
        [
            ({"width": 1000.0, "in_channels": 4}, "width 1000"),
            ({"width": 0.25, "in_channels": 4000}, "in_channels"),
            ({"width": 0.25, "in_channels": 3}, "in_channels"),
        ],
    )
    def test_arch_args_out_of_bounds(self, checkpoint: Path, arch_args: dict, match: str) -> None:
        sidecar_path(checkpoint).unlink()
        _rewrite(checkpoint, {**_header(checkpoint), "arch_args": arch_args})
        with pytest.raises(WeightsError, match=match):
            read_metadata(checkpoint)
        with pytest.raises(WeightsError, match=match):
            load_checkpoint(checkpoint)

    def test_huge_network_is_refused_on_the_meta_device(
        self, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # cloudnet at width 4: 583 million parameters, 2.3 GB if it were allocated.
        sidecar_path(checkpoint).unlink()
        header = {**_header(checkpoint), "architecture": "cloudnet"}
        _rewrite(checkpoint, {**header, "arch_args": {"width": 4.0, "in_channels": 4}})
        built_on: list[str] = []
        real_build = checkpoint_metadata.build_model

        def spy(*args, **kwargs):
            model = real_build(*args, **kwargs)
            built_on.append(next(model.parameters()).device.type)
            return model

        monkeypatch.setattr(checkpoint_metadata, "build_model", spy)
        with pytest.raises(WeightsError, match="parameters, more than"):
            load_checkpoint(checkpoint)
        assert built_on == ["meta"]

    def test_tile_size_bounded(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        _rewrite(checkpoint, {**_header(checkpoint), "tile_size": 100_000})
        with pytest.raises(WeightsError, match="tile_size 100000 exceeds 2048"):
            read_metadata(checkpoint)


DEEP = "[" * 100_000 + "]" * 100_000


class TestNumbersNoTrainedModelHas:
    """M6, L3, C8: a header or tensor that passes the format checks but is nonsense."""

    @pytest.mark.parametrize(
        ("changes", "match"),
        [
            ({"threshold": 1.0}, r"threshold must be strictly inside \(0, 1\)"),
            ({"threshold": 0.0}, r"threshold must be strictly inside \(0, 1\)"),
            ({"std": (1e-30,) * 4}, "std 1e-30 of red is below"),
            ({"mean": (1e30,) * 4}, "mean 1e[+]30 of red is not a reflectance"),
            ({"bands": ("red",) * 4}, "names red more than once"),
            ({"bands": ("pan",) * 4}, "pan .B8., which no model can read"),
            ({"bands": ("red", "green", "blue", "x")}, "'x' is not a Landsat 8 band"),
        ],
    )
    def test_refused_when_read(self, checkpoint: Path, changes: dict, match: str) -> None:
        sidecar_path(checkpoint).unlink()
        _rewrite(checkpoint, {**_header(checkpoint), **changes})
        with pytest.raises(WeightsError, match=f"model.safetensors: .*{match}"):
            read_metadata(checkpoint)

    def test_thermal_band_statistics_are_kelvin(self) -> None:
        bands = ("red", "green", "blue", "tirs1")
        _metadata(bands=bands, mean=(0.1, 0.1, 0.1, 280.0), std=(0.05, 0.05, 0.05, 20.0))
        with pytest.raises(ParameterError, match="mean 0.2 of tirs1 is not a temperature"):
            _metadata(bands=bands, mean=(0.1, 0.1, 0.1, 0.2), std=(0.05, 0.05, 0.05, 20.0))

    def test_non_finite_weights_are_refused_by_the_loader(self, checkpoint: Path) -> None:
        tensors = load_file(checkpoint)
        name = next(k for k in sorted(tensors) if k.endswith("weight"))
        tensors[name][:] = float("nan")
        sidecar_path(checkpoint).unlink()
        _rewrite(checkpoint, {**_header(checkpoint), "sha256": tensors_sha256(tensors)}, tensors)
        with pytest.raises(WeightsError, match=f"{name} holds NaN or infinite values.*re-train"):
            load_checkpoint(checkpoint)

    def test_non_finite_weights_are_not_saved(self, tmp_path: Path) -> None:
        model = _trained_model()
        with torch.no_grad():
            next(model.parameters())[:] = float("inf")
        with pytest.raises(WeightsError, match="NaN or infinite"):
            save_checkpoint(tmp_path / "m.safetensors", model, _metadata())
        assert list(tmp_path.iterdir()) == []


class TestHostileJson:
    """H4: JSON nested 100,000 deep gives one line, never a RecursionError."""

    def test_deep_header(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).unlink()
        text = json.dumps(_header(checkpoint))[:-1] + ', "x": ' + DEEP + "}"
        save_file(load_file(checkpoint), checkpoint, metadata={"cloud_fcn": text})
        for read in (read_metadata, load_checkpoint):
            with pytest.raises(WeightsError, match="metadata is not valid JSON"):
                read(checkpoint)

    def test_deep_sidecar(self, checkpoint: Path) -> None:
        sidecar_path(checkpoint).write_text(DEEP, encoding="utf-8")
        with pytest.raises(WeightsError, match="sidecar model.json is not valid JSON"):
            load_checkpoint(checkpoint)

    def test_default_threshold_falls_back(self, checkpoint: Path) -> None:
        from cloud_fcn_plugin.common.engine_call import default_threshold

        sidecar_path(checkpoint).unlink()
        text = json.dumps(_header(checkpoint))[:-1] + ', "x": ' + DEEP + "}"
        save_file(load_file(checkpoint), checkpoint, metadata={"cloud_fcn": text})
        value, note = default_threshold(checkpoint)
        assert value == 0.5 and "not valid JSON" in note


class TestNotARegularFile:
    def test_device_file(self) -> None:
        with pytest.raises(WeightsError, match="/dev/zero is not a regular file"):
            read_metadata("/dev/zero")

    def test_folder(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsError, match="is a folder, not a checkpoint file"):
            load_checkpoint(tmp_path)
