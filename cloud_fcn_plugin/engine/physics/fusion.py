"""Ways to combine a network's cloud probability with the physics, and a physics-only mask.

Every function takes one window (strip) of bands and the network's probability on it,
plus the :class:`~.statistics.SceneStatistics` computed once per scene, and returns a
new probability of the same shape; the caller thresholds it at the model's threshold.
A step whose bands or statistics are missing leaves the probability as it is and says
why in the notes, so a 4-band stack runs the same call and gets what its bands allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pixel_tests import cirrus_probability, potential_cloud, snow_test, water_test
from .probability import land_cloud_probability, water_cloud_probability
from .spectral import Bands, hot, ndsi, visible_mean
from .statistics import SceneStatistics

#: Codes of :func:`physics_mask`; 0, 1 and 255 match the engine's clear, cloud, nodata.
PHYSICS_CLEAR, PHYSICS_CLOUD, PHYSICS_SNOW, PHYSICS_WATER, PHYSICS_NODATA = 0, 1, 4, 5, 255
#: Fmask calls cloud anything colder than clear land's 17.5th percentile by this much.
VERY_COLD_KELVIN = 35.0


@dataclass(frozen=True)
class FusionSettings:
    """Which physics steps run, and their parameters; None switches a step off.

    Attributes:
        thermal_offset: thermal veto: cloud probability is scaled down where a pixel is
            warmer than clear land's 17.5th percentile + ``thermal_offset`` (K).
        thermal_width: softness of that veto (K); small is a hard veto.
        thermal_bright_guard: the veto spares bright, not snow-like pixels (see
            :func:`thermal_veto`); None: no guard.
        snow_ndsi: snow veto: the snow test with this NDSI limit clears the pixel.
        snow_cirrus: where B9 is present, the snow veto spares pixels above this.
        snow_swir1: the snow veto spares pixels whose SWIR1 is above this (ice cloud);
            None: no such limit.
        water_brightness: water veto: over water, a pixel whose water cloud probability
            is below this is cleared (dark in SWIR1: clear water, not cloud).
        cirrus_scale: cirrus boost: probability at least B9 / ``cirrus_scale``.
        local_contrast: local thermal test: a pixel colder than its neighbourhood's warm
            background by this many K (and hazy, not water or snow) is cloud.
        local_hot_margin: the local test's pixels must also be hazier than clear land's
            82.5th percentile HOT + this; None: HOT > -0.02 only.
    """

    thermal_offset: float | None = None
    thermal_width: float = 1.0
    thermal_bright_guard: float | None = None
    snow_ndsi: float | None = None
    snow_cirrus: float | None = 0.01
    snow_swir1: float | None = None
    water_brightness: float | None = None
    cirrus_scale: float | None = None
    local_contrast: float | None = None
    local_hot_margin: float | None = None

    @property
    def lowers_only(self) -> bool:
        """Whether every step can only lower the probability (no cirrus or local boost)."""
        return self.cirrus_scale is None and self.local_contrast is None


@dataclass(frozen=True)
class FusionResult:
    """A fused probability and a note per step (what ran, what was skipped and why)."""

    probability: np.ndarray
    notes: tuple[str, ...]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


def thermal_veto(
    prob: np.ndarray,
    bands: Bands,
    stats: SceneStatistics,
    offset: float = 0.0,
    width: float = 1.0,
    bright_guard: float | None = None,
) -> tuple[np.ndarray, str]:
    """Scale cloud probability by sigmoid((T_low + offset - T) / width).

    Clouds are colder than the scene's clear land; a warm "cloud" is bright ground, snow
    or sea ice. The reference is relative to the scene (T_low, the 17.5th percentile of
    clear land) so it holds in the tropics and on ice alike. It only takes cloud away.

    Args:
        prob: network cloud probability.
        bands: the window's bands.
        stats: the scene's statistics.
        offset: K added to T_low (negative: a stronger veto).
        width: softness in K.
        bright_guard: spare pixels brighter (visible mean) than clear land's 25th
            percentile x (1 + guard) and not snow-like (NDSI < 0.3): thin cloud over warm
            land is as warm as the land but brighter. None: no guard.
    """
    if bands.temperature is None:
        return prob, "thermal veto skipped: no thermal band"
    if stats.t_low is None:
        return prob, "thermal veto skipped: too little clear land to know its temperature"
    keep = _sigmoid((stats.t_low + offset - bands.temperature) / max(width, 1e-3))
    keep = np.where(np.isnan(bands.temperature), np.float32(1.0), keep)  # no temperature
    note = f"thermal veto above {stats.t_low + offset:.1f} K (width {width:g} K)"
    if bright_guard is not None and stats.land_brightness_low is not None:
        spared = visible_mean(bands) > stats.land_brightness_low * (1.0 + bright_guard)
        snow = ndsi(bands)
        if snow is not None:
            spared &= snow < 0.3
        keep = np.where(spared, np.float32(1.0), keep)
        note += f", sparing pixels {bright_guard:.0%} brighter than dark clear land"
    return (prob * keep).astype(np.float32), note


def snow_veto(
    prob: np.ndarray,
    bands: Bands,
    ndsi_min: float = 0.4,
    cirrus_max: float | None = 0.01,
    swir1_max: float | None = None,
) -> tuple[np.ndarray, str]:
    """Clear the pixels Fmask's snow test calls snow (needs SWIR1; thermal if present).

    High ice cloud has an NDSI like snow's (0.4-0.7 on the Biome patches), so NDSI alone
    would clear it; it also reflects in the cirrus band, where snow on the ground is
    black (below 0.005). Where B9 is present a pixel above ``cirrus_max`` is kept.
    Without B9, ``swir1_max`` keeps ice cloud instead: its small crystals reflect SWIR1
    (0.13-0.25 on the Biome patches and the shared Level-2 scenes) more than snow's
    large grains do (0.01-0.10).
    """
    snow = snow_test(bands, ndsi_min)
    if not snow.ran:
        return prob, "snow veto skipped: no SWIR1 to compute NDSI"
    mask, ran = snow.mask, list(snow.ran)
    if bands.cirrus is not None and cirrus_max is not None:
        mask = mask & (bands.cirrus < cirrus_max)
        ran.append(f"cirrus<{cirrus_max:g}")
    if swir1_max is not None:
        mask = mask & (bands.swir1 < swir1_max)
        ran.append(f"swir1<{swir1_max:g}")
    return np.where(mask, 0.0, prob).astype(np.float32), f"snow veto ({', '.join(ran)})"


def water_veto(
    prob: np.ndarray, bands: Bands, stats: SceneStatistics, limit: float = 0.1
) -> tuple[np.ndarray, str]:
    """Over water, clear pixels whose water cloud probability is below ``limit``.

    Glint and turbid water fool networks trained mostly on land; clear water stays dark
    in SWIR1 (and warm), cloud over it does not.
    """
    water = water_test(bands).mask
    low = water_cloud_probability(bands, stats) < limit
    used = "SWIR1" if bands.swir1 is not None else "NIR"
    return (np.where(water & low, 0.0, prob).astype(np.float32),
            f"water veto (brightness from {used})")


def cirrus_boost(prob: np.ndarray, bands: Bands, scale: float = 0.04) -> tuple[np.ndarray, str]:
    """Raise probability to at least B9/``scale``: thin cirrus is cloud the network misses."""
    cirrus = cirrus_probability(bands)
    if cirrus is None:
        return prob, "cirrus boost skipped: no cirrus band"
    boost = np.clip(cirrus * np.float32(0.04 / scale), 0.0, 1.0)
    return np.maximum(prob, boost).astype(np.float32), f"cirrus boost (B9/{scale:g})"


def local_contrast_cloud(
    bands: Bands,
    background: np.ndarray,
    contrast: float = 1.0,
    hot_min: float = -0.02,
    stats: SceneStatistics | None = None,
    hot_margin: float | None = None,
) -> np.ndarray:
    """Pixels colder than their warm background by ``contrast`` K, hazy, not water or snow.

    "Hazy" is HOT above ``hot_min``, or, given ``stats`` and ``hot_margin``, above the
    82.5th percentile of clear land's HOT + ``hot_margin`` (stricter, relative to the
    scene: cold forest edges and shaded slopes are as hazy as the clear land).
    """
    if bands.temperature is None:
        return np.zeros(np.shape(bands.blue), bool)
    if stats is not None and hot_margin is not None and stats.land_hot is not None:
        hot_min = max(hot_min, stats.land_hot + hot_margin)
    cold = bands.temperature < background - contrast
    return cold & (hot(bands) > hot_min) & ~water_test(bands).mask & ~snow_test(bands).mask


def fuse(
    prob: np.ndarray,
    bands: Bands,
    stats: SceneStatistics,
    settings: FusionSettings,
    background: np.ndarray | None = None,
) -> FusionResult:
    """Apply the steps of ``settings`` to a strip's network probability, in a fixed order.

    Vetoes first (thermal, snow, water), then what adds cloud (cirrus, local contrast):
    an added cirrus or cumulus pixel is not taken away again.

    Args:
        prob: (H, W) network cloud probability.
        bands: the strip's bands.
        stats: the scene's statistics.
        settings: the steps.
        background: :func:`~.probability.local_temperature_background` of the strip
            (needed by ``local_contrast`` only).
    """
    notes: list[str] = []
    out = np.asarray(prob, np.float32)
    if settings.thermal_offset is not None:
        out, note = thermal_veto(out, bands, stats, settings.thermal_offset,
                                 settings.thermal_width, settings.thermal_bright_guard)
        notes.append(note)
    if settings.snow_ndsi is not None:
        out, note = snow_veto(
            out, bands, settings.snow_ndsi, settings.snow_cirrus, settings.snow_swir1
        )
        notes.append(note)
    if settings.water_brightness is not None:
        out, note = water_veto(out, bands, stats, settings.water_brightness)
        notes.append(note)
    if settings.cirrus_scale is not None:
        out, note = cirrus_boost(out, bands, settings.cirrus_scale)
        notes.append(note)
    if settings.local_contrast is not None:
        if bands.temperature is None or background is None:
            notes.append("local thermal contrast skipped: no thermal band or background")
        else:
            added = local_contrast_cloud(bands, background, settings.local_contrast,
                                         stats=stats, hot_margin=settings.local_hot_margin)
            out = np.where(added, np.maximum(out, 1.0), out).astype(np.float32)
            notes.append(f"local thermal contrast {settings.local_contrast:g} K")
    return FusionResult(out, tuple(notes))


def physics_cloud(bands: Bands, stats: SceneStatistics) -> tuple[np.ndarray, tuple[str, ...]]:
    """Fmask's cloud pixels (before dilation), and notes on what ran.

    Potential cloud pixels whose land (or water) cloud probability exceeds the scene's
    dynamic threshold, plus land pixels above 0.99 and anything very cold.
    """
    pcp = potential_cloud(bands)
    water = water_test(bands).mask
    land_prob = land_cloud_probability(bands, stats)
    water_prob = water_cloud_probability(bands, stats)
    # Without enough clear land Fmask has no threshold: every potential cloud pixel is cloud.
    land_limit = stats.land_threshold if stats.land_threshold is not None else -np.inf
    water_limit = stats.water_threshold if stats.water_threshold is not None else 0.5
    cloud = pcp.mask & ~water & (land_prob > land_limit)
    cloud |= pcp.mask & water & (water_prob > water_limit)
    cloud |= ~water & (land_prob > 0.99)
    if bands.temperature is not None and stats.t_low is not None:
        cloud |= bands.temperature < stats.t_low - VERY_COLD_KELVIN
    notes = [f"potential cloud: {', '.join(pcp.ran)}"]
    if pcp.skipped:
        notes.append(f"left out for want of bands: {', '.join(pcp.skipped)}")
    if stats.land_threshold is None:
        notes.append("too little clear land for a threshold: all potential cloud is cloud")
    return cloud, tuple(notes)


def physics_mask(
    bands: Bands,
    stats: SceneStatistics,
    valid: np.ndarray | None = None,
    background: np.ndarray | None = None,
    local_contrast: float | None = None,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A physics-only class mask for inputs without a QA band.

    Returns uint8 codes :data:`PHYSICS_CLEAR`, :data:`PHYSICS_CLOUD`,
    :data:`PHYSICS_SNOW`, :data:`PHYSICS_WATER` and :data:`PHYSICS_NODATA`; cloud wins
    over snow and water (Fmask's order), and the notes say which tests ran.
    """
    cloud, notes = physics_cloud(bands, stats)
    if local_contrast is not None and background is not None:
        cloud = cloud | local_contrast_cloud(bands, background, local_contrast)
        notes = (*notes, f"local thermal contrast {local_contrast:g} K")
    snow = snow_test(bands)
    mask = np.full(np.shape(bands.blue), PHYSICS_CLEAR, np.uint8)
    mask[water_test(bands).mask] = PHYSICS_WATER
    mask[snow.mask] = PHYSICS_SNOW
    mask[cloud] = PHYSICS_CLOUD
    if valid is not None:
        mask[~np.asarray(valid, bool)] = PHYSICS_NODATA
    if snow.skipped and not snow.ran:
        notes = (*notes, "snow not told from cloud: no SWIR1")
    return mask, notes
