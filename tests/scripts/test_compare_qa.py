"""scripts/compare_qa.py: the network against the product's QA band, and the README table."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cloud_fcn_plugin.engine.inference.decision import ClassCounts
from cloud_fcn_plugin.engine.outputs.qa_compare import SceneComparison, markdown_table
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "compare_qa.py"


def test_markdown_table_gives_every_class_and_the_agreement(tmp_path: Path) -> None:
    row = SceneComparison(
        "LC08_X", "Collection 1 BQA", "4-band model",
        ClassCounts.of({0: 70, 1: 20, 2: 5, 3: 5}), ClassCounts.of({0: 60, 1: 30, 3: 10}),
        90.0, 95.0, 80.0, tmp_path / "pictures" / "LC08_X.png", 33.3,
    )  # fmt: skip
    pre = replace(row, scene="LC8_Y", qa_label="pre-collection BQA", shadow_jaccard=None)
    table = markdown_table([row, pre], picture_base=tmp_path)
    header, rule, line, pre_line = table.splitlines()
    assert "thick cloud % (network / QA)" in header and "cloud shadow %" in header
    assert "shadow Jaccard %" in header
    assert header.count("|") == rule.count("|") == line.count("|") == pre_line.count("|")
    assert line == (
        "| LC08_X | Collection 1 BQA | 20.0 / 30.0 | 5.0 / 0.0 | 5.0 / 10.0 | 95.0 | 80.0 | "
        "33.3 | 90.0 | [png](pictures/LC08_X.png) |"
    )
    assert "| 80.0 | no shadow field | 90.0 |" in pre_line


@pytest.mark.data
def test_one_scene_prints_writes_the_picture_and_updates_the_readme(
    tmp_path: Path, brightness_weights: Path, data_dir: Path
) -> None:
    scene = data_dir / "scenes" / "LC08_L1TP_016037_20170813_C1_900m"
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- compare_qa:begin -->\nold\n<!-- compare_qa:end -->\nend\n")
    out = tmp_path / "docs"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(scene), "--weights", str(brightness_weights),
         "--device", "cpu", "--out", str(out), "--readme", str(readme)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Collection 1 BQA" in result.stdout and "cloud agreement" in result.stdout
    assert (out / f"{scene.name}.png").stat().st_size > 1000
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("end\n")
    assert f"| {scene.name} | Collection 1 BQA |" in text
    assert f"[png](docs/{scene.name}.png)" in text
