"""The shadow direction of a scene without sun angles, and whether it is real.

All shadows of a scene fall the same way (the sun is one); only their distance
varies with the clouds' heights. For each candidate bearing all cloud objects are
shifted together along it, distance by distance; the pooled similarity (objects
weighted by their sampled pixels) at the best distance is the bearing's score. A
common distance rather than each object's own best: in a dense cumulus field every
object finds some dark pixels at some distance in any direction (the per-object best
over 100 distances is 0.7-0.8 whatever the bearing), while the clouds of one field,
at similar heights, cast their shadows together only along the sun.

The test against chance: taking a best over many distances makes every bearing score
something, more where the scene has much dark ground or few, small objects. The
median over all bearings measures the chance level on this very scene (most bearings
point away from any shadow), so the direction is used only when the best bearing
closes at least ``min_contrast`` of the gap between that median and a perfect match
(chosen out of fold: docs/shadow_eval.md). Bearings are tried every 10°, then refined every 2°
around the best; the estimate uses the largest objects only (cost bounded on whole
scenes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shadow_match import ShiftGrid, offsets_along, similarities
from .shadow_objects import CloudObjects, spread_samples

__all__ = [
    "DirectionEstimate", "direction_scores", "estimate_direction", "pooled_profile", "thin_objects",
]

#: Objects (the largest) and samples per object used to estimate the direction.
MAX_OBJECTS = 300
MAX_SAMPLES = 32


@dataclass(frozen=True)
class DirectionEstimate:
    """Best bearing (deg, clockwise from north), its distance (px), score, contrast, verdict."""

    bearing_deg: float
    distance_px: float
    score: float
    contrast: float
    clear: bool


def thin_objects(objects: CloudObjects) -> CloudObjects:
    """The largest ``MAX_OBJECTS`` objects, each with at most ``MAX_SAMPLES`` samples."""
    index = np.argsort(-objects.sizes, kind="stable")[:MAX_OBJECTS]
    subset = objects.subset(np.sort(index))
    picks, taken = spread_samples(subset.sample_sizes, MAX_SAMPLES)
    starts = np.concatenate([[0], np.cumsum(taken)]).astype(np.int64)
    return subset.samples_only(subset.sizes, picks, starts)


def pooled_profile(
    objects: CloudObjects, shifts: np.ndarray, potential: np.ndarray, blocked: np.ndarray,
    grid: ShiftGrid | None = None,
) -> np.ndarray:
    """Similarity of all objects together at each shift (weighted by their samples)."""
    weights = objects.sample_sizes.astype(np.float64)
    sims = similarities(objects, shifts, potential, blocked, grid=grid)
    return (weights @ sims) / max(weights.sum(), 1.0)


def direction_scores(
    objects: CloudObjects,
    potential: np.ndarray,
    blocked: np.ndarray,
    bearings: np.ndarray,
    max_px: float,
    grid: ShiftGrid | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per bearing: the best pooled similarity over distances, and that distance (px).

    ``grid``: ``potential`` and ``blocked`` as a :class:`~.shadow_match.ShiftGrid` that
    reaches ``max_px``, made once for many calls.
    """
    scores = np.zeros(len(bearings))
    where = np.zeros(len(bearings))
    grid = grid or ShiftGrid.within(potential, blocked, max_px)
    for k, bearing in enumerate(bearings):
        shifts, distance = offsets_along(float(bearing), 1.0, max_px)
        profile = pooled_profile(objects, shifts, potential, blocked, grid)
        best = int(np.argmax(profile))
        scores[k], where[k] = profile[best], distance[best]
    return scores, where


def estimate_direction(
    objects: CloudObjects,
    potential: np.ndarray,
    blocked: np.ndarray,
    max_px: float,
    min_contrast: float,
    westward: bool = True,
    grid: ShiftGrid | None = None,
) -> DirectionEstimate:
    """The bearing that best casts all objects onto dark pixels, if clearly above chance.

    With ``westward`` the best is sought among bearings 170-370° only (shadows falling
    west): Landsat and Sentinel-2 cross the equator at 9:45-10:30 local solar time on
    sun-synchronous orbits, so the sun is always east of the meridian and shadows
    fall west of their clouds. The chance level is still the median of all bearings.

    The contrast is ``(best - median) / (1 - median)``: the share of the gap between the
    chance level and a perfect match that the best bearing closes, so that a scene with
    much dark ground (a high median) needs a larger absolute margin.
    """
    thin = thin_objects(objects)
    grid = grid or ShiftGrid.within(potential, blocked, max_px)  # one for both searches
    coarse = np.arange(0.0, 360.0, 10.0)
    scores, _ = direction_scores(thin, potential, blocked, coarse, max_px, grid)
    chance = float(np.median(scores))
    allowed = ((coarse - 170.0) % 360.0 <= 200.0) if westward else np.ones(len(coarse), bool)
    top = float(coarse[allowed][int(np.argmax(scores[allowed]))])
    fine = (top + np.arange(-8.0, 9.0, 2.0)) % 360.0
    if westward:
        fine = fine[(fine - 170.0) % 360.0 <= 200.0]
    fine_scores, fine_where = direction_scores(thin, potential, blocked, fine, max_px, grid)
    k = int(np.argmax(fine_scores))
    best = float(fine_scores[k])
    contrast = (best - chance) / max(1.0 - chance, 1e-6)
    return DirectionEstimate(
        float(fine[k]), float(fine_where[k]), best, contrast, contrast >= min_contrast
    )
