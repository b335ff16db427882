"""Cloud shadow in a run: the plan per model and input, and its effect on real scenes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.classes import CLEAR, CLOUD_CODES, CLOUD_SHADOW
from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.physics import shadow_stage
from cloud_fcn_plugin.engine.physics.shadow_potential import block_mean
from cloud_fcn_plugin.engine.physics.shadow_stage import (
    ShadowStage,
    _CoarseBands,
    plan_shadow,
)
from cloud_fcn_plugin.engine.physics.stage import PhysicsStage
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from cloud_fcn_plugin.engine.scene.opened import open_input
from cloud_fcn_plugin.engine.scene.reader import open_scene
from tests.conftest import REPO_ROOT

L1_30M = "scenes/LC80200392015216LGN00_L1T_30m"
SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


def _read(path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


class TestPlan:
    def test_sun_angles_come_from_the_mtl(self, data_dir):
        plan = plan_shadow(open_input(data_dir / L1_30M), "auto")
        assert plan is not None and plan.bands == (4, 5, 6)
        assert plan.sun.azimuth_deg == pytest.approx(115.872, abs=1e-3)
        assert plan.sun.elevation_deg == pytest.approx(64.744, abs=1e-3)

    def test_a_stack_without_an_id_in_its_name_has_no_sun_angles(self, tmp_path):
        stack = tmp_path / "stack.tif"
        stack.write_bytes(SAMPLE.read_bytes())
        plan = plan_shadow(open_input(stack), "auto")
        assert plan is not None and plan.sun is None

    def test_a_stack_named_by_its_scene_id_gets_the_sun_of_its_date_and_place(self):
        plan = plan_shadow(open_input(SAMPLE), "auto")
        assert plan is not None and plan.sun is not None
        assert plan.sun.azimuth_deg == pytest.approx(161, abs=1)
        assert "acquisition date in the name (2015-10-22)" in plan.note

    def test_only_network_leaves_the_models_own_shadow(self, data_dir):
        scene = open_input(data_dir / L1_30M)
        assert plan_shadow(scene, "auto") == plan_shadow(scene, "geometry") is not None
        assert plan_shadow(scene, "network") is None

    def test_unknown_shadow_choice_is_refused(self):
        with pytest.raises(ParameterError, match="Unknown shadow 'sun'"):
            DetectionParams(shadow="sun")


class TestRuns:
    def test_geometry_adds_shadow_beside_cloud_never_on_it(self, data_dir, tmp_path):
        product = data_dir / L1_30M
        result = detect_clouds(product, tmp_path / "auto.tif", DetectionParams(model="rgbn"))
        detect_clouds(
            product, tmp_path / "none.tif", DetectionParams(model="rgbn", shadow="network")
        )
        with_shadow, without = _read(tmp_path / "auto.tif"), _read(tmp_path / "none.tif")
        shadow = with_shadow == CLOUD_SHADOW
        assert shadow.any() and not (without == CLOUD_SHADOW).any()
        assert (without[shadow] == CLEAR).all()  # shadow only where the mask was clear
        np.testing.assert_array_equal(
            np.isin(with_shadow, CLOUD_CODES), np.isin(without, CLOUD_CODES)
        )
        assert any("shadow direction from the sun angles" in m for m in result.messages)

    def test_the_physics_only_model_gets_shadow_too(self, data_dir, tmp_path):
        result = detect_clouds(
            data_dir / L1_30M, tmp_path / "m.tif", DetectionParams(model="physics")
        )
        assert result.class_pixels.get(CLOUD_SHADOW, 0) > 0


def test_a_sun_overhead_casts_no_shadow_beside_its_cloud():
    from cloud_fcn_plugin.engine.physics.shadow import SunGeometry, match_shadows

    cloud = np.zeros((64, 64), bool)
    cloud[20:30, 20:30] = True
    potential = np.zeros((64, 64), bool)
    potential[20:30, 32:42] = True
    result = match_shadows(
        cloud, potential, np.ones((64, 64), bool), SunGeometry(120.0, 90.0), pixel_size=30.0
    )
    assert not result.mask.any() and "shadows fall under their clouds" in result.note


class TestBandsFromTheNetwork:
    """The bands the network read serve the shadow and physics stages: the same masks."""

    @pytest.mark.parametrize("cuts", [[496], [495], [1, 2, 5, 300, 301], [602]])
    @pytest.mark.parametrize("factor", [1, 2, 3])
    def test_coarse_bands_from_strips_are_the_whole_scene_block_means(self, cuts, factor):
        band = np.random.default_rng(0).random((603, 627)).astype(np.float32)
        coarse = _CoarseBands(band.shape, factor, (5,))
        edges = [0, *cuts, band.shape[0]]
        for start, end in itertools.pairwise(edges):
            coarse.add(start, {5: band[start:end]})
        assert coarse.missing() == ()
        np.testing.assert_array_equal(coarse.bands[5], block_mean(band, factor))

    @pytest.mark.parametrize("grid", [None, 1000])  # full grid, and twice as coarse
    def test_same_mask_as_reading_them_again(self, data_dir, tmp_path, monkeypatch, grid):
        if grid is not None:
            monkeypatch.setattr(shadow_stage, "_FULL_GRID_PIXELS", grid)
        scene = data_dir / L1_30M
        detect_clouds(scene, tmp_path / "shared.tif", DetectionParams())
        observe, fuse = ShadowStage.observe, PhysicsStage.fuse
        monkeypatch.setattr(
            ShadowStage, "observe", lambda self, r, m, raw=None: observe(self, r, m)
        )
        monkeypatch.setattr(
            PhysicsStage,
            "fuse",
            lambda self, r, layers, raw=None, valid=None, floor=0.0: fuse(
                self, r, layers, floor=floor
            ),
        )
        detect_clouds(scene, tmp_path / "read.tif", DetectionParams())
        shared, read = _read(tmp_path / "shared.tif"), _read(tmp_path / "read.tif")
        assert (shared == CLOUD_SHADOW).any()
        np.testing.assert_array_equal(shared, read)


    @pytest.mark.parametrize("grid", [None, 1000])  # full grid, and twice as coarse
    @pytest.mark.parametrize("stored", ["dn", "nan"])
    def test_strips_block_averaged_as_stored_then_scaled(
        self, tmp_path, monkeypatch, grid, stored
    ):
        # The bundled sample as Level-1 DN (2e-5 * DN - 0.1, fill 0), or as reflectance
        # with NaN fill: the network's red and NIR reach the stage as stored and are
        # scaled on the matching grid. They must be the block means of the reflectance
        # a read gives, and 0 (not NaN) where a block holds fill.
        if grid is not None:
            monkeypatch.setattr(shadow_stage, "_FULL_GRID_PIXELS", grid)
        with rasterio.open(SAMPLE) as source:
            toa, profile = source.read(), source.profile
        if stored == "dn":
            bands = np.where(toa > 0, np.rint((toa + 0.1) / 2e-5), 0).astype(np.uint16)
            profile.update(dtype="uint16", nodata=0)
        else:
            bands = np.where(toa > 0, toa, np.nan).astype(np.float32)
            profile.update(nodata=np.nan)
        stack = tmp_path / "LC08_L1TP_013031_20151022_20170403_01_T1_B2-B5.tif"
        with rasterio.open(stack, "w", **profile) as target:
            target.write(bands)
            target.descriptions = ("B2 blue", "B3 green", "B4 red", "B5 NIR")
        params = DetectionParams(product="l1" if stored == "dn" else "toa")
        seen = {}
        basins = shadow_stage.basin_shadow

        def keep(nir, swir1, valid, *, red, cloud):
            seen.update(nir=nir.copy(), red=red.copy(), valid=valid.copy())
            return basins(nir, swir1, valid, red=red, cloud=cloud)

        monkeypatch.setattr(shadow_stage, "basin_shadow", keep)
        detect_clouds(stack, tmp_path / "mask.tif", params)
        with open_scene(open_input(stack), product=params.product) as reader:
            reflectance, _ = reader.read_all()  # red, green, blue, NIR; fill 0
        factor = 1 if grid is None else 2
        valid = seen["valid"]
        for name, band in (("red", reflectance[0]), ("nir", reflectance[3])):
            assert np.isfinite(seen[name]).all() and (seen[name][~valid] == 0).all()
            expected = block_mean(band, factor)
            np.testing.assert_allclose(seen[name][valid], expected[valid], atol=1e-6)
        assert (~valid).any() and valid.any()


class TestDarkPixelsDuringThePass:
    """Each strip of dark pixels is found once its rows and halo are in: the same mask."""

    @pytest.fixture
    def scene(self, data_dir, monkeypatch):
        monkeypatch.setattr(shadow_stage, "_STRIP_ROWS", 128)
        return open_input(data_dir / L1_30M)

    def _mask(self, scene, cloudy: bool, tmp_path=None) -> np.ndarray:
        if not cloudy:
            return np.full((scene.info.height, scene.info.width), CLEAR, np.uint8)
        # The scene's own cloud, as the network finds it (no shadow stage).
        detect_clouds(scene.info.path, tmp_path / "cloud.tif", DetectionParams(shadow="network"))
        mask = _read(tmp_path / "cloud.tif")
        mask[mask == CLOUD_SHADOW] = CLEAR
        return mask

    def test_strips_start_before_the_last_rows_arrive(self, scene, tmp_path):
        plan = plan_shadow(scene, "geometry")
        mask = self._mask(scene, cloudy=True, tmp_path=tmp_path)
        with ShadowStage(scene, plan) as stage:
            stage._own_read.result()  # the bands first, so only the mask strips decide
            stage.observe(0, mask[:300])
            assert len(stage._strips) == 1  # rows 0-127 with their 128-row halo
            stage.observe(300, mask[300:])
            gathered = stage.finish()
        with ShadowStage(scene, plan) as whole:
            whole.observe(0, mask)
            np.testing.assert_array_equal(whole.finish(), gathered)
        assert (gathered == CLOUD_SHADOW).any()

    def test_nothing_is_computed_before_a_cloud_is_seen(self, scene):
        plan = plan_shadow(scene, "geometry")
        with ShadowStage(scene, plan) as stage:
            stage._own_read.result()
            stage.observe(0, self._mask(scene, cloudy=False)[:300])
            assert stage._strips == []


def test_swir1_of_a_product_comes_from_the_physics_stage(data_dir, tmp_path, monkeypatch):
    """The physics stage's SWIR1 strips, scaled by SWIR1's own fill: no second read, same mask."""
    scene = data_dir / L1_30M
    reads = []
    read = ShadowStage._read
    monkeypatch.setattr(
        ShadowStage, "_read", lambda self, opened: reads.append(1) or read(self, opened)
    )
    detect_clouds(scene, tmp_path / "shared.tif", DetectionParams())
    assert reads == []  # red and NIR from the network, SWIR1 from the physics
    monkeypatch.setattr(PhysicsStage, "strip_band", lambda self, row_off, number: None)
    detect_clouds(scene, tmp_path / "read.tif", DetectionParams())
    assert reads == [1]  # SWIR1 read again once the pass is over
    shared, read_again = _read(tmp_path / "shared.tif"), _read(tmp_path / "read.tif")
    assert (shared == CLOUD_SHADOW).any()
    np.testing.assert_array_equal(shared, read_again)
