"""Labelled choices offered by both the dock panel and the algorithm."""

from __future__ import annotations

# (engine code, label) in the order both front ends list them.
PRODUCT_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", "Auto-detect"),
    ("l1", "Level-1 digital numbers (DN)"),
    ("toa", "Top-of-atmosphere reflectance (TOA)"),
    ("sr", "Level-2 surface reflectance (SR)"),
)
# New entries go last: saved models and scripts store the index.
DEVICE_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", "Automatic (CUDA, then Apple MPS, then CPU)"),
    ("cpu", "CPU"),
    ("cuda", "CUDA GPU"),
    ("mps", "Apple MPS GPU"),
)
MODEL_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", "Automatic (6-band model where the input has SWIR)"),
    ("rgbn", "4-band model (red, green, blue, NIR)"),
    ("fullband", "Full-band model (B2-B7, cirrus, thermal)"),
    ("sixband", "6-band model (B2-B7: blue to SWIR2)"),
)
LEVEL_NAMES = {code: label for code, label in PRODUCT_CHOICES}
# Red, green, blue, NIR in a B2-B5 stack, the layout of the bundled sample.
DEFAULT_STACK_BANDS = (3, 2, 1, 4)
BAND_ROLES = ("red", "green", "blue", "NIR")
MASK_VALUES_HELP = "1 = cloud, 0 = clear, 255 = no data"


def product_code(index: int) -> str:
    """Map a combo/enum index to the engine's product code."""
    return PRODUCT_CHOICES[index][0]


def model_code(index: int) -> str:
    """Map a combo/enum index to the engine's bundled-model code."""
    return MODEL_CHOICES[index][0]


def device_code(index: int) -> str:
    """Map a combo/enum index to the engine's device code."""
    return DEVICE_CHOICES[index][0]
