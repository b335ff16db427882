"""The physics stage: Fmask's spectral and thermal tests, scene-relative, and shadow geometry.

Written from Zhu & Woodcock (2012), Zhu, Wang & Woodcock (2015) and Qiu et al. (2019),
in numpy and scipy only. Per scene, once: :class:`StatisticsSampler` (or
:func:`scene_statistics` on a decimated read) gives a :class:`SceneStatistics`. Per
strip: :func:`fuse` combines the network's cloud probability with the physics, or
:func:`physics_mask` classifies without a network. Cloud shadow by geometry (each
cloud object cast along the sun onto dark pixels) is :mod:`.shadow`.
"""

from __future__ import annotations

from .fusion import (
    PHYSICS_CLEAR,
    PHYSICS_CLOUD,
    PHYSICS_NODATA,
    PHYSICS_SNOW,
    PHYSICS_WATER,
    FusionResult,
    FusionSettings,
    fuse,
    physics_cloud,
    physics_mask,
)
from .probability import local_temperature_background
from .sampling import StatisticsSampler, scene_statistics
from .spectral import Bands
from .statistics import SceneStatistics

__all__ = [
    "PHYSICS_CLEAR",
    "PHYSICS_CLOUD",
    "PHYSICS_NODATA",
    "PHYSICS_SNOW",
    "PHYSICS_WATER",
    "Bands",
    "FusionResult",
    "FusionSettings",
    "SceneStatistics",
    "StatisticsSampler",
    "fuse",
    "local_temperature_background",
    "physics_cloud",
    "physics_mask",
    "scene_statistics",
]
