"""Parameter values as users type them in ``qgis_process`` and scripts, made Processing's.

QGIS 3.22 accepts only the index of an enum (``MODEL_CHOICE=2``) and only a raster for a
raster-layer parameter; the command line and the README speak of ``fullband`` and of a
product's ``*_MTL.txt`` or folder. These helpers turn such values into what Processing
checks, before it checks them: a choice's name into its index, a product into its red
band file (the engine finds the other bands, and the MTL, beside it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine.errors import CloudFcnError

MTL_SUFFIX = "_MTL.TXT"


class TypedValueError(CloudFcnError, ValueError):
    """A typed value that names no choice: the sentence says which names exist."""


def choice_index(key: str, value: Any, choices: Sequence[tuple[str, str]]) -> Any:
    """Return the index of a choice given by its code (``fullband``), else ``value`` as is.

    A comma-separated list (``thick,shadow`` for a multiple choice) gives a list of indices.

    Raises:
        TypedValueError: ``value`` is a word that is no choice's code.
    """
    if isinstance(value, str) and "," in value:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        return [int(p) if p.isdigit() else choice_index(key, p, choices) for p in parts]
    if not isinstance(value, str) or not value.strip() or value.strip().lstrip("-").isdigit():
        return value
    codes = [code for code, _ in choices]
    word = value.strip().lower()
    if word in codes:
        return codes.index(word)
    listed = ", ".join(f"{code} ({index})" for index, code in enumerate(codes))
    raise TypedValueError(f"{key}={value} is not one of the choices: use one of {listed}.")


def choices_help(choices: Sequence[tuple[str, str]]) -> str:
    """The values a user may type for a choice, e.g. ``auto (0), rgbn (1), fullband (2)``."""
    return ", ".join(f"{code} ({index})" for index, (code, _) in enumerate(choices))


def product_band_file(value: Any) -> Path | None:
    """The red band file of a Landsat product given as its MTL file or folder, else None.

    A folder that holds one stacked raster gives that raster.

    Raises:
        CloudFcnError: the folder or MTL names no readable product (one sentence).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    path = Path(value.strip()).expanduser()
    if not (path.is_dir() or (path.is_file() and path.name.upper().endswith(MTL_SUFFIX))):
        return None
    from ..engine.scene.reader import inspect_input

    info = inspect_input(path)
    if info.kind == "raster":
        return info.path  # a folder holding one stacked raster
    return info.band_files[0] if info.band_files else None


def typed_values(
    parameters: Mapping[str, Any], input_key: str, choices: Mapping[str, Sequence]
) -> dict[str, Any]:
    """Return ``parameters`` with choice names as indices and a product as its band file.

    Raises:
        CloudFcnError: a name that is no choice, or a product that cannot be read.
    """
    values = dict(parameters)
    for key, options in choices.items():
        if key in values:
            values[key] = choice_index(key, values[key], options)
    band_file = product_band_file(values.get(input_key))
    if band_file is not None:
        values[input_key] = str(band_file)
    return values
