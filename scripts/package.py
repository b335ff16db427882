"""Build the plugin zip that QGIS installs through "Install from ZIP".

The zip holds one top folder, ``cloud_fcn_plugin/``, with the package code QGIS
uses, ``metadata.txt``, ``LICENSE`` and ``resources/{icons,styles,weights,help,sample}``
copied inside it (in the source tree they sit at the repository root). Training,
evaluation, Dask batch and preview code stays out: only the scripts use it.

The translations are compiled here from their ``i18n/*.ts`` sources with ``lrelease``
(Qt Linguist), so the zip never ships without them or with a stale ``.qm``; without
``lrelease`` the script refuses in one line (or, with ``--allow-stale-qm``, takes the
``.qm`` files already built beside the ``.ts`` when none is older than its source).

Usage: ``python scripts/package.py --output dist``
"""

from __future__ import annotations

import argparse
import configparser
import shutil
import subprocess
import sys
import tempfile
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
    "engine/training/", "engine/batch/", "engine/outputs/preview.py",
)
# Fields a zip cannot do without (QGIS lists and loads a plugin by them).
REQUIRED_METADATA = ("name", "qgisMinimumVersion", "description", "about", "version", "author")
# Fields plugins.qgis.org also refuses an upload without; no placeholder stands in for them.
UPLOAD_METADATA = ("email", "repository")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "tests"}
# .ts: translation sources; .qm: what QGIS loads, compiled from them by build() itself.
SKIPPED_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".swp", ".ts", ".qm"}
#: GDAL's sidecars: QGIS writes ``X.tif.aux.xml`` (histograms) beside a raster it shows,
#: the sample included once it has been run in QGIS or qgis_process.
SKIPPED_ENDINGS = (".aux.xml",)
I18N = "i18n"
#: Names lrelease has on Debian, Fedora and Homebrew (Qt 5 or 6: the .qm format is one).
LRELEASE_NAMES = ("lrelease", "lrelease-qt5", "lrelease-qt6", "lrelease6")
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
        and not path.name.endswith(SKIPPED_ENDINGS)
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


class TranslationError(SystemExit):
    """The translations cannot be compiled: the message says what to install."""


def find_lrelease() -> str | None:
    """The ``lrelease`` program on PATH, if any."""
    return next((found for name in LRELEASE_NAMES if (found := shutil.which(name))), None)


def compile_translations(
    root: Path, workdir: Path, lrelease: str | None = None, *, allow_stale: bool = False
) -> list[tuple[Path, str]]:
    """Compile every ``i18n/*.ts`` into ``workdir``; return ``(.qm file, name in the zip)``.

    Raises:
        TranslationError: no ``lrelease`` (and, with ``allow_stale``, a ``.qm`` missing or
            older than its ``.ts``), or ``lrelease`` failed.
    """
    sources = sorted((root / PACKAGE / I18N).glob("*.ts"))
    lrelease = lrelease if lrelease is not None else find_lrelease()
    compiled = []
    for ts in sources:
        name = f"{PACKAGE}/{I18N}/{ts.stem}.qm"
        if not lrelease:
            built = ts.with_suffix(".qm")
            fresh = built.is_file() and built.stat().st_mtime >= ts.stat().st_mtime
            if not (allow_stale and fresh):
                raise TranslationError(
                    f"package.py: cannot compile {ts.name}: lrelease (Qt Linguist; Debian: "
                    "qttools5-dev-tools) is not installed; install it, or pass "
                    "--allow-stale-qm to ship the .qm files `make i18n` built."
                )
            compiled.append((built, name))
            continue
        target = workdir / f"{ts.stem}.qm"
        done = subprocess.run([lrelease, "-silent", str(ts), "-qm", str(target)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not target.is_file():
            reason = (done.stderr or done.stdout).strip().splitlines()
            raise TranslationError(
                f"package.py: lrelease could not compile {ts.name}"
                + (f": {reason[-1]}" if reason else "") + "."
            )
        compiled.append((target, name))
    return compiled


def build(output_dir: Path, root: Path = REPO_ROOT, *, lrelease: str | None = None,
          allow_stale_qm: bool = False) -> Path:
    """Write ``<output_dir>/cloud_fcn_plugin-<version>.zip`` and return its path.

    The translations are compiled into it (:func:`compile_translations`).

    Raises:
        TranslationError: they cannot be compiled.
    """
    version = read_metadata(root / "metadata.txt")["version"].strip()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{PACKAGE}-{version}.zip"
    with tempfile.TemporaryDirectory() as workdir:
        translations = compile_translations(root, Path(workdir), lrelease,
                                            allow_stale=allow_stale_qm)
        files = sorted([*plugin_files(root), *translations], key=lambda pair: pair[1])
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for file, name in files:
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
    parser.add_argument(
        "--allow-stale-qm", action="store_true",
        help="without lrelease, ship the .qm files beside the .ts if none is older than its .ts",
    )
    args = parser.parse_args(argv)
    try:
        target = build(args.output, allow_stale_qm=args.allow_stale_qm)
    except TranslationError as exc:
        print(exc, file=sys.stderr)
        return 1
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
