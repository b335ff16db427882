"""Potential cloud-shadow pixels: darker in NIR (and SWIR1) than their flood-filled surroundings.

Fmask (Zhu & Woodcock 2012; Zhu et al. 2015) fills the holes of the NIR and SWIR1
images (grayscale morphological reconstruction by erosion: every basin is raised to
the lowest point of its rim) and calls a pixel potential shadow where the fill raised
it by more than 0.02 in both bands. The scene's edge and its fill pixels are seeded
with the clear-land background (a low percentile of the valid pixels), so a shadow
that touches the edge of a patch is still a hole.

Here the fill is computed on a grid ``factor`` times coarser (block means of the
valid pixels) and compared with the full-resolution band: the fill of a 7,800² scene
then costs 0.2 s and 15 MB instead of seconds and half a gigabyte, and a shadow of
a few pixels still darkens its block enough to be a basin. The function works on
whatever rows it is given: on a whole scene in one piece, or strip by strip with a
halo of :data:`POTENTIAL_HALO` rows above and below (a basin cut by the strip's edge
is seeded with the background, so the halo only has to hold the basins' rims).
Water (Fmask's NDVI/NIR water test, where red is given) is not potential shadow:
it is the darkness that geometry would otherwise match by chance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["POTENTIAL_HALO", "potential_shadow", "water_mask"]

#: Rows of context a strip needs above and below for :func:`potential_shadow`.
POTENTIAL_HALO = 256
#: Percentile of the valid pixels taken as the background seeded at edges and fill.
BACKGROUND_PERCENTILE = 17.5


def water_mask(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    """Fmask's water test on TOA reflectance.

    (NDVI < 0.01 and NIR < 0.11) or (NDVI < 0.1 and NIR < 0.05).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    ndvi = np.nan_to_num(ndvi, nan=0.0)
    return ((ndvi < 0.01) & (nir < 0.11)) | ((ndvi < 0.1) & (nir < 0.05))


def _block_mean(
    band: np.ndarray, clear: np.ndarray, wall: np.ndarray, factor: int, fill: float, top: float
) -> np.ndarray:
    """Mean of the clear pixels in each ``factor``² block.

    A block without clear pixels is ``top`` where it holds cloud (``wall``: clouds are
    the bright rims of their shadows' basins, as in the full-resolution bands) and
    ``fill`` (the background) where it holds only fill.
    """
    rows, cols = band.shape
    pad = ((0, -rows % factor), (0, -cols % factor))
    values = np.pad(np.where(clear, band, 0.0).astype(np.float32), pad)
    weights = np.pad(clear.astype(np.float32), pad)
    walls = np.pad(wall, pad)
    shape = (values.shape[0] // factor, factor, values.shape[1] // factor, factor)
    total = values.reshape(shape).sum(axis=(1, 3))
    count = weights.reshape(shape).sum(axis=(1, 3))
    walled = walls.reshape(shape).any(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    empty = np.where(walled, top, fill)
    return np.where(count > 0, mean, empty).astype(np.float64)


def _fill_holes(image: np.ndarray, background: float) -> np.ndarray:
    """Grayscale fill of holes, the edge seeded with ``max(edge value, background)``."""
    from skimage.morphology import reconstruction

    if min(image.shape) < 3:
        return np.maximum(image, background)
    seed = np.full(image.shape, image.max())
    edge = np.zeros(image.shape, bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    seed[edge] = np.maximum(image[edge], background)
    seed = np.maximum(seed, image)
    return reconstruction(seed, image, method="erosion")


def _darkness(
    band: np.ndarray, valid: np.ndarray, clear: np.ndarray, factor: int
) -> np.ndarray:
    """How much the coarse flood fill raises each pixel (float32, 0 outside ``valid``)."""
    if not valid.any():
        return np.zeros(band.shape, np.float32)
    reference = band[clear] if clear.any() else band[valid]
    step = max(1, reference.size // 200_000)
    background = float(np.percentile(reference[::step], BACKGROUND_PERCENTILE))
    top = float(np.max(reference[::step])) if reference.size else background
    coarse = _block_mean(band, clear, valid & ~clear, factor, background, max(top, background))
    filled = _fill_holes(coarse, background).astype(np.float32)
    up = np.repeat(np.repeat(filled, factor, axis=0), factor, axis=1)
    up = up[: band.shape[0], : band.shape[1]]
    return np.where(valid, up - band, 0.0).astype(np.float32)


def potential_shadow(
    nir: np.ndarray,
    swir1: np.ndarray | None,
    valid: np.ndarray,
    *,
    red: np.ndarray | None = None,
    cloud: np.ndarray | None = None,
    darkness: float = 0.02,
    ratio: float = 1.0,
    factor: int = 4,
) -> np.ndarray:
    """Pixels dark enough to be cloud shadow (bool, same shape as ``nir``).

    Args:
        nir: NIR TOA reflectance (Landsat 8 B5), 2-D.
        swir1: SWIR1 TOA reflectance (B6), or None (4-band input): NIR alone decides.
        valid: pixels with data.
        red: red reflectance (B4) for the water test, or None (no water test).
        cloud: cloud mask, never potential shadow (optional).
        darkness: how far (reflectance) the fill must raise a pixel in every band given
            (Fmask: 0.02).
        ratio: and the pixel must be below this share of its filled level in NIR (1:
            no relative test; the coarse fill's level is a block mean, so textured land
            has pixels 0.02-0.05 below it that a relative test rejects).
        factor: the fill's grid is this many times coarser than the bands.
    """
    valid = np.asarray(valid, bool)
    clear = valid & ~cloud if cloud is not None else valid
    nir = np.asarray(nir, np.float32)
    raised = _darkness(nir, valid, clear, factor)
    dark = raised > darkness
    if ratio < 1.0:
        dark &= nir < ratio * (nir + raised)
    if swir1 is not None:
        dark &= _darkness(np.asarray(swir1, np.float32), valid, clear, factor) > darkness
    dark &= valid
    if red is not None:
        dark &= ~water_mask(np.asarray(red, np.float32), nir)
    if cloud is not None:
        dark &= ~cloud
    return dark
