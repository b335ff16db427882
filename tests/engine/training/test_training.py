"""Training a model: schedule, resumable state, the patch bank, the trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cloud_fcn_plugin.engine.errors import (
    OutputNotWritableError,
    ParameterError,
    WeightsError,
)
from cloud_fcn_plugin.engine.inference.predictor import load_predictor
from cloud_fcn_plugin.engine.inference.whole_scene import predict_scene
from cloud_fcn_plugin.engine.scene.scaling import to_reflectance
from cloud_fcn_plugin.engine.training.augment import AugmentConfig
from cloud_fcn_plugin.engine.training.config import TrainConfig
from cloud_fcn_plugin.engine.training.datasets import biome_patches
from cloud_fcn_plugin.engine.training.patches import PatchBank
from cloud_fcn_plugin.engine.training.schedule import LrSchedule
from cloud_fcn_plugin.engine.training.state import load_train_state, save_train_state
from cloud_fcn_plugin.engine.training.trainer import Trainer
from cloud_fcn_plugin.engine.training.validation import GainReader
from tests.engine.training.test_datasets import MIXED_PATCH


def _tiny_config(out: Path, **overrides) -> TrainConfig:
    values = dict(
        out_dir=out,
        width=0.25,
        patch_size=64,
        batch_size=2,
        epochs=1,
        samples_per_epoch=4,
        lr=5e-3,
        threads=1,
        tile_size=128,
        overlap=16,
        augment=AugmentConfig.off(),
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def mixed_spec(biome_dir):
    return [s for s in biome_patches(biome_dir / "train") if s.name == MIXED_PATCH]


class TestSchedule:
    def test_cosine_warms_up_then_decays_to_one_percent(self):
        schedule = LrSchedule(TrainConfig(Path("x"), epochs=10, warmup_epochs=1, lr=1.0), 10)
        assert schedule.lr_at(0) == pytest.approx(0.1)
        assert schedule.lr_at(9) == pytest.approx(1.0)
        assert schedule.lr_at(99) == pytest.approx(0.01, abs=1e-3)
        assert schedule.lr_at(50) < schedule.lr_at(20)

    def test_plateau_halves_and_round_trips(self):
        config = TrainConfig(Path("x"), schedule="plateau", lr=1.0, plateau_patience=3)
        schedule = LrSchedule(config, 10)
        for score in (0.5, 0.5, 0.5, 0.5):
            schedule.epoch_end(score)
        assert schedule.lr_at(0) == 0.5
        copy = LrSchedule(TrainConfig(Path("x"), schedule="plateau", lr=1.0), 10)
        copy.load_state_dict(schedule.state_dict())
        assert copy.state_dict() == schedule.state_dict()


class TestTrainState:
    def test_optimizer_state_round_trips_without_pickle(self, tmp_path):
        model = torch.nn.Linear(3, 2)
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
        model(torch.randn(4, 3)).sum().backward()
        optimizer.step()
        checkpoint = tmp_path / "last.safetensors"
        extra = {"weight": torch.arange(4.0)}
        save_train_state(checkpoint, optimizer, {"epoch": 3, "step": 7}, extra)
        fresh = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.5)
        loop, restored_extra = load_train_state(checkpoint, fresh)
        assert (loop["epoch"], loop["step"]) == (3, 7)
        assert torch.equal(restored_extra["weight"], extra["weight"])
        before, after = optimizer.state_dict(), fresh.state_dict()
        assert after["param_groups"][0]["lr"] == 0.1
        for index, values in before["state"].items():
            for key, value in values.items():
                restored = after["state"][index][key]
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(restored))

    def test_missing_state_raises(self, tmp_path):
        optimizer = torch.optim.AdamW(torch.nn.Linear(1, 1).parameters())
        with pytest.raises(WeightsError, match="resume"):
            load_train_state(tmp_path / "last.safetensors", optimizer)

    @pytest.mark.parametrize(("suffix", "size"), [(".state.json", 100), (".state.safetensors", 40)])
    def test_damaged_state_is_one_clear_error(self, tmp_path, suffix, size):
        optimizer = _stepped_optimizer()
        checkpoint = tmp_path / "last.safetensors"
        save_train_state(checkpoint, optimizer, {"epoch": 1, "step": 2})
        damaged = tmp_path / f"last{suffix}"
        damaged.write_bytes(damaged.read_bytes()[:size])
        with pytest.raises(WeightsError, match="training state beside .* is damaged.*--overwrite"):
            load_train_state(checkpoint, _stepped_optimizer())

    def test_deeply_nested_state_is_damaged_not_a_recursion_error(self, tmp_path):
        checkpoint = tmp_path / "last.safetensors"
        save_train_state(checkpoint, _stepped_optimizer(), {"epoch": 1, "step": 2})
        (tmp_path / "last.state.json").write_text("[" * 100_000 + "]" * 100_000)
        with pytest.raises(WeightsError, match="is damaged"):
            load_train_state(checkpoint, _stepped_optimizer())

    def test_full_disk_keeps_the_previous_state_whole(self, tiny_disk):
        checkpoint = tiny_disk / "last.safetensors"
        save_train_state(checkpoint, _stepped_optimizer(), {"epoch": 1, "step": 2})
        before = {p.name: p.read_bytes() for p in tiny_disk.iterdir()}
        too_big = {"weight": torch.zeros(400_000)}  # 1.6 MB on a 1 MB disk
        with pytest.raises(OutputNotWritableError, match="training state.*free disk space"):
            save_train_state(checkpoint, _stepped_optimizer(), {"epoch": 2, "step": 4}, too_big)
        assert {p.name: p.read_bytes() for p in tiny_disk.iterdir()} == before
        loop, _ = load_train_state(checkpoint, _stepped_optimizer())
        assert loop["step"] == 2


def _stepped_optimizer() -> torch.optim.Optimizer:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    return optimizer


@pytest.mark.data
class TestPatchBank:
    def test_large_collections_are_read_on_demand(self, biome_dir):
        specs = biome_patches(biome_dir / "val")
        lazy = PatchBank(specs, preload_limit=0, sample_size=2)
        eager = PatchBank(specs)
        assert not lazy.preloaded and eager.preloaded
        assert np.array_equal(lazy[3].reflectance, eager[3].reflectance)
        assert lazy.weights.sum() == pytest.approx(1.0)
        assert 0.0 <= lazy.cloud_fraction() <= 1.0
        assert len(lazy.statistics()[0]) == 4


@pytest.mark.data
@pytest.mark.slow
class TestTrainer:
    def test_a_few_steps_on_a_real_patch_lower_the_loss(self, tmp_path, mixed_spec):
        torch.manual_seed(0)
        # 15 steps planned, so the cosine schedule does not end before the last step.
        config = _tiny_config(
            tmp_path, batch_size=4, samples_per_epoch=60, warmup_epochs=0, lr=1e-2
        )
        trainer = Trainer(config, mixed_spec)
        samples = [trainer.dataset[i] for i in range(4)]
        x, target, valid = (torch.stack(t) for t in zip(*samples, strict=True))
        losses = [trainer.train_step(x, target, valid) for _ in range(15)]
        assert np.mean(losses[-3:]) < 0.8 * losses[0]
        assert trainer.step == 15

    def test_resume_continues_from_the_saved_step(self, tmp_path, mixed_spec):
        first = Trainer(_tiny_config(tmp_path, epochs=1), mixed_spec, mixed_spec)
        first.fit()
        assert first.step == first.steps_per_epoch == 2
        saved = first.optimizer.state_dict()["state"]

        second = Trainer(_tiny_config(tmp_path, epochs=2), mixed_spec, mixed_spec)
        second.resume(tmp_path / "last.safetensors")
        assert (second.epoch, second.step) == (1, 2)
        restored = second.optimizer.state_dict()["state"]
        assert torch.equal(saved[0]["exp_avg"], restored[0]["exp_avg"])
        second.fit()
        assert (second.epoch, second.step) == (2, 4)
        assert [row["epoch"] for row in second.history] == [1, 2]
        history = (tmp_path / "history.csv").read_text().splitlines()
        assert len(history) == 3 and history[0].startswith("epoch,step,lr,train_loss")
        assert (tmp_path / "curves.png").stat().st_size > 0

    def test_ema_is_saved_and_resumed(self, tmp_path, mixed_spec):
        first = Trainer(_tiny_config(tmp_path, ema=0.9), mixed_spec)
        first.fit()
        raw = {k: v.clone() for k, v in first.model.state_dict().items()}
        average = {k: v.clone() for k, v in first.ema.state_dict().items()}
        key = next(k for k in raw if k.endswith("weight"))
        assert not torch.equal(raw[key], average[key])
        second = Trainer(_tiny_config(tmp_path, ema=0.9, epochs=2), mixed_spec)
        second.resume(tmp_path / "last.safetensors")
        assert torch.equal(second.model.state_dict()[key], raw[key])
        assert torch.equal(second.ema.state_dict()[key], average[key])
        # The checkpoint the engine loads holds the average.
        predictor = load_predictor(tmp_path / "last.safetensors", device="cpu")
        assert torch.equal(predictor.model.state_dict()[key], average[key])

    def test_a_diverged_run_stops_and_saves_no_broken_model(self, tmp_path, mixed_spec):
        config = _tiny_config(tmp_path, architecture="unet", epochs=3, lr=1e6, warmup_epochs=0)
        diverged = "training (loss|weights) became .*diverged.*lower --lr"
        with pytest.raises(ParameterError, match=diverged):
            Trainer(config, mixed_spec).fit()
        last = tmp_path / "last.safetensors"
        if last.exists():  # an epoch before the loss broke: finite weights only
            load_predictor(last, device="cpu")

    def test_resume_refuses_a_state_from_another_step(self, tmp_path, mixed_spec):
        Trainer(_tiny_config(tmp_path), mixed_spec).fit()
        state = tmp_path / "last.state.json"
        state.write_text(state.read_text().replace('"step": 2', '"step": 7'))
        last = tmp_path / "last.safetensors"
        with pytest.raises(WeightsError, match="from step 7, the checkpoint from step 2"):
            Trainer(_tiny_config(tmp_path, epochs=2), mixed_spec).resume(last)

    def test_resume_refuses_statistics_that_are_not_the_checkpoints(self, tmp_path, mixed_spec):
        import json

        Trainer(_tiny_config(tmp_path), mixed_spec).fit()
        state = tmp_path / "last.state.json"
        payload = json.loads(state.read_text())
        payload["mean"] = [float("nan")] * len(payload["mean"])
        state.write_text(json.dumps(payload))
        with pytest.raises(WeightsError, match="damaged .*statistics are not the checkpoint's"):
            Trainer(_tiny_config(tmp_path, epochs=2), mixed_spec).resume(
                tmp_path / "last.safetensors"
            )

    def test_resume_with_another_architecture_raises(self, tmp_path, mixed_spec):
        Trainer(_tiny_config(tmp_path), mixed_spec).fit()
        other = Trainer(_tiny_config(tmp_path, width=0.5), mixed_spec)
        with pytest.raises(WeightsError, match="same --arch"):
            other.resume(tmp_path / "last.safetensors")

    def test_gain_reader_relights_the_engine_reader(self, mixed_spec):
        with mixed_spec[0].open_reader() as reader:
            plain, valid = reader.read_all()
            relit = GainReader(reader, 0.7)
            raw, same_valid = relit.read_raw(0, 0, reader.height, reader.width)
            darker = to_reflectance(raw, relit.scaling)
            assert relit.width == reader.width
        assert np.array_equal(valid, same_valid)
        np.testing.assert_allclose(darker[:, valid], plain[:, valid] * 0.7, rtol=1e-5, atol=1e-6)

    def test_checkpoint_loads_in_the_engine_with_calibration(self, tmp_path, mixed_spec):
        config = _tiny_config(tmp_path, val_gains=(1.0, 0.7))
        summary = Trainer(config, mixed_spec, mixed_spec).fit()
        predictor = load_predictor(tmp_path / "best.safetensors", device="cpu")
        meta = predictor.metadata
        assert meta.architecture == "cloudfcn_lite" and meta.arch_args["width"] == 0.25
        assert meta.threshold == pytest.approx(summary["best"]["threshold"])
        assert 0.05 <= meta.threshold <= 0.95
        assert meta.metrics["validation_patches"] == [MIXED_PATCH]
        assert set(meta.metrics["by_gain_at_calibrated_threshold"]) == {"1.0", "0.7"}
        assert "jaccard" in meta.metrics["at_calibrated_threshold"]["pooled"]
        assert meta.provenance["recipe"]["width"] == 0.25
        assert (meta.tile_size, meta.overlap) == (128, 16)
        with mixed_spec[0].open_reader() as reader:
            probability, valid = predict_scene(reader, predictor)
        assert probability.shape == (256, 256) and valid.all()
        assert probability.min() >= 0.0 and probability.max() <= 1.0
