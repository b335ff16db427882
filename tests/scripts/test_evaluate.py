"""scripts/evaluate.py: per-patch scoring on real patches, 38-Cloud scene reassembly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.conftest import REPO_ROOT, brightness_probability

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import evaluate

from cloud_fcn_plugin.engine.training.metrics import Confusion, confusion

SCENE_ID = "LC08_L1TP_999999_20200101_20200102_01_T1"
BANDS = ("red", "green", "blue", "nir")
CLEAR_DN, CLOUD_DN = 10000, 40000  # TOA 0.1 and 0.7 without sun correction
CLEAR_NIR_DN = 30000  # TOA 0.5: the clear ground is vegetation, bright in the NIR


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1)
    with rasterio.open(path, "w", dtype=array.dtype, **profile) as dst:
        dst.write(array, 1)


def make_38cloud_test(root: Path, shape: tuple[int, int] = (500, 700)) -> np.ndarray:
    """A synthetic 38-Cloud test folder: one scene cut into named 384x384 patches.

    Returns:
        The scene's cloud truth.
    """
    rng = np.random.default_rng(0)
    coarse = rng.random((shape[0] // 50 + 1, shape[1] // 50 + 1)) < 0.4
    truth = np.kron(coarse, np.ones((50, 50), bool))[: shape[0], : shape[1]]
    dn = {band: np.where(truth, CLOUD_DN, CLEAR_DN).astype(np.uint16) for band in BANDS}
    dn["nir"][~truth] = CLEAR_NIR_DN
    for band in BANDS:
        dn[band][:60, :80] = 0  # fill inside the scene footprint (clear in the truth)
    truth[:60, :80] = False
    rows, cols = -(-shape[0] // 384), -(-shape[1] // 384)
    padded = {band: np.zeros((rows * 384, cols * 384), np.uint16) for band in BANDS}
    top, left = (rows * 384 - shape[0]) // 2, (cols * 384 - shape[1]) // 2
    for band in BANDS:
        padded[band][top : top + shape[0], left : left + shape[1]] = dn[band]
    names, number = [], 0
    for r in range(rows):
        for c in range(cols):
            number += 1
            name = f"patch_{number}_{r + 1}_by_{c + 1}_{SCENE_ID}"
            names.append(name)
            for band in BANDS:
                tile = padded[band][r * 384 : (r + 1) * 384, c * 384 : (c + 1) * 384]
                _write(root / f"test_{band}" / f"{band}_{name}.TIF", tile)
    (root / "test_patches_38-Cloud.csv").write_text("name\n" + "\n".join(names[::-1]) + "\n")
    gt = root / "Entire_scene_gts" / f"edited_corrected_gts_{SCENE_ID}.TIF"
    _write(gt, truth.astype(np.uint8))
    return truth


@pytest.fixture(scope="module")
def fill_is_cloud_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pixel_linear checkpoint: logit 10 * (red + green + blue) - 10 * NIR + 1.

    On the synthetic scene it says cloud for cloud (15), clear for the NIR-bright
    clear ground (-1), and cloud for fill, which enters the network as black (1):
    the scene evaluation must still count fill as clear, as the 38-Cloud truth does.
    """
    import torch

    from cloud_fcn_plugin.engine.models import build_model
    from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
    from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint

    model = build_model("pixel_linear")
    with torch.no_grad():
        model.linear.weight.copy_(torch.tensor([10.0, 10.0, 10.0, -10.0]).view(1, 4, 1, 1))
        model.linear.bias.fill_(1.0)
    meta = CheckpointMetadata(
        architecture="pixel_linear",
        arch_args={"in_channels": 4},
        threshold=0.5,
        tile_size=128,
        overlap=16,
    )
    path = tmp_path_factory.mktemp("weights") / "fill_is_cloud.safetensors"
    save_checkpoint(path, model, meta)
    return path


class Test38CloudScenes:
    def test_reassembled_scene_scores_perfectly(
        self, tmp_path: Path, fill_is_cloud_weights: Path
    ) -> None:
        truth = make_38cloud_test(tmp_path / "test")
        out = tmp_path / "eval"
        argv = [f"38cloud-test:{tmp_path / 'test'}", "--weights", str(fill_is_cloud_weights)]
        assert evaluate.main([*argv, "--out-dir", str(out), "--overlays", "1", "--quiet"]) == 0
        data = json.loads((out / "metrics.json").read_text())
        assert data["unit"] == "scene"
        (unit,) = data["units"]
        assert unit["name"] == SCENE_ID
        assert unit["jaccard"] == 1.0 and unit["overall_accuracy"] == 1.0
        # The official protocol scores every pixel of the scene truth, fill included.
        assert unit["tp"] + unit["fp"] + unit["fn"] + unit["tn"] == truth.size
        assert unit["tp"] == int(truth.sum())
        assert (out / "overlays" / f"{SCENE_ID}.png").is_file()

    def test_valid_only_skips_fill(self, tmp_path: Path, brightness_weights) -> None:
        truth = make_38cloud_test(tmp_path / "test")
        argv = [f"38cloud-test:{tmp_path / 'test'}", "--weights", str(brightness_weights)]
        out = tmp_path / "eval"
        assert evaluate.main([*argv, "--valid-only", "--out-dir", str(out), "--quiet"]) == 0
        (unit,) = json.loads((out / "metrics.json").read_text())["units"]
        assert unit["tp"] + unit["fp"] + unit["fn"] + unit["tn"] == truth.size - 60 * 80

    def test_missing_scene_truth_is_one_line_error(
        self, tmp_path: Path, brightness_weights, capsys
    ) -> None:
        make_38cloud_test(tmp_path / "test")
        (tmp_path / "test" / "Entire_scene_gts" / f"edited_corrected_gts_{SCENE_ID}.TIF").unlink()
        argv = [str(tmp_path / "test"), "--weights", str(brightness_weights), "--quiet"]
        assert evaluate.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Entire_scene_gts" in err[0]


@pytest.mark.data
class TestBiomePatches:
    def test_scores_equal_an_independent_computation(
        self, tmp_path: Path, biome_dir: Path, brightness_weights
    ) -> None:
        out = tmp_path / "eval"
        argv = [f"biome:{biome_dir / 'val'}", "--weights", str(brightness_weights), "--quiet"]
        argv += ["--out-dir", str(out), "--threshold", "0.4", "--sweep", "--overlays", "2"]
        assert evaluate.main(argv) == 0
        data = json.loads((out / "metrics.json").read_text())
        assert data["threshold"] == 0.4 and len(data["units"]) == 8

        expected = Confusion()
        for image in sorted((biome_dir / "val" / "Images").glob("*.tif")):
            with rasterio.open(image) as src:
                reflectance = src.read((3, 2, 1, 4))  # red, green, blue, NIR
            with rasterio.open(biome_dir / "val" / "Masks" / image.name) as src:
                mask = src.read(1)
            predicted = brightness_probability(reflectance) > 0.4
            expected += confusion(predicted, np.isin(mask, (192, 255)), mask != 0)
        pooled = data["pooled"]
        assert pooled["jaccard"] == pytest.approx(expected.jaccard, abs=1e-3)
        assert pooled["overall_accuracy"] == pytest.approx(expected.overall_accuracy, abs=1e-3)
        assert set(data["per_scene"]) == set(pooled)
        assert len(data["sweep"]) == 19
        assert len(list((out / "overlays").glob("*.png"))) == 2
        table = (out / "metrics.md").read_text()
        assert "| pooled over all pixels |" in table and "| mean over patches |" in table

    def test_bad_threshold_is_rejected(self, biome_dir: Path, brightness_weights, capsys) -> None:
        argv = [f"biome:{biome_dir / 'val'}", "--weights", str(brightness_weights)]
        assert evaluate.main([*argv, "--threshold", "1.5"]) == 2
        assert "between 0 and 1" in capsys.readouterr().err


def _mismatched_biome(root: Path, biome_dir: Path) -> Path:
    """An L8 Biome folder whose one mask is 100x100 for a 256x256 image (mkdata's bio_mism)."""
    import shutil

    first = sorted((biome_dir / "val" / "Images").glob("*.tif"))[0]
    (root / "Images").mkdir(parents=True)
    shutil.copy(first, root / "Images" / "X_00.tif")
    with rasterio.open(biome_dir / "val" / "Masks" / first.name) as src:
        mask = src.read(1, window=((0, 100), (0, 100)))
    _write(root / "Masks" / "X_00.tif", mask)
    return root


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.data
class TestRefusedBeforeTheRun:
    """H12: data and output problems are one line, found before anything is predicted."""

    def test_mask_of_another_size(
        self, tmp_path: Path, biome_dir: Path, brightness_weights, capsys, monkeypatch
    ) -> None:
        data = _mismatched_biome(tmp_path / "bio_mism", biome_dir)
        monkeypatch.setattr(evaluate, "evaluate_patches", _must_not_run)
        argv = [f"biome:{data}", "--weights", str(brightness_weights), "--quiet"]
        assert evaluate.main(argv) == 2
        assert "is 100x100 but its image is 256x256" in _error_line(capsys)

    @pytest.mark.parametrize("kind", ["file", "unreachable"])
    def test_bad_out_dir(
        self, tmp_path: Path, biome_dir: Path, brightness_weights, capsys, monkeypatch, kind
    ) -> None:
        if kind == "file":
            out = tmp_path / "big4k.tif"
            out.write_bytes(b"a scene")
        else:
            out = Path("/proc/x/y")
        monkeypatch.setattr(evaluate, "evaluate_patches", _must_not_run)
        argv = [f"biome:{biome_dir / 'val'}", "--weights", str(brightness_weights), "--quiet"]
        assert evaluate.main([*argv, "--out-dir", str(out)]) == 2
        assert "--out-dir" in _error_line(capsys)
        if kind == "file":
            assert out.read_bytes() == b"a scene"


def _must_not_run(*_args, **_kwargs):
    raise AssertionError("the evaluation ran before the up-front checks")


class TestLastResort:
    def test_deep_json_checkpoint_is_one_line(self, tmp_path: Path, brightness_weights, capsys):
        from safetensors.torch import load_file, save_file

        broken = tmp_path / "deep_json.safetensors"
        save_file(load_file(brightness_weights), broken, metadata={"cloud_fcn": "[" * 100_000})
        assert evaluate.main(["biome:/nonexistent", "--weights", str(broken)]) == 2
        assert "not valid JSON" in _error_line(capsys)

    def test_an_unexpected_error_is_one_line(self, monkeypatch, capsys) -> None:
        def broken(*_args):
            raise MemoryError()

        monkeypatch.setattr(evaluate, "run", broken)
        assert evaluate.main(["biome:/x"]) == 1
        assert "out of memory" in _error_line(capsys)
