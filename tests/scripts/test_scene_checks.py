"""scripts/scene_checks.py: halves of the footprint, covers, and a real scene end to end."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))

import scene_checks


class TestCovers:
    def test_halves_split_the_valid_footprint_not_the_grid(self):
        valid = np.zeros((4, 10), bool)
        valid[:, 4:10] = True  # the footprint is the east part of the grid
        west, east = scene_checks.halves(valid)
        assert west.sum() == east.sum() == 12
        assert west[:, 4:7].all() and east[:, 7:].all()

    def test_cover_counts_cloud_codes_of_the_pixels_asked(self):
        mask = np.array([[0, 1, 2, 3, 255]], np.uint8)
        everything = mask != 255
        assert scene_checks.cover(mask, everything, (1, 2)) == pytest.approx(50.0)
        assert scene_checks.cover(mask, everything, (3,)) == pytest.approx(25.0)


@pytest.mark.data
def test_a_real_scene_through_detect(data_dir, tmp_path):
    code = scene_checks.main(
        ["--out", str(tmp_path), "--model", "rgbn", "--scenes", str(data_dir / "scenes"),
         "--match", "L1T_30m", "--config", "no shadow=--model rgbn --shadow network"]
    )
    assert code == 0
    table = (tmp_path / "scene_checks.md").read_text(encoding="utf-8")
    assert "LC80200392015216LGN00_L1T_30m | rgbn |" in table
    # A named set of options: the same model without the shadow geometry.
    assert "LC80200392015216LGN00_L1T_30m | no shadow | 4.0 | 0.0 |" in table
    assert (tmp_path / "LC80200392015216LGN00_L1T_30m.png").is_file()
