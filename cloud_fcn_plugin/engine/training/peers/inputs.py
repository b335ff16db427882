"""The patches as the peer takes them, read by the engine, and the folds they are held out in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ParameterError
from .peer import PEER_BANDS

# 1-based SWIR1, SWIR2 of the 8-band Biome patches, then two more bands: the reader takes four.
BIOME_SWIR = (5, 6, 7, 8)


def peer_input(rgbn: np.ndarray, swir: np.ndarray | None = None) -> np.ndarray:
    """Arrange the engine's reflectance the way the peer takes it.

    Args:
        rgbn: (4, H, W) reflectance in the engine's order red, green, blue, NIR.
        swir: optional (2, H, W) reflectance of SWIR1 (B6) and SWIR2 (B7).

    Returns:
        (H, W, 4 or 6) float32 in the order of :data:`.peer.PEER_BANDS`.
    """
    if rgbn.ndim != 3 or rgbn.shape[0] != 4:
        raise ValueError(f"Expected (4, H, W) red, green, blue, NIR; got shape {rgbn.shape}.")
    red, green, blue, nir = rgbn
    planes = [blue, green, red, nir]
    if swir is not None:
        if swir.shape != (2, *rgbn.shape[1:]):
            raise ValueError(f"Expected (2, H, W) SWIR1, SWIR2; got shape {swir.shape}.")
        planes += [swir[0], swir[1]]
    return np.ascontiguousarray(np.stack(planes, axis=-1), dtype=np.float32)


def timing_mosaic(arrays: Sequence[np.ndarray], side: int) -> np.ndarray:
    """A ``side`` x ``side`` mosaic of equally sized patches (repeated as needed).

    Used only for timing: on a large input the peer's tile overlap and padding cost
    what they cost on a scene, not what they cost on one small patch.
    """
    if not arrays:
        raise ValueError("No patch to build the timing mosaic from.")
    height, width, channels = arrays[0].shape
    rows, cols = -(-side // height), -(-side // width)
    mosaic = np.zeros((rows * height, cols * width, channels), np.float32)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        mosaic[r * height : (r + 1) * height, c * width : (c + 1) * width] = arrays[k % len(arrays)]
    return mosaic[:side, :side]


def mosaic_for_timing(patches: Sequence[np.ndarray], side: int) -> np.ndarray:
    """The timing mosaic of the 6-band patches (all patches if none has 6); empty for side 0."""
    if not side:
        return np.zeros((0, 0, 4), np.float32)
    six = [p for p in patches if p.shape[2] == len(PEER_BANDS)]
    return timing_mosaic(six or patches, side)


def read_patch(spec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peer input, cloud truth and scored pixels of one patch, read by the engine.

    Returns:
        ``(input (H, W, C), truth bool (H, W), valid bool (H, W))``; C is 6 for Biome
        patches (their SWIR bands are read too), else 4. Fill is 0 in the input.
    """
    # Imported here: the reader needs GDAL, which the peer's environment lacks.
    from ...scene.reader import open_scene

    with spec.open_reader() as reader:
        rgbn, valid = reader.read_all()
    swir = None
    if spec.dataset == "biome" and spec.image is not None:
        with open_scene(spec.image, bands=BIOME_SWIR, product=spec.product) as reader:
            pair, _ = reader.read_all()
        swir = np.where(valid, pair[:2], 0.0)
    truth, labelled = spec.read_truth()
    return peer_input(rgbn, swir), truth, valid & labelled


def read_shadow_truth(spec: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cloud-shadow truth of one patch and where it is known (bool (H, W) each).

    From the datasets' own decoding (``PatchSpec.read_class_truth``): the L8 Biome
    masks label shadow (64); a source without a shadow class (38-Cloud) knows only
    that its cloud pixels are not shadow, so its clear pixels are left unscored.
    """
    classes = spec.read_class_truth()
    return classes[0] > 0.5, classes[1] > 0.5


def assign_folds(specs: Sequence[Any], folds: int, folds_file: Path | None) -> list[list[str]]:
    """The held-out groups of each fold: from a cross-validation's folds.json, or made here."""
    # Imported here: the cross-validation needs GDAL, which the peer's environment lacks.
    from ..crossval import make_folds, patch_group

    if folds_file is None:
        return make_folds(specs, folds)
    held = json.loads(Path(folds_file).read_text(encoding="utf-8"))
    missing = sorted({patch_group(s) for s in specs} - {g for fold in held for g in fold})
    if missing:
        raise ParameterError(
            f"{folds_file} holds out no fold for {', '.join(missing)}: pass the folds.json of "
            "a cross-validation run on the same datasets, or --folds K."
        )
    return [list(fold) for fold in held]
