"""The physics stage in a run: what it plans per input kind, and its effect on real scenes."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.classes import CLOUD_CODES, NODATA
from cloud_fcn_plugin.engine.errors import (
    CanceledError,
    InputReadError,
    ParameterError,
    UnsupportedDataError,
)
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.physics import stage as physics_stage
from cloud_fcn_plugin.engine.physics.stage import (
    LEVEL1_FUSION,
    LEVEL2_ENSEMBLE_FUSION,
    LEVEL2_FUSION,
    plan_fusion,
)
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from cloud_fcn_plugin.engine.scene.opened import open_input
from cloud_fcn_plugin.engine.scene.reader import open_scene
from cloud_fcn_plugin.engine.scene.scaling import scaling_for
from tests.conftest import REPO_ROOT

L1_30M = "scenes/LC80200392015216LGN00_L1T_30m"
GREENLAND_L2 = "scenes/LC08_L2SP_005009_20150710_C2_500m"
SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


def _cloud_pixels(path) -> int:
    with rasterio.open(path) as dataset:
        return int(np.isin(dataset.read(1), CLOUD_CODES).sum())


class TestPlan:
    def test_no_thermal_band_no_fusion(self):
        assert plan_fusion(open_input(SAMPLE), "toa", "rgbn", "auto") is None

    def test_level1_with_thermal_gets_the_settings_measured_for_its_model(self, data_dir):
        scene = open_input(data_dir / L1_30M)
        plan = plan_fusion(scene, "l1", "rgbn", "auto")
        assert plan is not None and plan.settings == LEVEL1_FUSION["rgbn"]
        assert plan.bands == (2, 3, 4, 5, 6, 7, 9, 10) and plan.temperature_kind == "brightness"
        assert plan_fusion(scene, "l1", "sixband", "auto").settings == LEVEL1_FUSION["sixband"]

    def test_a_model_never_measured_gets_physics_only_when_asked(self, data_dir):
        scene = open_input(data_dir / L1_30M)
        assert plan_fusion(scene, "l1", "file", "auto") is None
        assert plan_fusion(scene, "l1", "file", "on").settings == LEVEL1_FUSION["rgbn"]
        assert plan_fusion(scene, "l1", "rgbn", "off") is None

    def test_level2_has_no_snow_veto(self, data_dir):
        plan = plan_fusion(open_input(data_dir / GREENLAND_L2), "sr", "sixband", "auto")
        assert plan is not None and plan.settings == LEVEL2_FUSION
        assert plan.settings.snow_ndsi is None and plan.temperature_kind == "surface"

    def test_the_ensemble_gets_the_snow_veto_guarded_by_swir1_on_level2(self, data_dir):
        plan = plan_fusion(open_input(data_dir / GREENLAND_L2), "sr", "ensemble", "auto")
        assert plan is not None and plan.settings == LEVEL2_ENSEMBLE_FUSION
        assert plan.settings.snow_ndsi is not None and plan.settings.snow_swir1 is not None
        assert "snow (NDSI > 0.45, SWIR1 < 0.11) taken away" in plan.reason
        level1 = plan_fusion(open_input(data_dir / L1_30M), "l1", "ensemble", "auto")
        assert level1 is not None and level1.settings == LEVEL1_FUSION["rgbn"]

    def test_surface_temperature_only_when_asked(self):
        with pytest.raises(UnsupportedDataError, match="4-band model"):
            scaling_for("sr", (2, 3, 4, 5, 10), dtype="uint16")
        scaling = scaling_for("sr", (2, 3, 4, 5, 10), dtype="uint16", surface_temperature=True)
        assert scaling.thermal[0].index == 4 and scaling.gain[4] == pytest.approx(0.00341802)

    def test_unknown_physics_choice_is_refused(self):
        with pytest.raises(ParameterError, match="Unknown physics 'maybe'"):
            DetectionParams(physics="maybe")


class TestRuns:
    def test_physics_only_takes_cloud_away_and_says_so(self, data_dir, tmp_path):
        product = data_dir / L1_30M
        on = detect_clouds(product, tmp_path / "on.tif", DetectionParams(model="rgbn"))
        off = detect_clouds(
            product, tmp_path / "off.tif", DetectionParams(model="rgbn", physics="off")
        )
        assert any(m.startswith("Physics:") for m in on.messages)
        assert not any(m.startswith("Physics:") for m in off.messages)
        assert _cloud_pixels(tmp_path / "on.tif") <= _cloud_pixels(tmp_path / "off.tif")

    def test_greenland_ice_is_far_less_cloud_with_the_thermal_veto(self, data_dir, tmp_path):
        scene = data_dir / GREENLAND_L2
        on = detect_clouds(scene, tmp_path / "on.tif", DetectionParams(model="rgbn"))
        off = detect_clouds(
            scene, tmp_path / "off.tif", DetectionParams(model="rgbn", physics="off")
        )
        assert on.cloud_cover < off.cloud_cover - 20.0

    def test_snow_without_a_surface_temperature_is_still_vetoed(self, data_dir, tmp_path):
        """ST_B10 is fill on 2.5 % of Greenland's pixels: the snow test runs on their
        reflectance there (no step ran on them before: 2.4 % of the scene false cloud)."""
        folder = data_dir / GREENLAND_L2
        with (
            rasterio.open(next(folder.glob("*_SR_B3.TIF"))) as green_file,
            rasterio.open(next(folder.glob("*_SR_B6.TIF"))) as swir_file,
            rasterio.open(next(folder.glob("*_ST_B10.TIF"))) as st_file,
        ):
            green_dn = green_file.read(1)
            green, swir1 = green_dn * 2.75e-5 - 0.2, swir_file.read(1) * 2.75e-5 - 0.2
            no_temperature = (st_file.read(1) == 0) & (green_dn != 0)
        snow = no_temperature & ((green - swir1) / (green + swir1) > 0.8) & (swir1 < 0.05)
        assert snow.sum() > 1000
        detect_clouds(folder, tmp_path / "m.tif", DetectionParams(model="ensemble"))
        with rasterio.open(tmp_path / "m.tif") as dataset:
            cloud = np.isin(dataset.read(1), CLOUD_CODES)
        assert cloud[snow].mean() < 0.01

    def test_the_physics_only_model_writes_a_mask(self, data_dir, tmp_path):
        result = detect_clouds(
            data_dir / L1_30M, tmp_path / "m.tif", DetectionParams(model="physics")
        )
        assert result.model == "physics only" and 0.0 < result.cloud_cover < 100.0
        with rasterio.open(tmp_path / "m.tif") as dataset:
            assert set(np.unique(dataset.read(1))) <= {0, 1, 3, NODATA}  # 3: shadow by geometry

    def test_the_physics_only_model_has_no_probabilities(self, data_dir, tmp_path):
        params = DetectionParams(model="physics", probability=tmp_path / "p.tif")
        with pytest.raises(ParameterError, match="no probabilities"):
            detect_clouds(data_dir / L1_30M, tmp_path / "m.tif", params)
        assert not (tmp_path / "m.tif").exists()


class TestOnlyWhatCanBeCloud:
    """Without a probability output the fusion skips pixels under the threshold: same mask."""

    def test_the_mask_is_the_one_of_a_run_that_fuses_every_pixel(self, data_dir, tmp_path):
        scene = data_dir / L1_30M
        fused_all = DetectionParams(probability=tmp_path / "p.tif")
        detect_clouds(scene, tmp_path / "all.tif", fused_all)
        detect_clouds(scene, tmp_path / "cloud_only.tif", DetectionParams())
        with (
            rasterio.open(tmp_path / "all.tif") as a,
            rasterio.open(tmp_path / "cloud_only.tif") as b,
        ):
            everything, skipped = a.read(1), b.read(1)
        assert np.isin(everything, CLOUD_CODES).any()
        np.testing.assert_array_equal(everything, skipped)

    def test_a_step_that_adds_cloud_turns_the_shortcut_off(self):
        assert LEVEL1_FUSION["rgbn"].lowers_only and LEVEL2_FUSION.lowers_only
        assert not replace(LEVEL2_FUSION, cirrus_scale=0.04).lowers_only
        assert not replace(LEVEL2_FUSION, local_contrast=1.0).lowers_only


class TestStageThreads:
    """The physics and shadow stages read on threads: a cancel or a broken band file
    still ends the run at once, with one error and no output."""

    def test_cancel_in_a_product_run_leaves_nothing(self, data_dir, tmp_path):
        out = tmp_path / "out"
        out.mkdir()
        calls = iter([False, False, True])
        with pytest.raises(CanceledError, match="no output"):
            detect_clouds(
                data_dir / L1_30M, out / "mask.tif", DetectionParams(batch_size=1),
                is_canceled=lambda: next(calls, True),
            )  # fmt: skip
        assert list(out.iterdir()) == []

    @pytest.mark.parametrize("band", ["B6", "B7", "B10"])
    def test_a_truncated_physics_band_is_named(self, data_dir, tmp_path, band):
        product = tmp_path / "product"
        shutil.copytree(data_dir / L1_30M, product)
        broken = product / f"LC80200392015216LGN00_{band}.TIF"
        broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
        with pytest.raises(InputReadError, match=broken.name):
            detect_clouds(product, tmp_path / "mask.tif", DetectionParams())
        assert [p.name for p in tmp_path.iterdir()] == ["product"]  # no mask, no partial


class TestPrePass:
    """The scene's statistics from the band files' overviews where a product has them."""

    @pytest.fixture
    def products(self, data_dir, tmp_path, monkeypatch):
        """The benchmark's Level-1 product (real Biome patches), with and without overviews."""
        monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
        from benchmark_scene import build_product

        return tuple(
            build_product(tmp_path / f"p{kept}", 640, data_dir, overviews=kept).path
            for kept in (False, True)
        )

    def _statistics(self, folder, monkeypatch, spy=None):
        # A 640-row scene stands in for a 7,800-row one: sampled, not read whole.
        monkeypatch.setattr(physics_stage, "_SAMPLE_ROWS", 256)
        scene = open_input(folder)
        plan = plan_fusion(scene, "l1", "rgbn", "auto")
        with open_scene(scene, model_bands=plan.bands, surface_temperature=True) as reader:
            if spy is not None:
                monkeypatch.setattr(reader, "read_raw", spy(reader.read_raw))
            return reader.overview_factor(8), physics_stage.sample_statistics(reader, plan)

    def test_overviews_give_the_statistics_of_the_full_resolution_sample(
        self, products, monkeypatch
    ):
        windows_read = []

        def spy(read_raw):
            def counted(*args):
                windows_read.append(args)
                return read_raw(*args)

            return counted

        without, with_overviews = products
        none, sampled = self._statistics(without, monkeypatch)
        eight, from_overviews = self._statistics(with_overviews, monkeypatch, spy)
        assert (none, eight) == (None, 8) and windows_read == []
        assert from_overviews.t_low == pytest.approx(sampled.t_low, abs=1.0)
        assert from_overviews.t_high == pytest.approx(sampled.t_high, abs=1.0)
        for name in ("land_brightness", "land_brightness_low", "land_threshold"):
            assert getattr(from_overviews, name) == pytest.approx(getattr(sampled, name), rel=0.1)
