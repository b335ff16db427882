"""scripts/train.py: a tiny real run, its outputs, resume, and clear errors."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import train

from cloud_fcn_plugin.engine.inference.predictor import load_predictor
from cloud_fcn_plugin.engine.training.datasets import PatchSpec

TINY = [
    "--width",
    "0.25",
    "--patch-size",
    "64",
    "--batch-size",
    "2",
    "--samples-per-epoch",
    "4",
    "--tile-size",
    "128",
    "--overlap",
    "16",
    "--threads",
    "1",
    "--device",
    "cpu",
]


@pytest.fixture
def data_args(biome_dir: Path, cloud38_dir: Path) -> list[str]:
    return [
        "--train",
        f"biome:{biome_dir / 'train'}",
        "--train",
        f"38cloud:{cloud38_dir}",
        "--val",
        f"biome:{biome_dir / 'val'}",
    ]


@pytest.mark.data
@pytest.mark.slow
class TestTrainScript:
    def test_one_epoch_then_resume(self, tmp_path: Path, data_args: list[str], capsys) -> None:
        out = tmp_path / "run"
        assert train.main([*data_args, *TINY, "--epochs", "1", "--out", str(out)]) == 0
        assert "Done:" in capsys.readouterr().out
        for name in (
            "best.safetensors",
            "last.safetensors",
            "last.state.safetensors",
            "last.state.json",
            "history.csv",
            "curves.png",
            "summary.json",
        ):
            assert (out / name).is_file(), name
        meta = json.loads((out / "best.json").read_text())
        provenance = meta["provenance"]
        assert provenance["command"].startswith("python scripts/train.py --train biome:")
        assert provenance["train_data"]["patches"] == 24  # 23 Biome + 1 38-Cloud
        assert provenance["validation_data"]["patches"] == 8
        assert 0.05 <= meta["threshold"] <= 0.95
        assert len(meta["metrics"]["validation_patches"]) == 8

        resumed = [*data_args, *TINY, "--epochs", "2", "--out", str(out)]
        assert train.main([*resumed, "--resume", str(out / "last.safetensors")]) == 0
        with open(out / "history.csv", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert [int(r["epoch"]) for r in rows] == [1, 2]
        assert [int(r["step"]) for r in rows] == [2, 4]
        predictor = load_predictor(out / "last.safetensors", device="cpu")
        assert predictor.metadata.provenance["epochs_trained"] == 2

    def test_recalibrate_updates_threshold_and_metrics(
        self, tmp_path: Path, data_args: list[str]
    ) -> None:
        out = tmp_path / "run"
        assert train.main([*data_args, *TINY, "--epochs", "1", "--out", str(out)]) == 0
        checkpoint = out / "last.safetensors"
        val = data_args[-2:]
        argv = [*val, "--val-gains", "1,0.7", "--recalibrate", str(checkpoint)]
        assert train.main(argv) == 0
        meta = json.loads((out / "last.json").read_text())
        assert meta["metrics"]["validation_gains"] == [1.0, 0.7]
        assert "--recalibrate" in meta["provenance"]["recalibrated"]["command"]
        assert load_predictor(checkpoint, device="cpu").metadata.threshold == meta["threshold"]

    def test_cross_validation_then_final_model(
        self, tmp_path: Path, data_args: list[str], capsys
    ) -> None:
        out = tmp_path / "cv_run"
        argv = [*data_args, *TINY, "--arch", "unet", "--epochs", "1", "--folds", "3"]
        assert train.main([*argv, "--jobs", "2", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert "L8 Biome, pooled" in printed and "(out of fold)" in printed
        folds = json.loads((out / "cv" / "folds.json").read_text())
        assert sorted(g for fold in folds for g in fold)[0] == "38-Cloud " + (
            "LC08_L1TP_002053_20160520_20170324_01_T1"
        )
        report = json.loads((out / "cv" / "report.json").read_text())
        assert report["at_oof"]["pooled"]["patches"] == 32  # --val patches are pooled in
        meta = json.loads((out / "last.json").read_text())
        assert meta["threshold"] == report["threshold"]
        assert meta["metrics"]["cross_validation"]["at_oof"] == report["at_oof"]
        assert meta["provenance"]["train_data"]["patches"] == 32

        # A finished cross-validation is not trained again, and evaluate.py re-scores it.
        stamp = (out / "cv" / "fold0" / "last.safetensors").stat().st_mtime_ns
        assert train.main([*argv, "--cv-only", "--out", str(out)]) == 0
        assert (out / "cv" / "fold0" / "last.safetensors").stat().st_mtime_ns == stamp
        import evaluate

        assert evaluate.main([f"cv:{out / 'cv'}", "--threshold", "0.5"]) == 0
        assert "threshold 0.500 (given)" in capsys.readouterr().out

    def test_full_band_training_reads_eight_bands(
        self, tmp_path: Path, data_args: list[str], capsys
    ) -> None:
        out = tmp_path / "fullband"
        argv = [*data_args, *TINY, "--bands", "fullband", "--epochs", "1", "--out", str(out)]
        assert train.main(argv) == 0
        assert "Left out 1 patches stored as four band files" in capsys.readouterr().out
        meta = json.loads((out / "last.json").read_text())
        assert meta["bands"] == ["blue", "green", "red", "nir", "swir1", "swir2", "cirrus", "tirs1"]
        assert meta["arch_args"]["in_channels"] == 8
        assert meta["mean"][7] > 200  # thermal statistics in kelvin

    def test_missing_dataset_is_one_line_error(self, tmp_path: Path, capsys) -> None:
        code = train.main(["--train", f"biome:{tmp_path}", "--out", str(tmp_path / "o")])
        assert code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "does not exist" in err[0]


class TestHelpers:
    def test_val_split_is_reproducible_and_disjoint(self) -> None:
        specs = [PatchSpec(f"p{i}") for i in range(10)]
        train_a, val_a = train.split_validation(specs, 0.3, seed=1)
        train_b, val_b = train.split_validation(specs, 0.3, seed=1)
        assert [s.name for s in val_a] == [s.name for s in val_b]
        assert len(val_a) == 3 and len(train_a) == 7
        assert not {s.name for s in val_a} & {s.name for s in train_a}

    def test_no_augment_turns_everything_off(self) -> None:
        args = train.build_parser().parse_args(["--train", "x", "--out", "o", "--no-augment"])
        config = train.config_from_args(args)
        assert config.augment.mix_prob == 0 and config.augment.scale_prob == 0
        assert not config.augment.flips

    @pytest.mark.parametrize(("bands", "channels"), [("rgbn", (2, 1, 0)), ("sixband", (0, 1, 2))])
    def test_surface_like_input_finds_blue_green_red_in_the_band_set(self, bands, channels) -> None:
        base = ["--train", "x", "--out", "o", "--bands", bands]
        args = train.build_parser().parse_args([*base, "--surface-prob", "0.5"])
        assert train.config_from_args(args).augment.surface_channels == channels
        args = train.build_parser().parse_args(base)  # off: the recipe is as it was
        assert train.config_from_args(args).augment.surface_channels == ()

    def test_bad_range_is_rejected_by_argparse(self) -> None:
        with pytest.raises(SystemExit):
            train.build_parser().parse_args(["--train", "x", "--out", "o", "--gain-l1", "2"])


# The audit's runs made small: one Biome folder, the pixel model, one short epoch.
QUICK = [
    "--arch",
    "pixel_linear",
    "--epochs",
    "1",
    "--samples-per-epoch",
    "4",
    "--patch-size",
    "64",
    "--batch-size",
    "4",
    "--threads",
    "1",
    "--device",
    "cpu",
]


def _one_line_error(capsys) -> str:
    """The one error line on stderr (progress bars may come before it), and no traceback."""
    return _error_line(capsys.readouterr().err)


def _error_line(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err[-2000:]
    assert "Traceback" not in err
    return errors[0]


@pytest.mark.data
@pytest.mark.slow
class TestNothingLost:
    """C8-C10, H11, H12: a run never replaces a model unasked, nor saves a broken one."""

    def test_an_existing_run_is_not_replaced_unasked(
        self, tmp_path: Path, biome_dir: Path, capsys
    ) -> None:
        out = tmp_path / "ok"
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--out", str(out)]
        assert train.main(argv) == 0
        model = (out / "last.safetensors").read_bytes()
        capsys.readouterr()
        assert train.main([*argv, "--seed", "5"]) == 2
        assert "already holds a training run" in _one_line_error(capsys)
        assert (out / "last.safetensors").read_bytes() == model
        assert train.main([*argv, "--seed", "5", "--overwrite"]) == 0
        assert (out / "last.safetensors").read_bytes() != model

    def test_a_cross_validation_of_another_recipe_is_refused(
        self, tmp_path: Path, biome_dir: Path, capsys
    ) -> None:
        out = tmp_path / "cv"
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--folds", "2", "--cv-only"]
        assert train.main([*argv, "--out", str(out)]) == 0
        report = (out / "cv" / "report.json").read_bytes()
        capsys.readouterr()
        assert train.main([*argv, "--lr", "0.5", "--out", str(out)]) == 2
        line = _one_line_error(capsys)
        assert "another recipe (differs in lr)" in line and "--overwrite" in line
        assert (out / "cv" / "report.json").read_bytes() == report
        # The same recipe reuses its folds, as before.
        assert train.main([*argv, "--out", str(out)]) == 0
        assert (out / "cv" / "report.json").read_bytes() == report

    def test_a_diverged_run_exits_non_zero_without_done(
        self, tmp_path: Path, biome_dir: Path, capsys
    ) -> None:
        out = tmp_path / "nan"
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--arch", "unet", "--width",
                "0.25", "--epochs", "3", "--samples-per-epoch", "16", "--lr", "1e6"]
        assert train.main([*argv, "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert "Done:" not in captured.out
        line = _error_line(captured.err)
        assert "diverged" in line and "lower --lr" in line
        if (out / "last.safetensors").exists():
            load_predictor(out / "last.safetensors", device="cpu")  # finite, or refused

    def test_out_is_a_file(self, tmp_path: Path, biome_dir: Path, capsys) -> None:
        scene = tmp_path / "big4k.tif"
        scene.write_bytes(b"a scene")
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--out", str(scene)]
        assert train.main(argv) == 2
        assert "is a file, not a folder" in _one_line_error(capsys)
        assert scene.read_bytes() == b"a scene"

    def test_damaged_state_on_resume(self, tmp_path: Path, biome_dir: Path, capsys) -> None:
        out = tmp_path / "run"
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--out", str(out)]
        assert train.main(argv) == 0
        state = out / "last.state.json"
        state.write_bytes(state.read_bytes()[:100])
        capsys.readouterr()
        resume = [*argv, "--epochs", "2", "--resume", str(out / "last.safetensors")]
        assert train.main(resume) == 2
        assert "is damaged" in _one_line_error(capsys)

    def test_full_disk_is_one_line(self, tiny_disk: Path, biome_dir: Path, capsys) -> None:
        # Leave about 40 kB: the checkpoints fit, the state or the plot does not.
        (tiny_disk / "fill").write_bytes(b"\0" * (1024 * 1024 - 40 * 1024))
        out = tiny_disk / "run"
        argv = ["--train", f"biome:{biome_dir / 'val'}", *QUICK, "--arch", "unet", "--width",
                "0.25", "--out", str(out)]
        assert train.main(argv) in (1, 2)
        line = _one_line_error(capsys)
        assert "disk space" in line
        if out.exists():
            assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


class TestLastResort:
    def test_an_unexpected_error_is_one_line(self, monkeypatch, capsys) -> None:
        def broken(*_args):
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory\nmore detail")

        monkeypatch.setattr(train, "run", broken)
        assert train.main(["--train", "x", "--out", "o"]) == 1
        line = _one_line_error(capsys)
        assert "RuntimeError: DefaultCPUAllocator" in line
