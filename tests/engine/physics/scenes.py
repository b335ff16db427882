"""Synthetic pixels for the physics tests: typical TOA reflectances and temperatures."""

from __future__ import annotations

import numpy as np

from cloud_fcn_plugin.engine.physics import Bands

ORDER = ("blue", "green", "red", "nir", "swir1", "swir2", "cirrus", "temperature")
#: One row per surface: B2, B3, B4, B5, B6, B7, B9 reflectance and B10 kelvin.
SURFACES: dict[str, tuple[float, ...]] = {
    "vegetation": (0.04, 0.07, 0.05, 0.35, 0.15, 0.07, 0.001, 295.0),
    "cloud": (0.45, 0.45, 0.45, 0.48, 0.35, 0.25, 0.004, 262.0),
    "snow": (0.90, 0.90, 0.88, 0.80, 0.05, 0.03, 0.001, 265.0),
    "water": (0.08, 0.06, 0.04, 0.02, 0.01, 0.005, 0.001, 290.0),
    "desert": (0.25, 0.32, 0.40, 0.45, 0.55, 0.45, 0.001, 318.0),
    "ice_cloud": (0.60, 0.60, 0.60, 0.60, 0.15, 0.10, 0.060, 235.0),
}


def pixels(*names: str, bands: tuple[str, ...] = ORDER) -> Bands:
    """A (1, N) strip of the named surfaces, with only ``bands`` present."""
    values = np.array([SURFACES[n] for n in names], np.float32).T[:, None, :]
    return Bands.from_mapping({b: values[ORDER.index(b)] for b in bands})


def field(height: int = 64, width: int = 64, seed: int = 0) -> Bands:
    """Clear vegetation, 290-300 K, with a 16x16 cold cloud in the middle."""
    rng = np.random.default_rng(seed)
    stack = np.empty((len(ORDER), height, width), np.float32)
    stack[:] = np.array(SURFACES["vegetation"], np.float32)[:, None, None]
    stack[7] = rng.uniform(290.0, 300.0, (height, width))
    cloud = np.s_[:, 24:40, 24:40]
    stack[cloud] = np.array(SURFACES["cloud"], np.float32)[:, None, None]
    return Bands.from_stack(stack, ORDER)
