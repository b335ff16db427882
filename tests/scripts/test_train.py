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

from cloud_fcn_plugin.engine.predict import load_predictor
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

    def test_bad_range_is_rejected_by_argparse(self) -> None:
        with pytest.raises(SystemExit):
            train.build_parser().parse_args(["--train", "x", "--out", "o", "--gain-l1", "2"])
