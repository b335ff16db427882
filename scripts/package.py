"""Build the plugin zip that QGIS installs through "Install from ZIP".

The zip holds one top folder, ``cloud_fcn_plugin/``, with the package code QGIS
uses, ``metadata.txt``, ``LICENSE`` and ``resources/{icons,styles,weights,help,sample}``
copied inside it (in the source tree they sit at the repository root). Training,
evaluation, Dask batch and preview code stays out: only the scripts use it.

Usage: ``python scripts/package.py --output dist``
"""

from __future__ import annotations

import argparse
import configparser
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cloud_fcn_plugin"
# The sample (2.4 MB, with its true-colour default style) gives a user who installs from
# ZIP a scene to try (issue 18, item 14).
RESOURCE_FOLDERS = ("icons", "styles", "weights", "help", "sample")
#: Engine parts only the scripts use (training, evaluation, Dask batch runs, previews).
SCRIPT_ONLY = (
    "engine/training/", "engine/batch/", "engine/files/interrupts.py", "engine/outputs/preview.py",
)
# Fields a zip cannot do without (QGIS lists and loads a plugin by them).
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author")
# Fields plugins.qgis.org also refuses an upload without; no placeholder stands in for them.
UPLOAD_METADATA = ("email", "repository")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "tests"}
# .ts: translation sources; QGIS loads the .qm files `make i18n` compiles from them.
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp", ".ts"}
# Fixed timestamp so two builds of the same tree give the same bytes.
ZIP_DATE = (2024, 1, 1, 0, 0, 0)


def read_metadata(path: Path) -> dict[str, str]:
    """Return the ``[general]`` section of ``metadata.txt``, checking required fields.

    Raises:
        SystemExit: a required field is missing or empty.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep qgisMinimumVersion's case
    parser.read(path, encoding="utf-8")
    general = dict(parser["general"]) if parser.has_section("general") else {}
    missing = [key for key in REQUIRED_METADATA if not general.get(key, "").strip()]
    if missing:
        raise SystemExit(f"{path} lacks required field(s): {', '.join(missing)}.")
    return general


def upload_gaps(metadata: dict[str, str]) -> list[str]:
    """The fields plugins.qgis.org requires that ``metadata`` leaves empty."""
    return [key for key in UPLOAD_METADATA if not metadata.get(key, "").strip()]


def _wanted(path: Path) -> bool:
    return (
        not any(part in SKIPPED_DIRS or part.startswith(".") for part in path.parts)
        and path.suffix not in SKIPPED_SUFFIXES
    )


def plugin_files(root: Path = REPO_ROOT) -> Iterator[tuple[Path, str]]:
    """Yield ``(file on disk, name in the zip)`` for everything the plugin ships."""
    package = root / PACKAGE
    for file in sorted(package.rglob("*")):
        relative = file.relative_to(package)
        if relative.as_posix().startswith(SCRIPT_ONLY):
            continue
        if file.is_file() and _wanted(relative):
            yield file, f"{PACKAGE}/{relative.as_posix()}"
    for name in ("metadata.txt", "LICENSE"):
        yield root / name, f"{PACKAGE}/{name}"
    for folder in RESOURCE_FOLDERS:
        base = root / "resources" / folder
        for file in sorted(base.rglob("*")) if base.is_dir() else ():
            relative = file.relative_to(root)
            if file.is_file() and _wanted(relative) and file.name != ".gitkeep":
                yield file, f"{PACKAGE}/{relative.as_posix()}"


def build(output_dir: Path, root: Path = REPO_ROOT) -> Path:
    """Write ``<output_dir>/cloud_fcn_plugin-<version>.zip`` and return its path."""
    version = read_metadata(root / "metadata.txt")["version"].strip()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{PACKAGE}-{version}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, name in plugin_files(root):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes())
    return target


def main(argv: list[str] | None = None) -> int:
    """Build the zip; warn when no bundled weights would ship with it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=REPO_ROOT / "dist", help="folder for the zip"
    )
    args = parser.parse_args(argv)
    target = build(args.output)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
    if not any(name.startswith(f"{PACKAGE}/resources/weights/") for name in names):
        print("warning: resources/weights/ is empty: the zip ships no bundled weights.",
              file=sys.stderr)
    gaps = upload_gaps(read_metadata(REPO_ROOT / "metadata.txt"))
    if gaps:
        print(f"note: metadata.txt has no {' or '.join(gaps)}: fine for Install from ZIP, but "
              "plugins.qgis.org refuses the upload until they are set.", file=sys.stderr)
    print(f"{target} ({len(names)} files, {target.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
