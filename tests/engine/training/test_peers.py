"""engine/training/peers: the folds, the timing mosaic, the report and one whole comparison.

The peer itself (ukis-csmask) is not installed here: a stand-in worker answers for it.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import InputNotFoundError, ParameterError
from cloud_fcn_plugin.engine.training.datasets import PatchSpec
from cloud_fcn_plugin.engine.training.peers.compare import PeerRun, call_peer, compare
from cloud_fcn_plugin.engine.training.peers.inputs import assign_folds, mosaic_for_timing
from cloud_fcn_plugin.engine.training.peers.report import model_line, pct, write_outputs

# Answers every patch with "clear" (the 6-band model only where a patch has 6 bands) and
# records the environment it was given, as the peers' Python would see it.
STAND_IN = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np

    _, _, inputs, outputs, _, threads, _, repeats = sys.argv
    arrays = {}
    meta = {"package": "stand-in 0", "onnxruntime": "none", "threads": int(threads), "models": {}}
    seen = {"pythonpath": os.environ.get("PYTHONPATH"), "omp": os.environ.get("OMP_NUM_THREADS")}
    with np.load(inputs) as data:
        patches = [data[str(i)] for i in range(int(data["count"]))]
    for key, bands in (("4b", 4), ("6b", 6)):
        skipped = [i for i, p in enumerate(patches) if p.shape[2] < bands]
        for i, p in enumerate(patches):
            if i not in skipped:
                arrays[f"{key}.{i}.class"] = np.zeros(p.shape[:2], np.uint8)
                arrays[f"{key}.{i}.cloud"] = np.zeros(p.shape[:2], np.float32)
        meta["models"][key] = {"skipped": skipped, "seconds_per_megapixel": 1.5, **seen}
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(outputs, **arrays)
    """
)


class TestFolds:
    def test_a_folds_file_must_hold_out_every_group(self, tmp_path: Path) -> None:
        specs = [PatchSpec("Barren_1_1", dataset="biome"), PatchSpec("Forest_1_1", dataset="biome")]
        folds = tmp_path / "folds.json"
        folds.write_text(json.dumps([["Barren"]]), encoding="utf-8")
        with pytest.raises(ParameterError, match="holds out no fold for Forest"):
            assign_folds(specs, 2, folds)
        folds.write_text(json.dumps([["Barren"], ["Forest"]]), encoding="utf-8")
        assert assign_folds(specs, 2, folds) == [["Barren"], ["Forest"]]


class TestTimingMosaic:
    def test_six_band_patches_are_preferred_and_zero_means_none(self) -> None:
        patches = [np.ones((4, 4, 4), np.float32), np.full((4, 4, 6), 2, np.float32)]
        mosaic = mosaic_for_timing(patches, 6)
        assert mosaic.shape == (6, 6, 6) and (mosaic == 2).all()
        assert mosaic_for_timing(patches, 0).shape == (0, 0, 4)


class TestReport:
    def test_pct_leaves_missing_and_nan_as_a_dash(self) -> None:
        assert pct({"j": 0.1234}, "j") == "12.3"
        assert pct({"j": float("nan")}, "j") == "-" and pct(None, "j") == "-"

    def test_model_line_says_when_a_model_was_not_timed(self) -> None:
        block = {"pooled_biome": {"jaccard": 0.5, "precision": 1.0, "recall": 0.5},
                 "pooled": {"jaccard": 0.25}}  # fmt: skip
        entry = {"decision": {"at_0.5": block}, "timing": {},
                 "probability": {"threshold": 0.4, "at_oof": block},
                 "shadow": {"at_0.5": block}}  # fmt: skip
        assert model_line("peer", entry) == (
            "peer: Biome pooled J 50.0 P 100.0 R 50.0 (argmax); all pooled J 25.0; best "
            "threshold 0.400: Biome J 50.0; shadow Biome J 50.0 (argmax); not timed"
        )


class TestComparison:
    def test_no_peer_python_says_how_to_get_it(self, tmp_path: Path) -> None:
        peer = PeerRun(tmp_path / "python", tmp_path / "worker.py")
        with pytest.raises(InputNotFoundError, match="make peers"):
            compare(["biome:nowhere"], peer)

    def test_a_failing_peer_is_one_error(self, tmp_path: Path) -> None:
        worker = tmp_path / "worker.py"
        worker.write_text("raise SystemExit(3)\n", encoding="utf-8")
        with pytest.raises(ParameterError, match="failed in"):
            call_peer(PeerRun(Path(sys.executable), worker), tmp_path / "i", tmp_path / "o")

    @pytest.mark.data
    def test_stand_in_peer_is_scored_on_our_folds(
        self, tmp_path: Path, biome_dir: Path, cloud38_dir: Path, monkeypatch
    ) -> None:
        monkeypatch.setenv("PYTHONPATH", "/nowhere")
        worker = tmp_path / "worker.py"
        worker.write_text(STAND_IN, encoding="utf-8")
        peer = PeerRun(Path(sys.executable), worker, threads=2)
        datasets = [f"biome:{biome_dir / 'val'}", f"38cloud:{cloud38_dir}"]
        report = compare(datasets, peer, folds=2, timing_side=0)
        assert report["threads"] == 2 and report["datasets"] == datasets
        assert len(report["folds"]) == 2
        four, six = report["models"].values()
        assert four["timing"]["pythonpath"] is None  # ours never leaks into the peers' Python
        assert four["timing"]["omp"] == "2"
        assert four["skipped"] == [] and len(six["skipped"]) == 1  # 38-Cloud has no SWIR
        assert "Not run on 1 patch(es)" in six["note"]
        # All clear: no cloud found, so the recall is 0 wherever cloud was labelled.
        assert four["decision"]["at_0.5"]["pooled"]["recall"] == 0.0
        write_outputs(report, tmp_path / "out")
        text = (tmp_path / "out" / "peers.md").read_text(encoding="utf-8")
        assert text.startswith("# stand-in 0 on the cross-validation patches")
        assert "## ukis-csmask 6-band (L1C)" in text
