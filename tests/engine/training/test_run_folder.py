"""A training run's folder: never replaced unasked, folds reused only by their own recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud_fcn_plugin.engine.errors import OutputExistsError
from cloud_fcn_plugin.engine.training.run_folder import (
    check_fold_recipe,
    check_run_folder,
    recipe_record,
    remove_run,
    write_json_atomically,
)


def _run(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("last.safetensors", "last.json", "history.csv"):
        (folder / name).write_text("old")
    return folder


class TestRunFolder:
    def test_an_empty_or_new_folder_is_free(self, tmp_path: Path) -> None:
        check_run_folder(tmp_path / "new", resume=False, overwrite=False)
        (tmp_path / "empty").mkdir()
        check_run_folder(tmp_path / "empty", resume=False, overwrite=False)

    def test_an_existing_run_needs_resume_or_overwrite(self, tmp_path: Path) -> None:
        run = _run(tmp_path / "run")
        with pytest.raises(OutputExistsError, match="already holds a training run.*--resume.*"
                           "--overwrite"):
            check_run_folder(run, resume=False, overwrite=False)
        check_run_folder(run, resume=True, overwrite=False)
        check_run_folder(run, resume=False, overwrite=True)
        assert (run / "last.safetensors").read_text() == "old"  # checking removes nothing

    def test_a_cross_validation_alone_leaves_the_final_model_to_its_folds(
        self, tmp_path: Path
    ) -> None:
        check_run_folder(_run(tmp_path / "run"), resume=False, overwrite=False, final_model=False)

    def test_a_file_is_not_a_run_folder(self, tmp_path: Path) -> None:
        (tmp_path / "scene.tif").write_text("data")
        with pytest.raises(OutputExistsError, match="is a file, not a folder"):
            check_run_folder(tmp_path / "scene.tif", resume=False, overwrite=True)
        assert (tmp_path / "scene.tif").read_text() == "data"

    def test_remove_run_deletes_run_files_only(self, tmp_path: Path) -> None:
        run = _run(tmp_path / "run")
        _run(run / "cv" / "fold0")
        (run / "cv" / "folds.json").write_text("[]")
        (run / "notes.txt").write_text("mine")
        remove_run(run)
        assert sorted(p.name for p in run.rglob("*") if p.is_file()) == ["notes.txt"]


RECIPE = {"architecture": "pixel_linear", "lr": 0.002, "out_dir": "a", "threads": 1}


class TestFoldRecipe:
    def test_a_new_fold_has_nothing_to_reuse(self, tmp_path: Path) -> None:
        assert not check_fold_recipe(tmp_path / "fold0", recipe_record(RECIPE, ["a"], ["b"]))

    def test_the_same_recipe_is_reused(self, tmp_path: Path) -> None:
        fold = _run(tmp_path / "fold0")
        record = recipe_record(RECIPE, ["a"], ["b"])
        write_json_atomically(fold / "recipe.json", record)
        # Where and how fast it ran is not part of the recipe.
        moved = recipe_record({**RECIPE, "out_dir": "b", "threads": 2}, ["a"], ["b"])
        assert check_fold_recipe(fold, moved)

    def test_a_fold_recorded_before_a_knob_existed_is_reused_while_it_is_off(
        self, tmp_path: Path
    ) -> None:
        fold = _run(tmp_path / "fold0")
        before = {**RECIPE, "augment": {"flips": True, "synthetic_prob": 0.0}}
        write_json_atomically(fold / "recipe.json", recipe_record(before, ["a"], ["b"]))
        off = {"synthetic_cumulus": 0.0, "surface_prob": 0.0, "surface_channels": ()}
        now = {**RECIPE, "augment": {**before["augment"], **off}}
        assert check_fold_recipe(fold, recipe_record(now, ["a"], ["b"]))
        on = {**RECIPE, "augment": {**now["augment"], "surface_prob": 0.5}}
        with pytest.raises(OutputExistsError, match="differs in augment"):
            check_fold_recipe(fold, recipe_record(on, ["a"], ["b"]))

    @pytest.mark.parametrize(
        ("changes", "names", "said"),
        [
            ({"architecture": "unet", "lr": 1e6}, (["a"], ["b"]), "differs in architecture, lr"),
            ({}, (["a", "c"], ["b"]), "differs in patches"),
        ],
    )
    def test_another_recipe_is_refused(
        self, tmp_path: Path, changes: dict, names: tuple, said: str
    ) -> None:
        fold = _run(tmp_path / "fold0")
        write_json_atomically(fold / "recipe.json", recipe_record(RECIPE, ["a"], ["b"]))
        with pytest.raises(OutputExistsError, match=f"another recipe .{said}.*another --out.*"
                           "--overwrite"):
            check_fold_recipe(fold, recipe_record({**RECIPE, **changes}, *names))

    def test_a_fold_without_a_record_is_refused(self, tmp_path: Path) -> None:
        fold = _run(tmp_path / "fold0")
        with pytest.raises(OutputExistsError, match="no recorded recipe"):
            check_fold_recipe(fold, recipe_record(RECIPE, ["a"], ["b"]))
        (fold / "recipe.json").write_text("[" * 100_000)
        with pytest.raises(OutputExistsError, match="no recorded recipe"):
            check_fold_recipe(fold, recipe_record(RECIPE, ["a"], ["b"]))
