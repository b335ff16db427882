"""Training datasets: Biome and 38-Cloud patches, labels, patch lists, reassembled scenes."""

from __future__ import annotations

import os

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import InputReadError, ParameterError
from cloud_fcn_plugin.engine.training.datasets import (
    BIOME_CODING,
    MaskCoding,
    PatchPosition,
    assemble_scene,
    biome_patches,
    cloud38_patches,
    group_by_scene,
    parse_patch_name,
    read_band,
    read_patch_list,
)
from tests.conftest import write_geotiff

# A Biome training patch with cloud, thin cloud, shadow and clear ground.
MIXED_PATCH = "Shrubland_00_0614"


class TestDatasets:
    def test_biome_coding(self):
        mask = np.array([0, 64, 128, 192, 255], np.uint8)
        cloud, labelled = BIOME_CODING.decode(mask)
        assert cloud.tolist() == [False, False, False, True, True]
        assert labelled.tolist() == [False, True, True, True, True]

    def test_default_coding_is_any_nonzero(self):
        cloud, labelled = MaskCoding(fill=(7,)).decode(np.array([0, 1, 255, 7]))
        assert cloud.tolist() == [False, True, True, False]
        assert labelled.tolist() == [True, True, True, False]

    def test_soft_coding_is_a_share_for_training_and_a_half_for_metrics(self):
        coding = MaskCoding(soft=200)
        mask = np.array([0, 1, 101, 140, 201], np.uint8)
        share, labelled = coding.decode_share(mask)
        assert share.tolist() == pytest.approx([0.0, 0.0, 0.5, 0.695, 1.0])
        assert labelled.tolist() == [False, True, True, True, True]
        cloud, _ = coding.decode(mask)
        assert cloud.tolist() == [False, False, True, True, True]

    def test_hard_codings_train_on_zero_and_one(self):
        share, _ = BIOME_CODING.decode_share(np.array([0, 128, 192, 255], np.uint8))
        assert share.dtype == np.float32 and share.tolist() == [0.0, 0.0, 1.0, 1.0]

    @pytest.mark.data
    def test_biome_patch_loads_as_toa_red_green_blue_nir(self, biome_dir):
        spec = next(s for s in biome_patches(biome_dir / "train") if s.name == MIXED_PATCH)
        patch = spec.load()
        assert patch.product == "toa"
        assert patch.reflectance.shape == (4, 256, 256)
        import rasterio

        with rasterio.open(spec.image) as src:
            red = src.read(3)
        assert np.allclose(patch.reflectance[0], red)
        assert 0.5 < patch.target.mean() < 0.7  # cloud and thin cloud of this patch

    @pytest.mark.data
    def test_38cloud_patch_loads_as_level1(self, cloud38_dir):
        (spec,) = cloud38_patches(cloud38_dir)
        patch = spec.load()
        assert patch.product == "l1"
        assert patch.reflectance.shape == (4, 384, 384)
        assert patch.target.mean() == pytest.approx(0.307, abs=0.01)

    def test_missing_folder_raises(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            biome_patches(tmp_path)

    def test_labels_and_patch_lists_pass_the_file_gate(self, tmp_path):
        """A FIFO where a label or a patch list should be: one line, never a hang."""
        fifo = tmp_path / "gt_patch.tif"
        os.mkfifo(fifo)
        with pytest.raises(InputReadError, match="gt_patch.tif"):
            read_band(fifo)
        listing = tmp_path / "training_patches_38-Cloud.csv"
        os.mkfifo(listing)
        with pytest.raises(InputReadError, match="training_patches_38-Cloud.csv"):
            read_patch_list(listing)

    def test_a_truncated_label_is_one_line(self, tmp_path):
        label = tmp_path / "gt.tif"
        write_geotiff(label, np.zeros((1, 64, 64), np.uint8))
        label.write_bytes(label.read_bytes()[:300])
        with pytest.raises(InputReadError, match="gt.tif"):
            read_band(label)


class TestSceneReassembly:
    def test_parse_patch_name(self):
        name = "patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1"
        assert parse_patch_name(name) == PatchPosition(
            192, 10, 12, "LC08_L1TP_002053_20160520_20170324_01_T1"
        )

    def test_bad_name_raises(self):
        with pytest.raises(ParameterError, match="patch_<n>"):
            parse_patch_name("gt_patch_1_2_3")

    @pytest.mark.parametrize("shape", [(700, 500), (384, 384), (1000, 1153)])
    def test_synthetic_scene_cut_into_named_patches_reassembles_exactly(self, shape):
        from cloud_fcn_plugin.engine.training.datasets import PatchSpec

        size = 96  # any patch size works; 38-Cloud uses 384
        scene = np.random.default_rng(0).integers(1, 255, size=shape).astype(np.uint8)
        rows, cols = -(-shape[0] // size), -(-shape[1] // size)
        padded = np.zeros((rows * size, cols * size), np.uint8)
        top, left = (padded.shape[0] - shape[0]) // 2, (padded.shape[1] - shape[1]) // 2
        padded[top : top + shape[0], left : left + shape[1]] = scene
        named = {}
        number = 0
        for r in range(rows):
            for c in range(cols):
                number += 1
                name = f"patch_{number}_{r + 1}_by_{c + 1}_LC08_SCENE"
                named[name] = padded[r * size : (r + 1) * size, c * size : (c + 1) * size]
        order = list(named)[::-1]  # the CSV order must not matter
        groups = group_by_scene([PatchSpec(name) for name in order])
        assert list(groups) == ["LC08_SCENE"]
        patches = [(pos, named[spec.name]) for pos, spec in groups["LC08_SCENE"]]
        assert np.array_equal(assemble_scene(patches, shape, size), scene)

    def test_missing_patches_raise(self):
        position = PatchPosition(1, 1, 1, "S")
        with pytest.raises(ParameterError, match="missing"):
            assemble_scene([(position, np.zeros((4, 4)))], (10, 10), 4)
