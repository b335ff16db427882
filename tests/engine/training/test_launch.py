"""engine/training/launch and patch_sets: a training command's checks, data and outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_fcn_plugin.engine.errors import OutputExistsError, ParameterError
from cloud_fcn_plugin.engine.training.config import TrainConfig
from cloud_fcn_plugin.engine.training.datasets import PatchSpec
from cloud_fcn_plugin.engine.training.launch import (
    TrainingOutcome,
    TrainingRequest,
    check_request,
    recalibrate_on,
    train,
)
from cloud_fcn_plugin.engine.training.patch_sets import (
    DataOptions,
    describe,
    load_patch_sets,
    split_validation,
)


class TestPatchSets:
    def test_pairs_bands_must_be_four(self) -> None:
        with pytest.raises(ParameterError, match="four indices"):
            load_patch_sets([], DataOptions(pairs_bands=(1, 2, 3)))

    def test_validation_share_is_checked(self) -> None:
        with pytest.raises(ParameterError, match=r"\[0, 1\)"):
            split_validation([PatchSpec("a")], 1.0, seed=0)

    def test_describe_names_the_patches(self) -> None:
        entry = describe(("biome:x",), [PatchSpec("a"), PatchSpec("b")])
        assert entry == {"datasets": ["biome:x"], "patches": 2, "names": ["a", "b"]}

    @pytest.mark.data
    def test_four_band_files_are_left_out_of_a_six_band_model(
        self, biome_dir: Path, cloud38_dir: Path
    ) -> None:
        notes: list[str] = []
        texts = [f"biome:{biome_dir / 'val'}", f"38cloud:{cloud38_dir}"]
        specs = load_patch_sets(texts, DataOptions(bands="sixband"), notes.append)
        assert len(specs) == 8 and all(s.model_bands for s in specs)
        assert notes == ["Left out 1 patches stored as four band files (no B6-B10)."]
        assert len(load_patch_sets(texts, DataOptions())) == 9


class TestRequest:
    def test_training_needs_data_and_a_folder(self, tmp_path: Path) -> None:
        with pytest.raises(ParameterError, match="--train DATASET and --out FOLDER"):
            check_request(TrainingRequest([]), tmp_path)
        with pytest.raises(ParameterError, match="--train DATASET and --out FOLDER"):
            check_request(TrainingRequest(["biome:x"]), None)

    def test_resume_and_overwrite_exclude_each_other(self, tmp_path: Path) -> None:
        request = TrainingRequest(["biome:x"], resume=tmp_path / "last.safetensors",
                                  overwrite=True)  # fmt: skip
        with pytest.raises(ParameterError, match="give one of them"):
            check_request(request, tmp_path)

    def test_a_file_is_no_run_folder(self, tmp_path: Path) -> None:
        (tmp_path / "f").write_text("x", encoding="utf-8")
        with pytest.raises(OutputExistsError, match="is a file, not a folder"):
            check_request(TrainingRequest(["biome:x"]), tmp_path / "f")

    def test_recalibration_needs_validation_patches(self, tmp_path: Path) -> None:
        with pytest.raises(ParameterError, match="--recalibrate needs labelled patches"):
            recalibrate_on(tmp_path / "m.safetensors", [], DataOptions(), "jaccard", (1.0,), "")


class TestOutcome:
    def test_each_kind_of_run_ends_with_its_line(self, tmp_path: Path) -> None:
        assert TrainingOutcome(tmp_path / "cv" / "report.md").summary() == (
            f"Cross-validation report: {tmp_path / 'cv' / 'report.md'}"
        )
        final = TrainingOutcome("m.safetensors", 0.41234, cross_validated=True)
        assert final.summary() == "Done: m.safetensors (threshold 0.412 from the cross-validation)."
        plain = TrainingOutcome("best.safetensors", 0.5, log_dir=tmp_path)
        assert plain.summary() == f"Done: best.safetensors (threshold 0.500); log in {tmp_path}."


@pytest.mark.data
@pytest.mark.slow
def test_a_tiny_run_logs_and_returns_its_model(tmp_path: Path, biome_dir: Path) -> None:
    lines: list[str] = []
    config = TrainConfig(
        out_dir=tmp_path / "run", architecture="pixel_linear", epochs=1, samples_per_epoch=4,
        patch_size=64, batch_size=4, threads=1, device="cpu",
    )  # fmt: skip
    request = TrainingRequest([f"biome:{biome_dir / 'val'}"], val_split=0.25, command="test")
    check_request(request, config.out_dir)
    outcome = train(request, config, lines.append)
    assert Path(outcome.path).is_file() and outcome.log_dir == config.out_dir
    assert 0.0 < (outcome.threshold or 0) < 1.0 and lines
