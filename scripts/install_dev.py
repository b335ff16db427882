"""Link the working tree into a QGIS profile for development and enable the plugin.

QGIS needs ``metadata.txt`` inside the plugin folder, but the source tree keeps it
(and ``resources/``) at the repository root. So the installed folder is a real
directory whose entries are symbolic links: the package's modules, plus
``metadata.txt``, ``LICENSE`` and ``resources``. Edits in the working tree are live
after a QGIS restart or a Plugin Reloader run; re-run this after adding a top-level
module to the package.

Enabling writes ``cloud_fcn_plugin=true`` under ``[PythonPlugins]`` in the
profile's ``QGIS/QGIS3.ini``: QGIS 3.22's ``qgis_process`` loads only enabled plugins.

Usage: ``python scripts/install_dev.py [--profile-dir DIR]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cloud_fcn_plugin"
MARKER = ".cloud_fcn_dev_links"


def default_profile_dir() -> Path:
    """Return the default QGIS 3 profile folder of this user and platform."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "QGIS" / "QGIS3" / "profiles" / "default"


def link_plugin(plugins_dir: Path, root: Path = REPO_ROOT, force: bool = False) -> Path:
    """Create ``plugins_dir/cloud_fcn_plugin`` as a folder of links into ``root``.

    Raises:
        SystemExit: a real (zip) installation is in the way and ``force`` is not set.
    """
    target = plugins_dir / PACKAGE
    if target.is_symlink():
        target.unlink()
    elif target.is_dir():
        if not (target / MARKER).exists() and not force:
            raise SystemExit(
                f"{target} holds an installed copy of the plugin: remove it or pass --force."
            )
        shutil.rmtree(target)
    target.mkdir(parents=True)
    sources = [p for p in (root / PACKAGE).iterdir() if p.name != "__pycache__"]
    sources += [root / "metadata.txt", root / "LICENSE", root / "resources"]
    for source in sources:
        (target / source.name).symlink_to(source.resolve(), source.is_dir())
    (target / MARKER).write_text(f"{root.resolve()}\n", encoding="utf-8")
    return target


def enable_plugin(profile_dir: Path, name: str = PACKAGE) -> Path:
    """Set ``name=true`` under ``[PythonPlugins]`` in the profile's ``QGIS/QGIS3.ini``.

    The file is edited as text, so QGIS's other settings stay byte for byte.
    """
    ini = profile_dir / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    text = ini.read_text(encoding="utf-8") if ini.exists() else ""
    entry = f"{name}=true"
    section = re.search(r"^\[PythonPlugins\][^\n]*\n(?P<body>(?:(?!\[).*\n?)*)", text, re.M)
    if section is None:
        text = f"{text.rstrip()}\n\n[PythonPlugins]\n{entry}\n".lstrip()
    else:
        body = section.group("body")
        key = re.compile(rf"^{re.escape(name)}=.*$", re.M)
        new_body = key.sub(entry, body) if key.search(body) else f"{entry}\n{body}"
        text = text[: section.start("body")] + new_body + text[section.end("body") :]
    ini.write_text(text, encoding="utf-8")
    return ini


def main(argv: list[str] | None = None) -> int:
    """Link and enable the plugin in a QGIS profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile-dir", type=Path, default=None, help="QGIS profile folder (default: 'default')"
    )
    parser.add_argument("--force", action="store_true", help="replace an installed copy")
    args = parser.parse_args(argv)
    profile = args.profile_dir or default_profile_dir()
    target = link_plugin(profile / "python" / "plugins", force=args.force)
    ini = enable_plugin(profile)
    print(f"Linked {REPO_ROOT / PACKAGE} -> {target}")
    print(f"Enabled {PACKAGE} in {ini}; restart QGIS to load it.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
