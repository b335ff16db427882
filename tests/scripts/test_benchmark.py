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

SIZE = 320


@pytest.fixture(scope="module")
def report(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """Run the benchmark once on a small stack and product folder; return its JSON and Markdown."""
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, str(REPO_ROOT / "scripts" / "benchmark.py"), "--size", str(SIZE),
               "--output", str(out), "--data", str(data_dir), "--backend", "torch", "auto"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| case | model |" in done.stdout
    json_text = (out / "benchmark.json").read_text(encoding="utf-8")
    return json.loads(json_text), (out / "benchmark.md").read_text(encoding="utf-8")


class TestBenchmarkReport:
    def test_json_has_every_case_its_stages_and_the_ratios(self, report: tuple[dict, str]) -> None:
        data, _ = report
        assert len(data["cases"]) == 4  # (stack, product) x (torch, auto)
        models = {case["model"] for case in data["cases"].values()}
        # The default on both: the product folder has B10, so the 4-band model with physics.
        assert models == {"4-band model"}
        for case in data["cases"].values():
            assert case["median_s"] > 0 and case["peak_rss_mb"] > 0 and case["valid_mpx"] > 0
            stages = case["profile"]["stages"]
            assert {"read", "scaling", "network", "blending", "classify", "writing"} <= set(stages)
            assert all(stage["calls"] > 0 for stage in stages.values())
            assert case["profile"]["process_cpu_s"] > 0
        assert len(data["ratios"]) == 4  # same input, other back end; same back end, other input
        for ratio in data["ratios"].values():
            assert ratio["min"] <= ratio["median"] <= ratio["max"]
        assert data["machine"]["logical_cores"] >= 1
        assert data["command"].startswith("python scripts/benchmark.py --size 320")

    def test_markdown_has_the_tables_and_the_machine(self, report: tuple[dict, str]) -> None:
        _, text = report
        assert "| case | model | valid Mpx | median s |" in text
        assert "| stage | calls | CPU s | share of CPU |" in text
        assert "| network |" in text and "Machine:" in text and "Command:" in text


@pytest.mark.parametrize(
    ("option", "inputs", "stage"),
    [("shadow", "stack", "shadow"), ("physics", "product", "physics")],
)
def test_a_stage_is_compared_with_the_run_without_it(
    option: str, inputs: str, stage: str, data_dir: Path, tmp_path: Path
) -> None:
    without = {"shadow": "network", "physics": "off"}[option]
    command = [sys.executable, str(REPO_ROOT / "scripts" / "benchmark.py"), "--size", str(SIZE),
               "--inputs", inputs, f"--{option}", "auto", without, "--output", str(tmp_path),
               "--data", str(data_dir)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads((tmp_path / "benchmark.json").read_text(encoding="utf-8"))
    with_stage, without_stage = (
        next(case for name, case in data["cases"].items() if name.endswith(f"{option} {choice}]"))
        for choice in ("auto", without)
    )
    assert stage in with_stage["profile"]["stages"]
    assert stage not in without_stage["profile"]["stages"]
    [(name, ratio)] = data["ratios"].items()
    assert f"{option} {without}" in name and ratio["min"] <= ratio["median"] <= ratio["max"]


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


class TestProduct:
    def test_a_level1_product_folder_the_default_model_reads(
        self, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        scene = importlib.import_module("benchmark_scene")
        info = scene.build_product(tmp_path / "product", 300, data_dir)
        names = sorted(p.name for p in info.path.iterdir())
        assert len(names) == 9 and any(n.endswith("_MTL.txt") for n in names)
        from cloud_fcn_plugin.engine.scene.reader import open_scene

        with open_scene(info.path, model_bands=(2, 3, 4, 5, 6, 7)) as reader:
            assert reader.product == "l1" and (reader.width, reader.height) == (300, 300)
            raw, valid = reader.read_raw(0, 0, 300, 300)
            reflectance, _ = reader.read(0, 0, 300, 300)
        assert raw.dtype == np.uint16 and valid.sum() == info.valid_pixels
        # A real sun in the MTL, and its rescaling made to give back the patches' TOA.
        mtl = next(info.path.glob("*_MTL.txt")).read_text()
        assert "SUN_ELEVATION = 65.0" in mtl and "SUN_AZIMUTH = 127.0" in mtl
        toa = raw[:, valid].astype(np.float64) * 2e-5 - 0.1
        np.testing.assert_allclose(reflectance[:, valid], toa, atol=1e-5)
        assert 0.3 < info.fill_fraction < 0.42


    def test_a_level2_product_folder_auto_runs_the_ensemble_on(
        self, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        scene = importlib.import_module("benchmark_scene")
        info = scene.build_level2_product(tmp_path / "level2", 300, data_dir)
        names = sorted(p.name for p in info.path.iterdir())
        assert len(names) == 8 and any(n.endswith("_ST_B10.TIF") for n in names)
        from cloud_fcn_plugin.engine.models.choice import choose_model
        from cloud_fcn_plugin.engine.scene.reader import open_scene

        assert choose_model(info.path).name == "ensemble"
        with open_scene(info.path, model_bands=(2, 3, 4, 5, 6, 7)) as reader:
            assert reader.product == "sr" and (reader.width, reader.height) == (300, 300)
            reflectance, valid = reader.read(0, 0, 300, 300)
        assert valid.sum() == info.valid_pixels
        assert 0.05 < np.median(reflectance[:, valid]) < 0.6  # reflectance, not DN


class TestReadme:
    def test_the_report_goes_between_the_markers_only(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        benchmark = importlib.import_module("benchmark")
        readme = tmp_path / "README.md"
        readme.write_text("# A\n<!-- benchmark:start -->\nold\n<!-- benchmark:end -->\ntail\n")
        benchmark.update_readme(readme, "| new |\n")
        assert readme.read_text() == (
            "# A\n<!-- benchmark:start -->\n| new |\n<!-- benchmark:end -->\ntail\n"
        )
        readme.write_text("no markers\n")
        with pytest.raises(SystemExit, match="no <!-- benchmark:start -->"):
            benchmark.update_readme(readme, "x")
