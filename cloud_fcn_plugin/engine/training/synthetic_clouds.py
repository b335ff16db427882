"""Synthetic clouds and their shadows, blended onto real patches with real cloud spectra.

After Czerkawski et al., *SatelliteCloudGenerator* (Remote Sensing 2023): a cloud is
the ground seen through a transparency map, ``(1 - a) * ground + a * cloud``, where
``a`` is multi-scale (fractal) noise, cut and shaped into thick cores and thin edges,
and ``cloud`` is a cloud spectrum. Here the spectrum is a real one, the median of a
donor patch's labelled thick cloud, textured by the same noise, so the synthetic cloud
has the band ratios of cloud that Landsat saw. Its shadow is the same map shifted
along one random direction (as the sun would cast it) and darkens the ground it falls
on. Thermal bands cool under the cloud. Labels follow the map: the cloud target is
the map's opacity ramped from thin to thick, and where shadow is labelled the cast
shadow is shadow.

A share of the synthetic clouds can be a *field of small cumulus* instead
(:func:`cumulus_field`): hundreds of separate cells a few pixels wide, from dim veils
to opaque, spread over part of the patch, each with its shadow cast the same way. The
L8 Biome and 38-Cloud patches hold few such fields, and the networks trained on them
miss the dim ones (the Gulf-coast product's eastern half, the small-cumulus patch).
Cross-validated with three seeds, the fields moved nothing beyond the seeds' spread
(README, "The 4-band recipe with three seeds").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

if TYPE_CHECKING:  # augment calls this module: the type only, not the import
    from .augment import Patch

#: Opacity at which a synthetic cloud starts to count as cloud, and where it is all cloud
#: (the L8 Biome and 38-Cloud labels count thin cloud as cloud).
LABEL_RAMP = (0.1, 0.35)
#: Fewest thick-cloud pixels a donor needs for its median spectrum to be trusted.
MIN_DONOR_PIXELS = 64


def fractal_field(
    shape: tuple[int, int], rng: np.random.Generator, base_cells: int = 3, octaves: int = 5
) -> np.ndarray:
    """Smooth multi-scale noise scaled to 0..1 (sum of bicubic-upsampled random grids).

    Each octave doubles the grid and halves the amplitude, as Perlin's fractal noise does,
    so clouds have large bodies and ragged edges; ``base_cells`` sets the size of the
    bodies (12 across a patch: a field of small cumulus).
    """
    field = np.zeros(shape, np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        cells = base_cells * 2**octave
        grid = rng.standard_normal((1, 1, cells, cells)).astype(np.float32)
        up = F.interpolate(torch.from_numpy(grid), size=shape, mode="bicubic", align_corners=False)
        field += amplitude * up[0, 0].numpy()
        amplitude *= 0.5
    low, high = float(field.min()), float(field.max())
    return (field - low) / max(high - low, 1e-6)


def opacity_map(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A cloud's transparency map ``a`` in 0..1: some cover, thick cores, thin edges."""
    field = fractal_field(shape, rng, base_cells=int(rng.choice((2, 3, 4, 6, 8, 12))))
    cover = rng.uniform(0.1, 0.6)
    edge = float(np.quantile(field, 1.0 - cover))
    softness = rng.uniform(0.05, 0.25)
    ramp = np.clip((field - edge) / softness, 0.0, 1.0)
    peak = rng.uniform(0.4, 1.0)  # 0.4: a veil of thin cloud; 1: opaque cores
    return (peak * ramp ** rng.uniform(0.7, 1.5)).astype(np.float32)


def cumulus_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The transparency map of a field of small cumulus, in 0..1.

    Cells are domes of radius 0.35-0.75 times their spacing (6-16 px, 180-480 m at 30 m)
    centred inside a smooth envelope that covers 40-100 % of the patch; their edges are
    roughened by noise at the cells' scale, and the whole field is scaled to a peak
    opacity of 0.15 (cells seen as a faint brightening of the ground) to 0.8.
    """
    height, width = shape
    envelope = fractal_field(shape, rng, base_cells=2, octaves=3)
    cover = rng.uniform(0.4, 1.0)
    inside = envelope >= np.quantile(envelope, 1.0 - cover)
    spacing = rng.uniform(6.0, 16.0)
    count = int(height * width / spacing**2)
    rows = rng.uniform(0, height, count).astype(int)
    cols = rng.uniform(0, width, count).astype(int)
    keep = inside[rows, cols]
    rows, cols = rows[keep], cols[keep]
    if rows.size == 0:
        return np.zeros(shape, np.float32)
    # Each pixel belongs to its nearest cell centre (a Voronoi tiling, by the distance
    # transform): one pass, where drawing each dome costs a Python step per cell.
    seeds = np.ones(shape, bool)
    seeds[rows, cols] = False
    distance, (near_rows, near_cols) = ndimage.distance_transform_edt(seeds, return_indices=True)
    index = np.full(shape, -1, np.int64)
    index[rows, cols] = np.arange(rows.size)
    cell = index[near_rows, near_cols]
    radii = spacing * rng.uniform(0.35, 0.75, rows.size)
    tops = rng.uniform(0.6, 1.0, rows.size)
    field = tops[cell] * np.sqrt(np.clip(1.0 - (distance / radii[cell]) ** 2, 0.0, 1.0))
    cells = max(4, int(min(height, width) / spacing))
    ragged = np.clip(1.4 * field * (0.4 + fractal_field(shape, rng, cells, octaves=3)), 0.0, 1.0)
    return (rng.uniform(0.15, 0.8) * ragged).astype(np.float32)


def cloud_spectrum(donor: Patch) -> np.ndarray | None:
    """Median spectrum (C,) of the donor's labelled thick cloud, or None if it has little."""
    thick = (donor.target >= 0.99) & donor.valid
    if int(thick.sum()) < MIN_DONOR_PIXELS:
        return None
    return np.median(donor.reflectance[:, thick], axis=1).astype(np.float32)


def _shifted(field: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """``field`` moved by a random offset along one direction, zeros where it came in."""
    angle = rng.uniform(0.0, 2.0 * np.pi)
    distance = rng.uniform(0.2, 1.0) * max_shift
    dy, dx = round(distance * np.sin(angle)), round(distance * np.cos(angle))
    out = np.zeros_like(field)
    height, width = field.shape
    src_rows = slice(max(0, -dy), min(height, height - dy))
    src_cols = slice(max(0, -dx), min(width, width - dx))
    dst_rows = slice(max(0, dy), min(height, height + dy))
    dst_cols = slice(max(0, dx), min(width, width + dx))
    out[dst_rows, dst_cols] = field[src_rows, src_cols]
    return out


def add_synthetic_cloud(
    patch: Patch,
    donor: Patch,
    rng: np.random.Generator,
    max_shadow_shift: int = 40,
    cumulus: float = 0.0,
) -> Patch:
    """Blend one synthetic cloud field, and its cast shadow, onto ``patch``.

    Args:
        patch: the patch to cloud over (reflectance before any gain).
        donor: a patch whose labelled thick cloud gives the cloud's spectrum; the patch
            is returned unchanged if it has too little.
        rng: random generator.
        max_shadow_shift: largest offset of the shadow from its cloud, in pixels.
        cumulus: probability that the cloud is a field of small cumulus
            (:func:`cumulus_field`) rather than fractal bodies (:func:`opacity_map`).
    """
    spectrum = cloud_spectrum(donor)
    if spectrum is None or spectrum.shape[0] != patch.reflectance.shape[0]:
        return patch
    shape = patch.target.shape
    # Drawn only when asked for, so recipes without cumulus keep their random sequence.
    field = cumulus > 0 and rng.random() < cumulus
    alpha = cumulus_field(shape, rng) if field else opacity_map(shape, rng)
    texture = 0.85 + 0.3 * fractal_field(shape, rng)
    cloud = spectrum[:, None, None] * texture[None]
    shadow = _shifted(alpha, rng, max_shadow_shift) * (1.0 - alpha)
    darkening = 1.0 - rng.uniform(0.3, 0.7) * shadow
    reflectance = patch.reflectance * darkening[None]
    reflectance = (1.0 - alpha[None]) * reflectance + alpha[None] * cloud
    for band in patch.thermal:  # not blended: cloud tops are colder than the ground
        reflectance[band] = patch.reflectance[band] - alpha * rng.uniform(5.0, 40.0)
    reflectance = np.where(patch.valid[None], reflectance, 0.0).astype(np.float32)

    labels = patch.labels()
    low, high = LABEL_RAMP
    synthetic = np.clip((alpha - low) / (high - low), 0.0, 1.0) * patch.valid
    labels[0] = np.maximum(labels[0], synthetic)
    if patch.classes is not None:
        shadow_known, thin_known = labels[2] > 0, labels[4] > 0
        cast = (shadow > 0.3) & (labels[0] < 0.5)
        marked = np.where(labels[0] >= 0.5, 0.0, np.maximum(labels[1], cast))
        labels[1] = np.where(shadow_known, marked, labels[1])
        # Thick or thin is not known under a synthetic cloud.
        labels[4] = np.where(synthetic > 0, 0.0, thin_known.astype(np.float32))
    return patch.with_labels(labels.astype(np.float32), reflectance=reflectance)
