"""scripts/compare_peers.py: the peer's input, its scores, the report; ukis-csmask not needed."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import rasterio

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import compare_peers

from cloud_fcn_plugin.engine.training.datasets import biome_patches, cloud38_patches


def _read(path, indexes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(indexes)


class TestPeerInput:
    def test_engine_order_becomes_blue_green_red_nir(self):
        rgbn = np.stack([np.full((3, 5), v, np.float32) for v in (0.3, 0.2, 0.1, 0.4)])
        x = compare_peers.peer_input(rgbn)
        assert x.shape == (3, 5, 4) and x.dtype == np.float32
        np.testing.assert_allclose(x[0, 0], [0.1, 0.2, 0.3, 0.4])

    def test_swir_follows_nir(self):
        rgbn = np.zeros((4, 2, 2), np.float32)
        swir = np.stack([np.full((2, 2), 0.6), np.full((2, 2), 0.7)])
        x = compare_peers.peer_input(rgbn, swir)
        assert x.shape == (2, 2, 6)
        np.testing.assert_allclose(x[1, 1, 4:], [0.6, 0.7])

    def test_wrong_band_count_says_what_it_needs(self):
        with pytest.raises(ValueError, match="red, green, blue, NIR"):
            compare_peers.peer_input(np.zeros((3, 2, 2), np.float32))
        with pytest.raises(ValueError, match="SWIR1, SWIR2"):
            compare_peers.peer_input(np.zeros((4, 2, 2)), np.zeros((1, 2, 2)))


class TestCloudShare:
    def test_blended_scores_become_a_probability(self):
        # Two tiles' softmax added with weights 0.5 and 0.25: the share is unchanged.
        scores = np.array([[[0.1, 0.6, 0.3]]]) * 0.75
        np.testing.assert_allclose(compare_peers.cloud_share(scores), [[0.6]], rtol=1e-6)

    def test_uncovered_pixel_is_clear(self):
        assert compare_peers.cloud_share(np.zeros((1, 1, 3)))[0, 0] == 0.0


class TestTimingMosaic:
    def test_patches_repeat_to_fill_the_side(self):
        patches = [np.full((4, 4, 6), k, np.float32) for k in (1, 2, 3)]
        mosaic = compare_peers.timing_mosaic(patches, 10)
        assert mosaic.shape == (10, 10, 6)
        assert mosaic[0, 0, 0] == 1 and mosaic[0, 4, 0] == 2 and mosaic[4, 0, 0] == 1


class TestScorePeer:
    def test_perfect_class_map_scores_one_and_tables_read_as_ours(self):
        truth = np.zeros((8, 8), bool)
        truth[:4] = True
        valid = np.ones((8, 8), bool)
        classes = {0: np.where(truth, 1, 0).astype(np.uint8), 1: np.full((8, 8), 2, np.uint8)}
        clouds = {0: truth.astype(np.float32), 1: np.zeros((8, 8), np.float32)}
        entry = compare_peers.score_peer(
            ["Barren_0_1", "Forest_0_1"],
            ["Barren", "Forest"],
            {"Barren": 0, "Forest": 1},
            [truth, np.zeros((8, 8), bool)],
            [valid, valid],
            classes,
            clouds,
            [["Barren"], ["Forest"]],
        )
        pooled = entry["decision"]["at_0.5"]["pooled_biome"]
        assert pooled["jaccard"] == 1.0 and pooled["tp"] == 32 and pooled["fp"] == 0
        entry.update(note="note", timing={"seconds_per_megapixel": 2.0})
        text = compare_peers.model_markdown("peer", entry)
        assert text.count("### At its own decision") == 1
        assert "| Forest | 1 | 100.0 |" in text
        row = compare_peers.summary_markdown({"peer": entry})[2]
        assert row.startswith("| peer | argmax | 100.0 | 100.0 | 100.0 | 100.0 | 2.00 |")


class TestScoreShadow:
    def test_shadow_class_is_scored_where_shadow_is_known(self):
        shadow = np.zeros((8, 8), bool)
        shadow[:2] = True
        known = np.ones((8, 8), bool)
        known[6:] = False  # unlabelled rows: the peer's shadow there does not count
        peer = np.where(shadow, 2, 0).astype(np.uint8)
        peer[7] = 2
        classes = {0: peer, 1: np.zeros((8, 8), np.uint8)}
        report = compare_peers.score_peer_shadow(
            ["Barren_0_1", "Forest_0_1"], ["Barren", "Forest"], {"Barren": 0, "Forest": 1},
            [shadow, np.zeros((8, 8), bool)], [known, np.zeros((8, 8), bool)], classes,
            [["Barren"], ["Forest"]],
        )  # fmt: skip
        pooled = report["at_0.5"]["pooled_biome"]
        assert pooled["jaccard"] == 1.0 and pooled["tp"] == 16 and pooled["fp"] == 0
        assert list(report["at_0.5"]["by_group"]) == ["Barren"]  # no shadow known in Forest

    def test_summary_and_markdown_carry_the_shadow_row(self):
        truth = np.zeros((8, 8), bool)
        truth[:4] = True
        valid = np.ones((8, 8), bool)
        classes = {0: np.where(truth, 1, 2).astype(np.uint8)}
        args = (["Barren_0_1"], ["Barren"], {"Barren": 0})
        entry = compare_peers.score_peer(
            *args, [truth], [valid], classes, {0: truth.astype(np.float32)}, [["Barren"]]
        )
        entry["shadow"] = compare_peers.score_peer_shadow(
            *args, [~truth], [valid], classes, [["Barren"]]
        )
        entry.update(note="note", timing={})
        rows = compare_peers.summary_markdown({"peer": entry})
        assert rows[-1].startswith("| peer | shadow (argmax) | 100.0 | 100.0 | 100.0 |")
        assert "### Cloud shadow at its own decision" in compare_peers.model_markdown("peer", entry)


@pytest.mark.data
class TestReadPatch:
    def test_biome_shadow_truth_is_the_64_code(self, biome_dir):
        spec = biome_patches(biome_dir / "val")[0]
        shadow, known = compare_peers.read_shadow_truth(spec)
        mask = _read(spec.mask, 1)
        assert (shadow == (mask == 64)).all()
        assert not known[mask == 0].any()

    def test_biome_patch_keeps_its_toa_and_swir(self, biome_dir):
        spec = biome_patches(biome_dir / "val")[0]
        x, truth, valid = compare_peers.read_patch(spec)
        raw = np.moveaxis(_read(spec.image, [1, 2, 3, 4, 5, 6]), 0, -1)
        assert x.shape == (*truth.shape, 6)
        np.testing.assert_allclose(x[valid], raw[valid], rtol=1e-6)
        mask = _read(spec.mask, 1)
        assert not valid[mask == 0].any()
        assert (truth == np.isin(mask, (192, 255))).all()

    def test_38cloud_dn_becomes_uncorrected_toa(self, cloud38_dir):
        spec = cloud38_patches(cloud38_dir)[0]
        x, _, valid = compare_peers.read_patch(spec)
        assert x.shape[2] == 4
        blue = _read(spec.band_files[2], 1).astype(np.float64)
        np.testing.assert_allclose(x[..., 0][valid], (2e-5 * blue - 0.1)[valid], atol=1e-6)


class TestMain:
    def test_without_the_peer_environment_says_how_to_get_it(self, tmp_path, capsys):
        status = compare_peers.main(
            ["--peer-python", str(tmp_path / "nope" / "python"), "--out", str(tmp_path / "o")]
        )
        assert status == 2
        assert "make peers" in capsys.readouterr().err
        assert not (tmp_path / "o").exists()
