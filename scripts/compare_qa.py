#!/usr/bin/env python3
"""Hold the network's mask against the product's own QA band on every shared whole scene.

For each Landsat product folder with a QA band (``QA_PIXEL`` or ``BQA``) the network
runs (the bundled automatic model unless ``--model``/``--weights`` say otherwise) and
the QA band is decoded into the same codes (``--model qa``); the script prints the
cover of each class in both masks and how often they agree, writes a picture per
scene (network left, QA band right) and the Markdown table, and with ``--readme``
replaces the table in README.md between its ``compare_qa`` markers.

Examples:
    make compare-qa                              # the shared scenes, docs/ and README.md
    .venv/bin/python scripts/compare_qa.py --weights runs/new.safetensors --out /tmp/qa
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_SCENES = DATA_DIR / "scenes"
README_BEGIN = "<!-- compare_qa:begin -->"
README_END = "<!-- compare_qa:end -->"


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenes", nargs="*", type=Path,
        help=f"product folders (default: every one under {DEFAULT_SCENES} with a QA band)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "docs" / "qa_comparison",
        help="folder for the pictures and qa_comparison.md",
    )  # fmt: skip
    parser.add_argument("--model", default="auto", help="bundled model (auto, rgbn, ...)")
    parser.add_argument("--weights", type=Path, help="a checkpoint instead of a bundled model")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument(
        "--readme", type=Path, help="replace the table between the compare_qa markers here"
    )
    return parser


def shared_scenes(folder: Path) -> list[Path]:
    """The product folders under ``folder`` that hold a QA band, sorted by name."""
    from cloud_fcn_plugin.engine.scene.qa_band import find_qa_band

    found = []
    for candidate in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            if find_qa_band(candidate) is not None:
                found.append(candidate)
        except Exception as error:  # an unreadable folder is named and skipped
            print(f"skipped {candidate.name}: {error}", file=sys.stderr)
    return found


def update_readme(readme: Path, table: str) -> None:
    """Put ``table`` between the README's compare_qa markers."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"error: {readme} has no {README_BEGIN} ... {README_END} block")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{table}\n{README_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Compare every scene; print, write the pictures and the table; return the exit code."""
    args = build_parser().parse_args(argv)
    args.out = args.out.resolve()
    from cloud_fcn_plugin.engine.errors import CloudFcnError
    from cloud_fcn_plugin.engine.outputs.qa_compare import (
        compare_scene,
        markdown_table,
        text_report,
    )
    from cloud_fcn_plugin.engine.params import DetectionParams

    scenes = args.scenes or shared_scenes(DEFAULT_SCENES)
    if not scenes:
        print(f"error: no product folder with a QA band under {DEFAULT_SCENES}", file=sys.stderr)
        return 1
    params = DetectionParams(model=args.model, weights=args.weights, device=args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="compare_qa_") as workdir:
        for scene in scenes:
            try:
                row = compare_scene(scene, workdir, params, args.out / f"{scene.name}.png")
            except CloudFcnError as error:
                print(f"error: {scene.name}: {error}", file=sys.stderr)
                return 1
            print(text_report(row))
            rows.append(row)
    base = args.readme.parent if args.readme else args.out
    table = markdown_table(rows, picture_base=base.resolve())
    (args.out / "qa_comparison.md").write_text(table + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'qa_comparison.md'} and {len(rows)} pictures")
    if args.readme is not None:
        update_readme(args.readme, table)
        print(f"updated the table in {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
