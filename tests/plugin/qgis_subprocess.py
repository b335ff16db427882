"""Helpers to run QGIS (Python or ``qgis_process``) in a subprocess with a chosen environment."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
QGIS_PROCESS = "qgis_process.bin"  # Debian's wrapper adds an option the binary rejects

# Makes `import torch` fail as if PyTorch were not installed.
TORCH_BLOCKER = '''
import sys


class _HideTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _HideTorch())
'''


def venv_site_packages() -> list[str]:
    """The virtual environment's site-packages (torch lives there, not in QGIS's Python)."""
    return [p for p in site.getsitepackages() if p.startswith(sys.prefix)]


def qgis_env(home: Path, *, hide_torch: bool, extra_path: list[str] | None = None) -> dict:
    """Environment for a QGIS subprocess with its own HOME (hence its own profile)."""
    paths = list(extra_path or [])
    if hide_torch:
        blocker = home / "torch_blocker"
        blocker.mkdir(parents=True, exist_ok=True)
        (blocker / "sitecustomize.py").write_text(TORCH_BLOCKER, encoding="utf-8")
        paths.insert(0, str(blocker))
    else:
        paths += venv_site_packages()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QGIS_", "PYTEST_"))}
    env.update(
        HOME=str(home),
        PYTHONPATH=os.pathsep.join(paths),
        QT_QPA_PLATFORM="offscreen",
        XDG_RUNTIME_DIR=str(home),
    )
    env.pop("XDG_DATA_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    return env


def profile_dir(home: Path) -> Path:
    """The default QGIS profile under ``home``."""
    return home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"


def run(args: list[str], env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run a command, capturing text output."""
    return subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout, cwd=env["HOME"],
        check=False,
    )


def load_script(name: str):
    """Import ``scripts/<name>.py`` under a private module name (scripts/ is no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        f"_cloud_fcn_script_{name}", REPO_ROOT / "scripts" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
