"""Training and validation patches: the weighted bank, lazy reading, augmented crops."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from ..errors import ParameterError
from ..scene.scaling import normalize
from .augment import Patch, augment
from .config import TrainConfig
from .datasets import PatchSpec

Log = Callable[[str], None]


class PatchBank:
    """Training patches with their sampling weights, in memory or read on demand.

    Up to ``preload_limit`` patches are read once and kept (the bundled recipe's
    24 patches take 6 MB). Larger collections (the full 38-Cloud holds 8400
    patches, 20 GB as float32) are read when drawn, with statistics from a
    reproducible sample of ``sample_size`` patches.

    Patches are drawn in proportion to their valid pixels; ``bright_clear`` adds
    weight to patches with clear ground as bright as cloud (snow, ice, sand,
    salt flats, roofs), the ground a 4-band model confuses with cloud: a patch whose
    valid pixels are all bright and clear is drawn ``1 + bright_clear`` times as often.
    """

    #: Mean visible reflectance above which clear ground counts as bright.
    BRIGHT = 0.3

    def __init__(
        self,
        specs: Sequence[PatchSpec],
        log: Log | None = None,
        preload_limit: int = 2000,
        sample_size: int = 200,
        seed: int = 0,
        bright_clear: float = 0.0,
    ) -> None:
        """Index (and for small collections, read) the patches."""
        self.specs = list(specs)
        if not self.specs:
            raise ParameterError("No labelled patch to train on: check the dataset paths.")
        self.preloaded = len(self.specs) <= preload_limit
        if self.preloaded:
            iterator = tqdm(self.specs, desc="loading patches", leave=False, disable=log is None)
            self._patches: list[Patch] | None = [spec.load() for spec in iterator]
            self._sample = self._patches
            pixels = np.array([p.valid.sum() for p in self._patches], dtype=np.float64)
        else:
            self._patches = None
            rng = np.random.default_rng(seed)
            picked = rng.choice(
                len(self.specs), size=min(sample_size, len(self.specs)), replace=False
            )
            self._sample = [self.specs[i].load() for i in sorted(picked)]
            pixels = np.ones(len(self.specs))
        if pixels.sum() == 0 or not any(p.valid.any() for p in self._sample):
            raise ParameterError("Every training pixel is fill: check the masks' fill values.")
        # Bigger patches give more distinct crops, so they are drawn more often.
        if bright_clear and self._patches is not None:
            pixels = pixels * (
                1.0 + bright_clear * np.array([_bright_clear(p) for p in self._patches])
            )
        self.weights = pixels / pixels.sum()

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index: int) -> Patch:
        if self._patches is not None:
            return self._patches[index]
        return self.specs[index].load()

    def statistics(self) -> tuple[list[float], list[float]]:
        """Per-band mean and standard deviation of the valid reflectance."""
        values = np.concatenate(
            [p.reflectance[:, p.valid] for p in self._sample], axis=1, dtype=np.float64
        )
        return values.mean(axis=1).tolist(), np.maximum(values.std(axis=1), 1e-3).tolist()

    def cloud_fraction(self) -> float:
        """Share of the valid pixels that are cloud (in the sample for large collections)."""
        cloud = sum(float(p.target[p.valid].sum()) for p in self._sample)
        return cloud / sum(float(p.valid.sum()) for p in self._sample)


def _bright_clear(patch: Patch) -> float:
    """Share of a patch's valid pixels that are clear and as bright as cloud."""
    if not patch.valid.any():
        return 0.0
    bright = patch.reflectance[:3].mean(axis=0) > PatchBank.BRIGHT
    return float((bright & (patch.target < 0.5) & patch.valid).sum() / patch.valid.sum())


class LazyPatches(Sequence[Patch]):
    """Validation patches: kept in memory when few, else read at each use."""

    def __init__(self, specs: Sequence[PatchSpec], preload_limit: int = 500) -> None:
        """Read the patches now if there are at most ``preload_limit``."""
        self.specs = list(specs)
        self._patches = [s.load() for s in self.specs] if len(specs) <= preload_limit else None

    def __len__(self) -> int:
        return len(self.specs)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._patches is not None:
            return self._patches[index]
        return self.specs[index].load()


class AugmentedPatches(Dataset):
    """Random augmented crops of a :class:`PatchBank`, as normalised tensors."""

    def __init__(
        self,
        bank: PatchBank,
        config: TrainConfig,
        mean: Sequence[float],
        std: Sequence[float],
        patch_size: int,
    ) -> None:
        """Bind the bank to the recipe and the normalisation."""
        self.bank, self.config, self.mean, self.std = bank, config, mean, std
        self.patch_size = patch_size
        self.epoch = 0

    def __len__(self) -> int:
        return self.config.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.config.seed, self.epoch, index])
        bank = self.bank
        source = bank[int(rng.choice(len(bank), p=bank.weights))]
        donor = bank[int(rng.choice(len(bank), p=bank.weights))] if len(bank) > 1 else None
        patch = augment(source, self.patch_size, rng, self.config.augment, donor)
        x = normalize(patch.reflectance, patch.valid, self.mean, self.std, thermal=patch.thermal)
        target = patch.labels() if self.config.multiclass else patch.target[None].copy()
        return (
            torch.from_numpy(x),
            torch.from_numpy(target),
            torch.from_numpy(patch.valid[None].astype(np.float32)),
        )
