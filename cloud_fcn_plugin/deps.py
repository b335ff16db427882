"""PyTorch availability and its installation into a folder the plugin owns.

QGIS ships its own Python without PyTorch. Rather than touching that installation,
the plugin installs torch with ``pip --target`` into a folder inside the QGIS
profile and puts that folder at the end of ``sys.path`` when the plugin loads, so
QGIS's own packages (numpy, GDAL's bindings) always win over anything pip brought.

The versions are those the project's Makefile installs and its tests run with. torch
comes from PyTorch's index alone and the rest from the package registry alone: with
``--extra-index-url`` pip takes the highest version from either index, so a package
published under the same name on the other index could replace the real one.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

TORCH_MISSING = (
    "PyTorch is not installed in the Python that QGIS uses: open the Detect clouds and shadows "
    "panel and click Install PyTorch (or pip install torch into {folder})."
)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu126"
PYPI_INDEX = "https://pypi.org/simple"
# The engine reads checkpoints with safetensors, and keeps QGIS's BLAS to one thread with
# threadpoolctl (see engine/threads.py): install both together with torch.
PACKAGES = ("torch", "safetensors", "threadpoolctl")
#: The tested versions (Makefile: torch and safetensors by pip, threadpoolctl by Debian 12).
VERSIONS = {"torch": "2.13.0", "safetensors": "0.4.5", "threadpoolctl": "3.1.0"}
#: torch's own dependencies (and theirs), at the versions the tests run with: pip's
#: (sympy, mpmath, networkx, filelock, typing-extensions, setuptools) and Debian 12's
#: (jinja2, MarkupSafe, fsspec). Pinned so that no run brings untested versions.
TORCH_DEPENDENCIES = {
    "filelock": "4.3.2",
    "fsspec": "2022.11.0",
    "jinja2": "3.1.2",
    "MarkupSafe": "2.1.2",
    "mpmath": "1.3.0",
    "networkx": "3.6.1",
    "setuptools": "84.2.1",
    "sympy": "1.14.0",
    "typing-extensions": "4.16.0",
}
#: ONNX Runtime, optional: only ``.onnx`` models need it (the version the tests run with).
ONNXRUNTIME_REQUIREMENT = "onnxruntime==1.32.0"
ONNXRUNTIME_MISSING = (
    "ONNX Runtime is not installed in the Python that QGIS uses, and {model} needs it: "
    "click Install ONNX Runtime (or pip install {requirement} into {folder})."
)


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
        # Last, never first: QGIS's own packages must not be shadowed by pip's copies.
        sys.path.append(str(folder))
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


def onnxruntime_available() -> bool:
    """Tell whether ``import onnxruntime`` can succeed, without paying for the import."""
    if "onnxruntime" in sys.modules:
        return sys.modules["onnxruntime"] is not None
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):
        return False


def missing_onnxruntime_message(model: str = "an .onnx model") -> str:
    """Return the one sentence the panel shows when an .onnx model lacks ONNX Runtime."""
    return ONNXRUNTIME_MISSING.format(
        model=model, requirement=ONNXRUNTIME_REQUIREMENT, folder=deps_dir()
    )


def onnxruntime_install_commands() -> list[list[str]]:
    """Return the pip run (arguments after the interpreter) that installs ONNX Runtime.

    One run from the package registry alone, with its dependencies (flatbuffers,
    protobuf; a numpy it may bring stays behind QGIS's own, see :func:`add_deps_to_path`).
    """
    return [
        [
            "-m", "pip", "install", "--disable-pip-version-check", "--upgrade",
            "--target", str(deps_dir()), "--index-url", PYPI_INDEX, ONNXRUNTIME_REQUIREMENT,
        ]
    ]  # fmt: skip


def missing_torch_message() -> str:
    """Return the one sentence both the panel and the algorithm show."""
    return TORCH_MISSING.format(folder=deps_dir())


def has_nvidia_gpu() -> bool:
    """Guess whether a CUDA build of torch is worth downloading."""
    return shutil.which("nvidia-smi") is not None


def python_executable() -> str:
    """Return a Python interpreter able to run pip for QGIS's Python.

    Inside QGIS ``sys.executable`` is often the QGIS binary itself (Linux, Windows,
    macOS), so look for the interpreter of this very Python installation: in
    ``sys.exec_prefix`` first, then its version-named command (``python3.11``) on the
    PATH. A bare ``python3`` from the PATH may be another Python (a virtual
    environment, conda) whose packages QGIS cannot import, so it is never taken.
    """
    exe = Path(sys.executable)
    if exe.name.lower().startswith("python"):
        return str(exe)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    prefix = Path(sys.exec_prefix)
    for candidate in (
        prefix / "bin" / version,
        prefix / "python.exe",
        prefix / "python3.exe",
        prefix / "bin" / f"python{sys.version_info.major}",
    ):
        if candidate.is_file():
            return str(candidate)
    return shutil.which(version) or str(exe)


def _pinned(name: str) -> str:
    return f"{name}=={VERSIONS.get(name) or TORCH_DEPENDENCIES[name]}"


def pip_install_commands(cuda: bool | None = None) -> list[list[str]]:
    """Return the pip runs (arguments after the interpreter) that install into ``deps_dir``.

    Two runs, each from one index only: torch from PyTorch's index, then safetensors,
    threadpoolctl and torch's own dependencies from the package registry, every one
    pinned. The CPU build comes alone (``--no-deps``); the CUDA build brings its CUDA
    runtime from PyTorch's index, and the second run then replaces whatever other
    versions it brought with the pinned ones.

    Args:
        cuda: take the CUDA build; ``None`` decides from ``nvidia-smi`` being present.
    """
    if cuda is None:
        cuda = has_nvidia_gpu()
    common = [
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--upgrade",
        "--target",
        str(deps_dir()),
    ]
    alone = [] if cuda else ["--no-deps"]
    registry = [*PACKAGES[1:], *TORCH_DEPENDENCIES]
    return [
        [*common, "--index-url", CUDA_INDEX if cuda else CPU_INDEX, *alone, _pinned("torch")],
        [*common, "--index-url", PYPI_INDEX, "--no-deps", *map(_pinned, registry)],
    ]


def pip_install_arguments(cuda: bool | None = None) -> list[str]:
    """Return the first pip run of :func:`pip_install_commands`: torch from PyTorch's index."""
    return pip_install_commands(cuda)[0]
