"""scripts/set_snow_veto.py: the veto added to a trained checkpoint, weights unchanged."""

from __future__ import annotations

import sys

import torch

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import set_snow_veto

from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.checkpoints import load_checkpoint, save_checkpoint
from cloud_fcn_plugin.engine.scene.bands import SIXBAND_BANDS, band_names


def _checkpoint(path, indices=True):
    extra = {"indices": [[1, 4]], "index_mean": [0.2] * 6, "index_std": [0.1] * 6}
    model = build_model("unet", width=0.25, in_channels=6, **(extra if indices else {}))
    meta = CheckpointMetadata("unet", dict(model.arch_args), bands=band_names(SIXBAND_BANDS),
                              mean=(0.2,) * 6, std=(0.1,) * 6, threshold=0.4)
    save_checkpoint(path, model, meta)
    return path


def test_adds_the_veto_and_keeps_the_weights(tmp_path):
    source = _checkpoint(tmp_path / "m.safetensors")
    target = tmp_path / "veto.safetensors"
    assert set_snow_veto.main([str(source), "-o", str(target)]) == 0
    model, meta = load_checkpoint(target, device="cpu")
    assert meta.arch_args["snow_veto"] == 0.4 and meta.arch_args["veto_bands"] == [1, 3, 4]
    original, _ = load_checkpoint(source, device="cpu")
    for (name, a), b in zip(original.state_dict().items(), model.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    snow = torch.tensor([0.3, 0.8, 0.3, 0.7, 0.05, 0.05]).view(1, 6, 1, 1).expand(1, 6, 32, 32)
    with torch.no_grad():
        probability = torch.sigmoid(model((snow - 0.2) / 0.1))
    assert float(probability.max()) < 1e-6


def test_never_replaces_its_input_or_an_output_unasked(tmp_path, capsys):
    source = _checkpoint(tmp_path / "m.safetensors")
    assert set_snow_veto.main([str(source), "-o", str(source)]) == 1
    target = tmp_path / "veto.safetensors"
    target.write_bytes(b"keep")
    assert set_snow_veto.main([str(source), "-o", str(target)]) == 1
    assert target.read_bytes() == b"keep" and "--overwrite" in capsys.readouterr().err


def test_a_model_without_swir_or_indices_is_refused_in_one_line(tmp_path, capsys):
    source = _checkpoint(tmp_path / "m.safetensors", indices=False)
    assert set_snow_veto.main([str(source), "-o", str(tmp_path / "v.safetensors")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--indices" in err[0]


def test_a_bad_cv_folder_is_one_line_and_nothing_is_written(tmp_path, capsys):
    """N-H8: a deep folds.json or a missing --cv folder tracebacked after the output was written."""
    source = _checkpoint(tmp_path / "m.safetensors")
    deep = tmp_path / "cv"
    deep.mkdir()
    (deep / "folds.json").write_text("[" * 100000 + "]" * 100000)
    for cv in (deep, tmp_path / "nonexistent"):
        target = tmp_path / "v.safetensors"
        assert set_snow_veto.main([str(source), "-o", str(target), "--cv", str(cv)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0] and err[0].startswith("error:")
        assert not target.exists()


def test_earlier_rescored_folds_are_kept_unasked(tmp_path, capsys):
    """N-M6: a second --cv run replaced the <cv>_veto<NDSI> folds without asking."""
    source = _checkpoint(tmp_path / "m.safetensors")
    cv = tmp_path / "cv"
    cv.mkdir()
    (cv / "folds.json").write_text("[[\"a\"], [\"b\"]]")
    earlier = tmp_path / "cv_veto0.4"
    earlier.mkdir()
    (earlier / "report.md").write_text("earlier")
    target = tmp_path / "v.safetensors"
    assert set_snow_veto.main([str(source), "-o", str(target), "--cv", str(cv)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (earlier / "report.md").read_text() == "earlier" and not target.exists()
