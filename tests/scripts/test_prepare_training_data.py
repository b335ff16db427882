"""scripts/prepare_training_data.py: the ukis-csmask patches recoded, the teachers' agreement."""

from __future__ import annotations

import sys

import numpy as np
import rasterio

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import prepare_training_data as prepare

from cloud_fcn_plugin.engine.training.datasets import MaskCoding, image_mask_pairs


def _shares(clear: float, cloud: float, shadow: float) -> np.ndarray:
    return np.array([[[clear, cloud, shadow]]], np.float32)


class TestTeacherMask:
    def test_labelled_where_both_teachers_agree_and_are_sure(self):
        valid = np.ones((1, 1), bool)
        cloudy = _shares(0.05, 0.9, 0.05)
        assert prepare.teacher_mask((cloudy, cloudy), valid, 0.8)[0, 0] == prepare.CLOUD
        shadowy = _shares(0.1, 0.0, 0.9)
        assert prepare.teacher_mask((shadowy, shadowy), valid, 0.8)[0, 0] == prepare.SHADOW

    def test_disagreement_is_left_unlabelled(self):
        valid = np.ones((1, 1), bool)
        four, six = _shares(0.95, 0.05, 0.0), _shares(0.1, 0.9, 0.0)  # Greenland's ice
        assert prepare.teacher_mask((four, six), valid, 0.5)[0, 0] == prepare.UNLABELLED

    def test_unsure_and_fill_are_unlabelled(self):
        unsure = _shares(0.4, 0.6, 0.0)
        assert prepare.teacher_mask((unsure, unsure), np.ones((1, 1), bool), 0.8)[0, 0] == 0
        sure = _shares(0.0, 1.0, 0.0)
        assert prepare.teacher_mask((sure, sure), np.zeros((1, 1), bool), 0.8)[0, 0] == 0


class TestSoftTeacher:
    def test_every_view_turns_back_onto_the_image(self):
        image = np.arange(2 * 3 * 2).reshape(2, 3, 2)
        for view in range(8):
            seen = prepare.dihedral(image, view)
            assert np.array_equal(prepare.dihedral(seen, view, inverse=True), image)
        assert len({prepare.dihedral(image, v).tobytes() for v in range(8)}) == 8

    def test_soft_mask_reads_back_as_the_share(self):
        share = np.array([[0.0, 0.25, 1.0, 0.5]], np.float32)
        valid = np.array([[True, True, True, False]])
        mask = prepare.soft_mask(share, valid)
        decoded, labelled = MaskCoding(soft=prepare.SOFT_SCALE).decode_share(mask)
        assert decoded[labelled].tolist() == [0.0, 0.25, 1.0]
        assert labelled.tolist() == [[True, True, True, False]]


class TestUkisPatches:
    def test_recoded_as_pairs_the_trainer_reads(self, data_dir, tmp_path, monkeypatch):
        monkeypatch.setattr(prepare, "DATA_DIR", data_dir)
        prepare.ukis_patches(tmp_path)
        with rasterio.open(tmp_path / "images" / "ukis_landsat5.tif") as src:
            assert src.count == 6 and src.descriptions == prepare.BAND_DESCRIPTIONS
        with rasterio.open(tmp_path / "masks" / "ukis_landsat5.tif") as src:
            codes = set(np.unique(src.read(1)).tolist())
        assert codes <= {prepare.CLOUD, prepare.CLEAR, prepare.SHADOW, prepare.UNLABELLED}
        coding = MaskCoding(cloud=(255,), fill=(0,), shadow=(64,))
        (spec,) = (s for s in image_mask_pairs(tmp_path / "images", tmp_path / "masks",
                                               coding=coding) if s.name == "ukis_landsat5")
        shadow, known = spec.read_class_truth()[:2]
        assert 0.15 < shadow.mean() < 0.3 and known.all()  # 23 % shadow, all labelled
