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
    ("qa", "Product QA band (QA_PIXEL or BQA, no network)"),
)
#: What the product QA band choice says where the input has no QA band.
NO_QA_BAND_HELP = (
    "The product QA band is only offered for a Landsat product folder or its MTL file "
    "(they hold QA_PIXEL or BQA)."
)
# (engine keyword, label) of the classes the workflow steps can mask, in code order.
MASK_CLASS_CHOICES: tuple[tuple[str, str], ...] = (
    ("thick", "Thick cloud"),
    ("thin", "Thin cloud"),
    ("shadow", "Cloud shadow"),
)
LEVEL_NAMES = {code: label for code, label in PRODUCT_CHOICES}
# Red, green, blue, NIR in a B2-B5 stack, the layout of the bundled sample.
DEFAULT_STACK_BANDS = (3, 2, 1, 4)
BAND_ROLES = ("red", "green", "blue", "NIR")
MASK_VALUES_HELP = "0 = clear, 1 = thick cloud, 2 = thin cloud, 3 = cloud shadow, 255 = no data"


def product_code(index: int) -> str:
    """Map a combo/enum index to the engine's product code."""
    return PRODUCT_CHOICES[index][0]


def model_code(index: int) -> str:
    """Map a combo/enum index to the engine's bundled-model code."""
    return MODEL_CHOICES[index][0]


def mask_class_words(indices: list[int]) -> str:
    """Map the chosen indices of ``MASK_CLASS_CHOICES`` to the engine's ``"thick,shadow"``."""
    return ",".join(MASK_CLASS_CHOICES[i][0] for i in sorted(indices))


def device_code(index: int) -> str:
    """Map a combo/enum index to the engine's device code."""
    return DEVICE_CHOICES[index][0]
