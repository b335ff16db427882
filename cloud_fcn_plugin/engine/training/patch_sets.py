"""The labelled patches of a training command: datasets read, held out, described."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..scene.bands import band_set
from .datasets import MaskCoding, PatchSpec, from_spec, labelled

Log = Callable[[str], None]


@dataclass(frozen=True)
class DataOptions:
    """How dataset strings are read into patches.

    Attributes:
        bands: the model's inputs (``rgbn``, ``sixband``, ``fullband``); patches stored
            as four band files (38-Cloud's) are left out of the others.
        nonempty: 38-Cloud/95-Cloud: only the patches of the ``*nonempty*.csv`` list.
        pairs_bands: ``pairs``: 1-based red, green, blue, NIR band indices of the images.
        pairs_product: ``pairs``: product level of the images.
        coding: ``pairs``: how the masks encode cloud, fill, shadow and thin cloud.
    """

    bands: str = "rgbn"
    nonempty: bool = False
    pairs_bands: tuple[int, ...] | None = None
    pairs_product: str = "auto"
    coding: MaskCoding = field(default_factory=MaskCoding)


def load_patch_sets(
    texts: Sequence[str], options: DataOptions, log: Log | None = None
) -> list[PatchSpec]:
    """Labelled patch specs of several dataset strings, concatenated.

    Args:
        texts: ``38cloud:PATH``, ``biome:PATH``, ``pairs:IMAGES,MASKS`` or ``PATH`` each.
        options: how to read them.
        log: told how many patches were left out for want of the model's bands.

    Raises:
        ParameterError: ``pairs_bands`` is not four indices, or a dataset string is wrong.
    """
    bands = tuple(options.pairs_bands) if options.pairs_bands else None
    if bands is not None and len(bands) != 4:
        raise ParameterError("--pairs-bands takes four indices: red,green,blue,NIR.")
    specs: list[PatchSpec] = []
    for text in texts:
        specs += labelled(
            from_spec(
                text,
                nonempty=options.nonempty,
                bands=bands,
                product=options.pairs_product,
                coding=options.coding,
            )
        )
    if options.bands == "rgbn":
        return specs
    numbers = band_set(options.bands)
    # Four band files hold red, green, blue and NIR only: nothing to read B6-B10 from.
    kept = [replace(s, model_bands=numbers) for s in specs if s.band_files is None]
    if len(kept) < len(specs) and log is not None:
        log(f"Left out {len(specs) - len(kept)} patches stored as four band files (no B6-B10).")
    return kept


def split_validation(
    specs: list[PatchSpec], fraction: float, seed: int
) -> tuple[list[PatchSpec], list[PatchSpec]]:
    """Hold out a reproducible random share of the patches for validation.

    Returns:
        ``(training, validation)``, each in the patches' order.
    """
    if not 0.0 <= fraction < 1.0:
        raise ParameterError(f"--val-split must be in [0, 1), got {fraction}.")
    order = np.random.default_rng(seed).permutation(len(specs))
    count = round(fraction * len(specs))
    held = {int(i) for i in order[:count]}
    return [s for i, s in enumerate(specs) if i not in held], [specs[i] for i in sorted(held)]


def describe(texts: Sequence[str], specs: Sequence[PatchSpec]) -> dict[str, Any]:
    """Provenance entry of a dataset: the strings given and the patch names used."""
    return {"datasets": list(texts), "patches": len(specs), "names": [s.name for s in specs]}
