"""Locate bundled resources both in the source tree and in the plugin zip."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[2]  # cloud_fcn_plugin/

# In the plugin zip, resources/ sits inside the package folder; in the source
# tree it sits beside it at the repository root.
_CANDIDATES = (_PACKAGE_DIR / "resources", _PACKAGE_DIR.parent / "resources")


def resources_dir() -> Path:
    """Return the folder holding icons, styles, weights and the sample scene."""
    for candidate in _CANDIDATES:
        if candidate.is_dir():
            return candidate
    return _CANDIDATES[-1]


def resource_path(*parts: str) -> Path:
    """Return the path of a bundled resource, e.g. ``resource_path("styles", "cloud_mask.qml")``."""
    return resources_dir().joinpath(*parts)


def default_weights_path() -> Path:
    """Return the bundled 4-band checkpoint (the model for inputs without B6-B10)."""
    return resource_path("weights", "cloudfcn_rgbn.safetensors")
