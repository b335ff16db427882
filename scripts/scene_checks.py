#!/usr/bin/env python3
"""Whole-scene checks: every shared real scene through ``detect.py``, as a user runs it.

The labelled patches say how a model scores; whole scenes say whether it holds where
analysts need it (snow and ice, dim small cumulus, Level-2 products). For every scene
under ``../shared/data/scenes``, this runs ``scripts/detect.py`` with each model asked
for and prints, per scene: the cloud and shadow cover of the mask and the cloud cover
of the west and east halves of the valid footprint (the Gulf-coast cumulus field
straddles them). It writes ``scene_checks.json``, ``scene_checks.md`` and a picture per
scene (true colour, then each model's mask) into ``--out``. The product QA band beside
the network is ``scripts/compare_qa.py``'s job.

Example::

    .venv/bin/python scripts/scene_checks.py --out runs/scenes --model auto --model rgbn
    .venv/bin/python scripts/scene_checks.py --out runs/scenes --model auto \
        --config "candidate=--weights runs/x/last.safetensors --physics on"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from cloud_fcn_plugin.engine.classes import CLOUD_CODES, CLOUD_SHADOW, NODATA  # noqa: E402
from cloud_fcn_plugin.engine.scene.reader import is_product_folder  # noqa: E402

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
DETECT = REPO_ROOT / "scripts" / "detect.py"


def scenes(root: Path) -> list[Path]:
    """The shared whole scenes as a user gives them: the MTL file, else the product folder."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        mtl = sorted(folder.glob("*_MTL.txt"))
        if mtl or is_product_folder(folder):
            found.append(mtl[0] if mtl else folder)
    return found


def run_detect(scene: Path, options: str, out: Path) -> tuple[str, str]:
    """Run detect.py with ``options`` on a scene; return (model sentence, error or '')."""
    command = [sys.executable, str(DETECT), str(scene), "-o", str(out), *shlex.split(options)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return "", result.stderr.strip().splitlines()[-1] if result.stderr else "failed"
    notes = [line for line in result.stderr.splitlines() if "Model:" in line]
    return (notes[0].split("Model:", 1)[1].strip() if notes else ""), ""


def halves(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the west and east halves of the valid footprint (split at its middle column)."""
    columns = np.flatnonzero(valid.any(axis=0))
    middle = (columns[0] + columns[-1]) // 2 if columns.size else valid.shape[1] // 2
    west = np.zeros(valid.shape, bool)
    west[:, : middle + 1] = True
    return west & valid, ~west & valid


def cover(mask: np.ndarray, where: np.ndarray, codes: tuple[int, ...]) -> float:
    """Percentage of ``where`` pixels whose code is in ``codes``."""
    count = int(where.sum())
    return float(100.0 * np.isin(mask[where], codes).sum() / count) if count else float("nan")


def read(path: Path) -> np.ndarray:
    """First band of a raster."""
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def scene_row(name: str, model: str, mask: np.ndarray, sentence: str) -> dict[str, Any]:
    """Covers of one mask."""
    valid = mask != NODATA
    west, east = halves(valid)
    row: dict[str, Any] = {
        "scene": name,
        "model": model,
        "ran": sentence,
        "cloud": cover(mask, valid, CLOUD_CODES),
        "shadow": cover(mask, valid, (CLOUD_SHADOW,)),
        "cloud_west": cover(mask, west, CLOUD_CODES),
        "cloud_east": cover(mask, east, CLOUD_CODES),
    }
    return row


def picture(scene: Path, name: str, masks: dict[str, np.ndarray], path: Path) -> None:
    """True colour, then each model's mask, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    from cloud_fcn_plugin.engine.scene.reader import open_scene
    from cloud_fcn_plugin.engine.training.evaluation import stretch_rgb

    with open_scene(scene) as reader:
        reflectance, valid = reader.read_all()
    panels = {"true colour": stretch_rgb(reflectance, valid)} | dict(masks)
    # clear, thick cloud, thin cloud, shadow; no data black, so white cloud stands out.
    colours = ListedColormap(["#5a6e4b", "#ffffff", "#9ecae1", "#d6279c"])
    colours.set_bad("black")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    for axis, (title, image) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        if image.ndim == 3:
            axis.imshow(image)
        else:
            shown = np.ma.masked_equal(image, NODATA)
            axis.imshow(shown, cmap=colours, vmin=-0.5, vmax=3.5, interpolation="nearest")
        axis.set_title(title, fontsize=8)
        axis.axis("off")
    fig.suptitle(name, fontsize=9)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""

    def pct(value: Any) -> str:
        return "-" if value is None or value != value else f"{value:.1f}"

    lines = [
        "| scene | model | cloud % | shadow % | west / east cloud % |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['scene']} | {r['model']} | {r['error']} | | |")
            continue
        lines.append(
            f"| {r['scene']} | {r['model']} | {pct(r['cloud'])} | {pct(r['shadow'])} | "
            f"{pct(r['cloud_west'])} / {pct(r['cloud_east'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the tables, pictures")
    parser.add_argument("--model", action="append", default=[],
                        help="detect.py --model value (repeatable)")
    parser.add_argument("--config", action="append", default=[], metavar="NAME=OPTIONS",
                        help="a named set of detect.py options, e.g. "
                        "'synthetic=--weights runs/x/last.safetensors --physics on' (repeatable)")
    parser.add_argument("--scenes", type=Path, default=DATA_DIR / "scenes")
    parser.add_argument("--match", default="", help="only scenes whose folder name has this")
    args = parser.parse_args(argv)
    configs = [(model, f"--model {shlex.quote(model)}") for model in args.model]
    for config in args.config:
        name, _, options = config.partition("=")
        configs.append((name, options))
    configs = configs or [("auto", "--model auto")]
    if not args.scenes.is_dir():
        print(f"error: {args.scenes} not found: point --scenes at the shared scenes.",
              file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scene in (s for s in scenes(args.scenes) if args.match in str(s)):
            name = scene.name if scene.is_dir() else scene.parent.name
            masks = {}
            for number, (model, options) in enumerate(configs):
                out = Path(tmp) / f"{name}_{number}.tif"
                sentence, error = run_detect(scene, options, out)
                if error:
                    rows.append({"scene": name, "model": model, "error": error})
                    print(markdown(rows[-1:]).splitlines()[-1], flush=True)
                    continue
                mask = read(out)
                label = Path(model).stem if "/" in model else model
                masks[f"{label}: {sentence[:28]}"] = mask
                rows.append(scene_row(name, model, mask, sentence))
                print(markdown(rows[-1:]).splitlines()[-1], flush=True)
            if masks:
                picture(scene, name, masks, args.out / f"{name}.png")
    (args.out / "scene_checks.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    (args.out / "scene_checks.md").write_text(markdown(rows), encoding="utf-8")
    print(f"wrote {args.out / 'scene_checks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
