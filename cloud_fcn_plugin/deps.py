"""PyTorch availability and its installation into a folder the plugin owns.

QGIS ships its own Python without PyTorch. Rather than touching that installation,
the plugin installs torch with ``pip --target`` into a folder inside the QGIS
profile and puts that folder on ``sys.path`` when the plugin loads.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

TORCH_MISSING = (
    "PyTorch is not installed in the Python that QGIS uses: open the Detect clouds panel "
    "and click Install PyTorch (or pip install torch into {folder})."
)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu126"
# The engine reads checkpoints with safetensors, and keeps QGIS's BLAS to one thread with
# threadpoolctl (see engine/threads.py): install both together with torch.
PACKAGES = ("torch", "safetensors", "threadpoolctl")


def deps_dir() -> Path:
    """Return the plugin-owned folder that holds pip-installed packages.

    It lives in the QGIS profile (not the plugin folder) so that reinstalling or
    updating the plugin does not throw away a 200 MB download.
    """
    override = os.environ.get("CLOUD_FCN_DEPS_DIR")
    if override:
        return Path(override)
    try:
        from qgis.core import QgsApplication

        profile = QgsApplication.qgisSettingsDirPath()
    except ImportError:  # pragma: no cover - only outside QGIS
        profile = ""
    base = Path(profile) if profile else Path.home() / ".cloud_fcn"
    return base / "cloud_fcn" / "python"


def add_deps_to_path() -> Path:
    """Put the plugin-owned package folder on ``sys.path`` (idempotent)."""
    folder = deps_dir()
    if folder.is_dir() and str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
        importlib.invalidate_caches()
    return folder


def torch_available() -> bool:
    """Tell whether ``import torch`` can succeed, without paying for the import."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def missing_torch_message() -> str:
    """Return the one sentence both the panel and the algorithm show."""
    return TORCH_MISSING.format(folder=deps_dir())


def has_nvidia_gpu() -> bool:
    """Guess whether a CUDA build of torch is worth downloading."""
    return shutil.which("nvidia-smi") is not None


def python_executable() -> str:
    """Return a Python interpreter able to run pip for QGIS's Python.

    Inside QGIS ``sys.executable`` is often the QGIS binary itself (Windows,
    macOS), so look for the interpreter beside the Python installation.
    """
    exe = Path(sys.executable)
    if exe.name.lower().startswith("python"):
        return str(exe)
    for candidate in (
        Path(sys.exec_prefix) / "python.exe",
        Path(sys.exec_prefix) / "python3.exe",
        Path(sys.exec_prefix) / "bin" / "python3",
    ):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("python3") or shutil.which("python") or str(exe)


def pip_install_arguments(cuda: bool | None = None) -> list[str]:
    """Return the arguments (after the interpreter) that install torch into ``deps_dir``.

    Args:
        cuda: take the CUDA build; ``None`` decides from ``nvidia-smi`` being present.
    """
    if cuda is None:
        cuda = has_nvidia_gpu()
    return [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--upgrade",
        "--target",
        str(deps_dir()),
        "--index-url",
        CUDA_INDEX if cuda else CPU_INDEX,
        "--extra-index-url",
        "https://pypi.org/simple",
        *PACKAGES,
    ]
