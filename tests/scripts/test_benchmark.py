"""scripts/benchmark.py: a tiny run writes its report; the test scene looks like a scene.

Nothing here asserts a speed: timings on a shared machine are not test material.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.data

SIZE = 512


@pytest.fixture(scope="module")
def report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """Run the benchmark once on a 512 px scene; return its JSON and Markdown."""
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(REPO_ROOT / "scripts" / "benchmark.py"), "--size", str(SIZE),
               "--output", str(out), "--data", str(data_dir), "--network-seconds", "0.3"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "engine end to end" in done.stdout
    json_text = (out / "benchmark.json").read_text(encoding="utf-8")
    return json.loads(json_text), (out / "benchmark.md").read_text(encoding="utf-8")


class TestBenchmarkReport:
    def test_json_has_every_measurement_and_the_context(self, report: tuple[dict, str]) -> None:
        data, _ = report
        assert {"network", "engine", "naive"} <= set(data["results"])
        for result in data["results"].values():
            assert {"mpx_per_s", "seconds", "megapixels", "peak_rss_mb"} <= set(result)
            assert result["mpx_per_s"] > 0 and result["peak_rss_mb"] > 0
        assert data["model"]["model"] == "unet" and data["model"]["parameters"] > 0
        assert data["device"] == "cpu" and data["torch"] and data["torch_threads"] >= 1
        assert data["machine"]["logical_cores"] >= 1
        assert data["scene"]["size"] == f"{SIZE}x{SIZE}"
        assert 0 < data["scene"]["valid_pixels"] < SIZE * SIZE
        assert {"engine_vs_network_valid", "engine_vs_network_computed"} <= set(data["ratios"])
        assert data["command"].startswith("python scripts/benchmark.py --size 512")

    def test_markdown_has_the_table_and_the_machine(self, report: tuple[dict, str]) -> None:
        _, text = report
        assert "| measurement | Mpx/s |" in text
        for label in ("network alone", "engine end to end", "naive pipeline"):
            assert label in text
        assert "Machine:" in text and "Command:" in text and "unet" in text


class TestScene:
    def test_tiled_uint16_dn_with_a_tilted_footprint(
        self, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        scene = importlib.import_module("benchmark_scene")
        info = scene.build_scene(tmp_path / "scene.tif", 300, data_dir)
        with rasterio.open(info.path) as dataset:
            assert dataset.count == 4 and dataset.dtypes == ("uint16",) * 4
            assert dataset.profile["tiled"] and dataset.crs is not None
            pixels = dataset.read()
        valid = (pixels != 0).all(axis=0)
        assert valid.sum() == info.valid_pixels
        assert 0.3 < info.fill_fraction < 0.42
        assert not valid[0, 0] and valid[150, 150]
        # Real DN: Level-1 values of land, water and cloud, not noise around one value.
        assert 5000 < np.percentile(pixels[:, valid], 50) < 40000
        assert np.ptp(pixels[:, valid]) > 10000

    def test_six_bands_for_a_model_that_reads_swir(
        self, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        scene = importlib.import_module("benchmark_scene")
        info = scene.build_scene(tmp_path / "scene.tif", 300, data_dir, bands=6)
        with rasterio.open(info.path) as dataset:
            assert dataset.count == 6
            assert dataset.descriptions == ("B2", "B3", "B4", "B5", "B6", "B7")
