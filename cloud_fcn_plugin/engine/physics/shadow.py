"""Cloud shadow by geometry: each cloud object cast along the sun onto dark pixels.

After Fmask (Zhu & Woodcock 2012; Zhu, Wang & Woodcock 2015; Qiu, Zhu & He 2019):

1. cloud objects: 8-connected objects of the cloud mask, tiny ones dropped;
2. potential shadow: pixels darker in NIR (and SWIR1) than their surroundings
   (:mod:`.shadow_potential`: a coarse closing strip by strip, and Fmask's flood fill
   on a coarse grid once the scene is in, for the basins wider than the closing);
3. each object is shifted away from the sun over a range of cloud heights
   (``height / tan(elevation)`` metres along the azimuth + 180°); the height range is
   200-12,000 m, narrowed per object by its temperature against the clear land's with
   the dry (9.8 K/km) and moist (6.5 K/km) adiabatic lapse rates when a thermal band is
   given; without one, the heights are profiled for the scene's dominant shadow
   distance (all objects together) and each object searched within ``spread`` (2x) of
   it. Objects of more than ``piece_px``² pixels are matched in ``piece_px`` squares,
   each at its own height. The height whose shifted shape lands best on dark pixels
   wins (similarity = dark / seen, the first height within 2 % of the best, as Fmask
   stops at its first peak), and is kept only at a similarity of at least
   ``similarity`` (Fmask ~0.3);
4. shadow = the shifted shape, swept ``sweep`` pixels both ways along the shadow
   direction and grown by ``tolerance`` (height and shape uncertainty), ∩ potential
   shadow, grown by ``buffer``; never on cloud or fill.

Without sun angles (stacks, TOA files) the direction is estimated from the scene
(:mod:`.shadow_direction`) and used only when clearly better than chance.

Memory: the stage holds bool masks of the scene (cloud, potential, valid, blocked,
the result: 61 MB each at 7,800²), the cloud pixels' coordinates (8 bytes a cloud
pixel) and, while labelling, one int32 label image. Float bands are never held whole
by this module: :func:`~.shadow_potential.potential_shadow` is meant to run strip by
strip (with a halo) into a bool mask. The optional temperature is the exception: a
whole-scene array (a memmap or a scaled uint16 copy keeps it small), of which only
the objects' sampled pixels and a sample of the clear pixels are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .shadow_cast import block_any, block_expand, cast_shadows
from .shadow_direction import estimate_direction, pooled_profile, thin_objects
from .shadow_match import ShiftGrid, offsets_along, similarities
from .shadow_objects import CloudObjects, cloud_pieces
from .shadow_potential import (
    POTENTIAL_HALO,
    basin_shadow,
    block_mean,
    potential_shadow,
    scene_potential,
    water_mask,
)

__all__ = [
    "POTENTIAL_HALO",
    "ShadowParams",
    "basin_shadow",
    "block_mean",
    "coarse_params",
    "ShadowResult",
    "SunGeometry",
    "match_shadows",
    "match_shadows_coarse",
    "object_temperatures",
    "potential_shadow",
    "scene_potential",
    "water_mask",
]

DRY_LAPSE_K_PER_KM = 9.8
MOIST_LAPSE_K_PER_KM = 6.5


@dataclass(frozen=True)
class SunGeometry:
    """Sun position of a scene (MTL: SUN_AZIMUTH, SUN_ELEVATION), degrees."""

    azimuth_deg: float
    elevation_deg: float

    def __post_init__(self) -> None:
        if not 0.0 < self.elevation_deg <= 90.0:
            raise ValueError(f"sun elevation {self.elevation_deg}° is not in (0, 90]")

    @property
    def shadow_bearing_deg(self) -> float:
        """Compass bearing along which shadows fall from their clouds."""
        return (self.azimuth_deg + 180.0) % 360.0

    def pixels_per_metre(self, pixel_size: float) -> float:
        """Shadow displacement in pixels per metre of cloud height."""
        return 1.0 / (math.tan(math.radians(self.elevation_deg)) * pixel_size)


@dataclass(frozen=True)
class ShadowParams:
    """Settings of the matching (defaults chosen out of fold: docs/shadow_eval.md)."""

    min_pixels: int = 3
    max_samples: int = 100
    min_height_m: float = 200.0
    max_height_m: float = 12000.0
    similarity: float = 0.2
    first_peak: float = 0.98
    buffer: int = 0
    #: Without sun angles: shadows searched up to this distance from their cloud.
    max_distance_m: float = 3000.0
    #: Without sun angles: share of the gap from chance to a perfect match (see
    #: :mod:`.shadow_direction`) the best direction must close.
    min_contrast: float = 0.1
    #: Without sun angles: fewer cloud objects than this tell no direction (one cloud
    #: always finds some dark spot nearby; a direction is several clouds agreeing).
    min_objects: int = 3
    #: Without sun angles: shadows fall west (morning sun-synchronous sensors, see
    #: :func:`~.shadow_direction.estimate_direction`).
    westward: bool = True
    #: Without a thermal band, each object's distance is searched within this factor of
    #: the scene's dominant shadow distance (0: the whole height range).
    spread: float = 2.0
    #: Shadow = the cast shape ∩ potential shadow (True) or the whole cast shape (False,
    #: Fmask 3.3's choice); both are grown by ``buffer``.
    intersect: bool = True
    #: The cast shape is grown by this many pixels before it meets potential shadow (a
    #: cumulus's shadow is the outline of a 3-D cloud, wider than its mask's footprint).
    tolerance: int = 0
    #: The cast shape is also swept this many pixels both ways along the shadow
    #: direction before it meets potential shadow (the uncertainty of the height).
    sweep: int = 16
    #: Once the direction is known, objects of more than ``piece_px``² pixels are matched
    #: and cast in ``piece_px`` squares, each at its own height
    #: (:func:`~.shadow_objects.cloud_pieces`); 0: whole. A cloud mass larger than its
    #: shadow distance is otherwise never matched (docs/shadow_eval.md, 2026-12-06).
    piece_px: int = 64


@dataclass(frozen=True)
class ShadowResult:
    """What :func:`match_shadows` found.

    Attributes:
        mask: cloud shadow (bool), never on cloud or outside ``valid``.
        note: one sentence for the log saying what was done.
        bearing_deg: direction shadows fall (clockwise from north), None when unknown.
        estimated: the direction was estimated from the scene, not the sun angles.
        objects: cloud objects considered; matched: those given a shadow.
        distances_px: each matched object's (or piece's, see ``piece_px``) shadow
            distance (pixels).
        contrast: without sun angles, the direction test's contrast.
    """

    mask: np.ndarray
    note: str
    bearing_deg: float | None = None
    estimated: bool = False
    objects: int = 0
    matched: int = 0
    distances_px: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    contrast: float | None = None


def object_temperatures(objects: CloudObjects, temperature: np.ndarray) -> np.ndarray:
    """Mean temperature (K) of each object's sampled pixels."""
    values = np.asarray(temperature)[objects.sample_rows, objects.sample_cols].astype(np.float64)
    sums = np.add.reduceat(values, objects.sample_starts[:-1]) if len(values) else values
    return (sums / np.maximum(objects.sample_sizes, 1)).astype(np.float32)


def _height_ranges(
    objects: CloudObjects, temperature: np.ndarray, clear: np.ndarray, params: ShadowParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per-object (min, max) cloud height from its temperature (Fmask's lapse rates)."""
    step = max(1, int(np.sqrt(clear.size / 400_000)))
    clear_t = np.asarray(temperature)[::step, ::step][clear[::step, ::step]]
    low = np.full(objects.count, params.min_height_m)
    high = np.full(objects.count, params.max_height_m)
    if clear_t.size < 100:
        return low, high
    t_low, t_high = np.percentile(clear_t, [17.5, 82.5])
    t_obj = object_temperatures(objects, temperature)
    low = np.maximum(low, 1000.0 * (t_low - 4.0 - t_obj) / DRY_LAPSE_K_PER_KM)
    high = np.minimum(high, 1000.0 * (t_high + 4.0 - t_obj) / MOIST_LAPSE_K_PER_KM)
    broken = low > high
    low[broken], high[broken] = params.min_height_m, params.max_height_m
    return low, high


def _dominant(
    objects: CloudObjects, shifts: np.ndarray, distance: np.ndarray, potential: np.ndarray,
    blocked: np.ndarray, grid: ShiftGrid,
) -> float:
    """The scene's dominant shadow distance: where all objects together match best."""
    profile = pooled_profile(thin_objects(objects), shifts, potential, blocked, grid)
    return float(distance[int(np.argmax(profile))])


def _window(
    shifts: np.ndarray, distance: np.ndarray, dominant: float, params: ShadowParams
) -> tuple[np.ndarray, np.ndarray]:
    """The shifts every object may take: within ``spread`` of the scene's dominant one."""
    if params.spread <= 0:
        return shifts, distance
    keep = (distance >= dominant / params.spread) & (distance <= dominant * params.spread)
    return shifts[keep], distance[keep]


def _pick(
    sims: np.ndarray, allowed: np.ndarray, first_peak: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per object: the first offset within ``first_peak`` of its best, and that similarity."""
    sims = np.where(allowed, sims, -1.0)
    best = sims.max(axis=1)
    near = sims >= (first_peak * best)[:, None]
    choice = np.argmax(near, axis=1)
    return choice, sims[np.arange(len(sims)), choice]




def match_shadows(
    cloud: np.ndarray,
    potential: np.ndarray,
    valid: np.ndarray,
    geometry: SunGeometry | None = None,
    pixel_size: float = 30.0,
    temperature: np.ndarray | None = None,
    params: ShadowParams | None = None,
    parts: tuple[CloudObjects, CloudObjects, np.ndarray] | None = None,
) -> ShadowResult:
    """Cast each cloud object onto the dark pixels it best explains.

    Args:
        cloud: cloud mask (bool H × W), e.g. the network's at its threshold.
        potential: potential shadow (bool H × W), see :func:`potential_shadow`.
        valid: pixels with data.
        geometry: the scene's sun angles, or None to estimate the direction.
        pixel_size: metres per pixel of the grid (north-up).
        temperature: brightness temperature (K, H × W) to narrow each object's height
            range, or None (200-12,000 m searched).
        params: settings (defaults: :class:`ShadowParams`).
        parts: what :func:`~.shadow_objects.cloud_pieces` gives for ``cloud`` (within
            ``valid``) and ``params``, where the caller has found it already (a run's
            stage does, while the basins are filled).
    """
    params = params or ShadowParams()
    cloud = np.asarray(cloud, bool) & valid
    blocked = cloud | ~np.asarray(valid, bool)
    empty = np.zeros(cloud.shape, bool)
    # The direction comes from whole objects; distances, matching and casts from pieces.
    objects, pieces, owner = parts or cloud_pieces(
        cloud, params.piece_px, params.min_pixels, params.max_samples
    )
    if objects.count == 0:
        return ShadowResult(empty, "no cloud objects: no shadow marked")
    contrast = None
    if geometry is not None:
        per_m = geometry.pixels_per_metre(pixel_size)
        bearing = geometry.shadow_bearing_deg
        shifts, distance = offsets_along(
            bearing, params.min_height_m * per_m, params.max_height_m * per_m
        )
        if len(shifts) == 0:  # a sun (nearly) overhead: every shadow lies under its cloud
            return ShadowResult(
                empty, f"sun {geometry.elevation_deg:.0f}° high: shadows fall under their "
                "clouds, none marked", objects=objects.count,
            )  # fmt: skip
        note = f"shadow direction from the sun angles: {bearing:.0f}°"
        # What shifted samples land on, made once for every score of this match.
        grid = ShiftGrid(potential, blocked, shifts)
        if temperature is None:
            dominant = _dominant(pieces, shifts, distance, potential, blocked, grid)
            shifts, distance = _window(shifts, distance, dominant, params)
    else:
        if objects.count < params.min_objects:
            return ShadowResult(
                empty, f"too few cloud objects ({objects.count}) to estimate a shadow "
                "direction: no shadow marked", objects=objects.count,
            )
        max_px = params.max_distance_m / pixel_size
        grid = ShiftGrid.within(potential, blocked, max_px)
        found = estimate_direction(
            objects, potential, blocked, max_px, params.min_contrast, params.westward,
            grid=grid,
        )
        contrast = found.contrast
        if not found.clear:
            return ShadowResult(
                empty,
                f"no clear shadow direction (best {found.bearing_deg:.0f}°, contrast "
                f"{found.contrast:.2f} < {params.min_contrast:.2f}): no shadow marked",
                objects=objects.count, contrast=contrast,
            )
        bearing = found.bearing_deg
        dominant = found.distance_px
        shifts, distance = offsets_along(bearing, 1.0, max_px)
        if pieces is not objects:
            dominant = _dominant(pieces, shifts, distance, potential, blocked, grid)
        shifts, distance = _window(shifts, distance, dominant, params)
        note = (
            f"shadow direction estimated from the scene: {bearing:.0f}° "
            f"(contrast {contrast:.2f})"
        )
    allowed = np.ones((pieces.count, len(shifts)), bool)
    if geometry is not None and temperature is not None:
        low, high = _height_ranges(pieces, temperature, valid & ~cloud, params)
        height = distance / geometry.pixels_per_metre(pixel_size)
        allowed = (height[None, :] >= low[:, None] - 1e-6) & (height[None, :] <= high[:, None])
    sims = similarities(pieces, shifts, potential, blocked, grid=grid)
    choice, best = _pick(sims, allowed, params.first_peak)
    kept = best >= params.similarity
    mask = cast_shadows(
        pieces, shifts[choice], kept, potential if params.intersect else None, blocked,
        params.buffer, params.tolerance, bearing, params.sweep,
    )
    matched = len(np.unique(owner[kept]))
    return ShadowResult(
        mask, f"{note}; {matched} of {objects.count} cloud objects matched",
        bearing, geometry is None, objects.count, matched,
        distance[choice][kept].astype(np.float32), contrast,
    )


def coarse_params(params: ShadowParams, factor: int) -> ShadowParams:
    """``params`` for a grid ``factor`` times coarser: its pixel settings divided by ``factor``."""
    return replace(
        params, sweep=params.sweep // factor, tolerance=params.tolerance // factor,
        buffer=params.buffer // factor, min_pixels=max(1, params.min_pixels // factor),
    )  # fmt: skip


def match_shadows_coarse(
    cloud: np.ndarray,
    potential: np.ndarray,
    valid: np.ndarray,
    geometry: SunGeometry | None,
    pixel_size: float,
    factor: int = 2,
    params: ShadowParams | None = None,
) -> ShadowResult:
    """:func:`match_shadows` on a grid ``factor`` times coarser, the mask back on the fine grid.

    For whole scenes: labels, similarity and cast cost ``factor``² less. ``potential`` is
    on the coarse grid (:func:`potential_shadow` of :func:`block_mean` bands); ``cloud``
    and ``valid`` are fine. Coarse cloud is any cloud in a block, coarse valid all valid;
    the pixel settings (sweep, tolerance, buffer, min_pixels) are divided by ``factor``
    (:func:`coarse_params`).
    """
    result = match_shadows(
        block_any(cloud, factor), potential, ~block_any(~valid, factor), geometry,
        pixel_size * factor, params=coarse_params(params or ShadowParams(), factor),
    )  # fmt: skip
    mask = block_expand(result.mask, factor, cloud.shape)
    mask &= valid  # in place: each whole-scene temporary is 61 MB at 7,800²
    mask[cloud] = False
    return replace(result, mask=mask, note=f"{result.note} (on a {factor}x coarser grid)")
