"""Physically sound augmentation of reflectance patches and their cloud masks.

Everything works on reflectance (before normalisation), so a gain means what it
means on a satellite: a different sun elevation or calibration. The steps:

* random crop with scale jitter: the crop is area-averaged down (or
  bilinearly up) to simulate pixels from 30 m to 120 m; the mask is averaged
  too, so a coarse pixel's target is its cloud fraction;
* cut-and-paste mixing: real cloud (or real clear ground) from another patch
  is pasted through its own mask, cut by a smooth random blob;
* synthetic clouds: real cloud spectra seen through fractal transparency maps, with
  their cast shadows (:mod:`.synthetic_clouds`);
* flips and 90-degree rotations (the imagery has no preferred orientation);
* brightness gain: Level-1 reflectance without sun-angle correction is TOA
  times ``sin(sun elevation)``, so the same ground appears up to about twice as
  bright in TOA as in Level-1 form;
* small per-band gain and noise (calibration, atmosphere, sensor noise).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ParameterError
from .synthetic_clouds import add_synthetic_cloud


@dataclass(frozen=True)
class Patch:
    """One training example in physical units.

    Attributes:
        reflectance: float32 (C, H, W): red, green, blue, NIR, or the model's bands.
        target: float32 (H, W) cloud fraction 0..1.
        valid: bool (H, W), False on fill.
        product: ``toa`` or ``l1`` (decides the brightness gain range).
        thermal: indices of brightness-temperature bands (kelvin): no gain, noise
            or clipping applies to them.
        classes: float32 (4, H, W) shadow, shadow known, thin share, thin known (see
            :meth:`~.datasets.MaskCoding.decode_classes`), moved with the pixels by
            every geometric step; ``None`` for cloud-only sources.
    """

    reflectance: np.ndarray
    target: np.ndarray
    valid: np.ndarray
    product: str = "toa"
    thermal: tuple[int, ...] = ()
    classes: np.ndarray | None = None

    def labels(self) -> np.ndarray:
        """Cloud target and class channels stacked (5, H, W) (zeros where no classes)."""
        classes = self.classes if self.classes is not None else np.zeros((4, *self.target.shape))
        return np.concatenate([self.target[None], classes]).astype(np.float32)

    def with_labels(self, labels: np.ndarray, **changes: object) -> Patch:
        """A copy with the cloud target and class channels taken from ``labels`` (5, H, W)."""
        classes = labels[1:] if self.classes is not None else None
        return replace(self, target=labels[0], classes=classes, **changes)


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation knobs; ``AugmentConfig.off()`` turns everything off.

    Attributes:
        flips: random horizontal/vertical flips.
        rotations: random 90-degree rotations.
        gain_toa: log-uniform gain range for TOA sources (darker = lower sun).
        gain_l1: log-uniform gain range for Level-1 sources (brighter = the
            sun-angle correction they lack).
        band_jitter: standard deviation of an extra per-band log gain.
        noise: largest standard deviation of additive noise, in reflectance.
        scale_prob: probability of scale jitter.
        scale_range: output pixel size over input pixel size (1 = 30 m, 4 = 120 m).
        mix_prob: probability of pasting cloud or clear ground from another patch.
        synthetic_prob: probability of a synthetic cloud (and its shadow) with the
            spectrum of another patch's cloud.
        synthetic_cumulus: share of the synthetic clouds that are fields of small
            cumulus (many separate cells, dim to opaque) rather than fractal bodies.
        surface_prob: probability of taking a path radiance off blue, green and red
            (the haze an atmospheric correction removes): surface-reflectance-like
            input, as Level-2 products give it, from TOA patches.
        surface_channels: the channels of blue, green and red in the patches.
        max_reflectance: clip after the gain (Level-1 DN saturate near 1.21).
    """

    flips: bool = True
    rotations: bool = True
    gain_toa: tuple[float, float] = (0.5, 1.15)
    gain_l1: tuple[float, float] = (0.9, 2.0)
    band_jitter: float = 0.05
    noise: float = 0.01
    scale_prob: float = 0.3
    scale_range: tuple[float, float] = (0.8, 4.0)
    mix_prob: float = 0.3
    synthetic_prob: float = 0.0
    synthetic_cumulus: float = 0.0
    surface_prob: float = 0.0
    surface_channels: tuple[int, ...] = ()
    max_reflectance: float = 1.6

    @classmethod
    def off(cls) -> AugmentConfig:
        """A configuration that leaves patches as they are (apart from cropping)."""
        return cls(
            flips=False,
            rotations=False,
            gain_toa=(1.0, 1.0),
            gain_l1=(1.0, 1.0),
            band_jitter=0.0,
            noise=0.0,
            scale_prob=0.0,
            mix_prob=0.0,
            synthetic_prob=0.0,
        )

    def __post_init__(self) -> None:
        for name in ("gain_toa", "gain_l1", "scale_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ParameterError(
                    f"Augmentation {name} must be 0 < low <= high, got {low}, {high}."
                )
        for name in (
            "scale_prob",
            "mix_prob",
            "synthetic_prob",
            "synthetic_cumulus",
            "surface_prob",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(f"Augmentation {name} must be a probability in 0..1.")


#: Path radiance taken off blue by ``surface_prob`` (reflectance), and green's and red's
#: shares of it: Rayleigh scattering goes as the wavelength to the -4 (0.48, 0.56, 0.655 µm).
SURFACE_BLUE = (0.02, 0.08)
RAYLEIGH_SHARES = (1.0, 0.54, 0.29)


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """Draw a value whose logarithm is uniform, so x0.5 and x2 are equally likely."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def random_crop(patch: Patch, size: int, rng: np.random.Generator, scale: float = 1.0) -> Patch:
    """Cut a random window and resample it by ``scale``, padding to ``size`` with fill.

    Args:
        patch: the source patch.
        size: output edge in pixels.
        rng: random generator.
        scale: output pixel size over source pixel size (2 = 60 m from 30 m).
    """
    _, height, width = patch.reflectance.shape
    src = max(1, round(size * scale))
    crop_h, crop_w = min(src, height), min(src, width)
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    rows, cols = slice(top, top + crop_h), slice(left, left + crop_w)
    cropped = patch.with_labels(
        patch.labels()[:, rows, cols],
        reflectance=patch.reflectance[:, rows, cols],
        valid=patch.valid[rows, cols],
    )
    if scale != 1.0:
        out_h = min(size, max(1, round(crop_h / scale)))
        out_w = min(size, max(1, round(crop_w / scale)))
        cropped = resample(cropped, out_h, out_w)
    return pad_to(cropped, size)


def resample(patch: Patch, height: int, width: int) -> Patch:
    """Resize a patch: area mean when shrinking (what a coarser sensor sees), else bilinear."""
    bands = patch.reflectance.shape[0]
    stack = np.concatenate(
        [
            patch.reflectance * patch.valid,
            patch.labels() * patch.valid,
            patch.valid[None].astype(np.float32),
        ]
    )
    tensor = torch.from_numpy(np.ascontiguousarray(stack, dtype=np.float32))[None]
    shrinking = height < stack.shape[1]
    mode = "area" if shrinking else "bilinear"
    kwargs = {} if shrinking else {"align_corners": False}
    out = F.interpolate(tensor, size=(height, width), mode=mode, **kwargs)[0].numpy()
    coverage = out[-1]
    # A coarse pixel is valid only if it was entirely valid before.
    valid = coverage > 0.999
    safe = np.where(valid, coverage, 1.0)
    reflectance = np.where(valid, out[:bands] / safe, 0.0).astype(np.float32)
    labels = np.where(valid, np.clip(out[bands:-1] / safe, 0.0, 1.0), 0.0).astype(np.float32)
    return patch.with_labels(labels, reflectance=reflectance, valid=valid)


def pad_to(patch: Patch, size: int) -> Patch:
    """Pad a patch to ``size`` x ``size`` with fill (invalid) pixels below and to the right."""
    bands, height, width = patch.reflectance.shape
    if height == size and width == size:
        return patch
    reflectance = np.zeros((bands, size, size), np.float32)
    labels = np.zeros((5, size, size), np.float32)
    valid = np.zeros((size, size), bool)
    reflectance[:, :height, :width] = patch.reflectance
    labels[:, :height, :width] = patch.labels()
    valid[:height, :width] = patch.valid
    return patch.with_labels(labels, reflectance=reflectance, valid=valid)


def smooth_blob(shape: tuple[int, int], rng: np.random.Generator, cover: float) -> np.ndarray:
    """A random, smooth-edged region covering about ``cover`` of the patch."""
    coarse = torch.from_numpy(rng.standard_normal((1, 1, 6, 6)).astype(np.float32))
    field = F.interpolate(coarse, size=shape, mode="bicubic", align_corners=False)[0, 0].numpy()
    return field >= np.quantile(field, 1.0 - cover)


def paste(target_patch: Patch, donor: Patch, rng: np.random.Generator) -> Patch:
    """Paste real cloud, or real clear ground, from ``donor`` through its own mask.

    The pasted region is the donor's cloud (or clear) pixels inside a smooth
    random blob, so pasted clouds keep their real shapes and spectra and the
    labels stay exact.
    """
    want_cloud = bool(rng.random() < 0.5)
    donor_class = donor.target >= 0.5 if want_cloud else donor.target < 0.5
    region = donor_class & donor.valid & smooth_blob(donor.valid.shape, rng, rng.uniform(0.2, 0.7))
    if not region.any():
        return target_patch
    reflectance = target_patch.reflectance.copy()
    labels = target_patch.labels()
    valid = target_patch.valid.copy()
    reflectance[:, region] = donor.reflectance[:, region]
    labels[:, region] = donor.labels()[:, region]
    valid[region] = True
    return target_patch.with_labels(labels, reflectance=reflectance, valid=valid)


def flip_rotate(patch: Patch, rng: np.random.Generator, config: AugmentConfig) -> Patch:
    """Random flips and quarter turns, applied to image, mask and validity alike."""
    arrays = [patch.reflectance, patch.labels(), patch.valid[None]]
    if config.flips and rng.random() < 0.5:
        arrays = [a[:, :, ::-1] for a in arrays]
    if config.flips and rng.random() < 0.5:
        arrays = [a[:, ::-1, :] for a in arrays]
    if config.rotations:
        turns = int(rng.integers(0, 4))
        arrays = [np.rot90(a, turns, axes=(1, 2)) for a in arrays]
    reflectance, labels, valid = (np.ascontiguousarray(a) for a in arrays)
    return patch.with_labels(labels, reflectance=reflectance, valid=valid[0])


def radiometric(patch: Patch, rng: np.random.Generator, config: AugmentConfig) -> Patch:
    """Brightness gain, per-band gain, path radiance and additive noise on the valid pixels."""
    low, high = config.gain_l1 if patch.product == "l1" else config.gain_toa
    gain = log_uniform(rng, low, high)
    bands = patch.reflectance.shape[0]
    band_gain = np.exp(rng.normal(0.0, config.band_jitter, size=(bands, 1, 1)))
    reflectance = patch.reflectance * np.float32(gain) * band_gain
    # Drawn only when asked for, so recipes without it keep their random sequence.
    if config.surface_prob > 0 and config.surface_channels and rng.random() < config.surface_prob:
        blue = rng.uniform(*SURFACE_BLUE)
        for channel, share in zip(config.surface_channels, RAYLEIGH_SHARES, strict=True):
            reflectance[channel] -= np.float32(blue * share)
    if config.noise > 0:
        sigma = rng.uniform(0.0, config.noise)
        reflectance = reflectance + rng.normal(0.0, sigma, size=reflectance.shape)
    reflectance = np.clip(reflectance, -0.1, config.max_reflectance) * patch.valid
    for band in patch.thermal:  # temperature does not scale with the light
        reflectance[band] = patch.reflectance[band]
    return replace(patch, reflectance=reflectance.astype(np.float32))


def augment(
    source: Patch,
    size: int,
    rng: np.random.Generator,
    config: AugmentConfig,
    donor: Patch | None = None,
) -> Patch:
    """Crop, mix, flip and re-light one patch.

    Args:
        source: the patch to augment.
        size: output edge in pixels.
        rng: random generator.
        config: augmentation knobs.
        donor: another patch for cut-and-paste mixing and the spectrum of synthetic
            clouds (both skipped if ``None``).
    """
    scale = 1.0
    if rng.random() < config.scale_prob:
        scale = log_uniform(rng, *config.scale_range)
        # Keep at least a quarter of the output valid: small sources cannot give
        # a whole patch at 120 m, and a patch of mostly fill teaches nothing.
        scale = min(scale, max(1.0, 2.0 * min(source.target.shape) / size))
    patch = random_crop(source, size, rng, scale)
    if donor is not None and rng.random() < config.mix_prob:
        patch = paste(patch, random_crop(donor, size, rng, scale), rng)
    # Drawn only when asked for, so recipes without it keep their random sequence.
    if donor is not None and config.synthetic_prob > 0 and rng.random() < config.synthetic_prob:
        patch = add_synthetic_cloud(patch, donor, rng, cumulus=config.synthetic_cumulus)
    patch = flip_rotate(patch, rng, config)
    return radiometric(patch, rng, config)
