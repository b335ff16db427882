"""Labelled choices offered by both the dock panel and the algorithm."""

from __future__ import annotations

from ..translation import QT_TRANSLATE_NOOP

# Labels are marked for `make i18n` and translated where they are shown (translation.tr).

# (engine code, label) in the order both front ends list them.
PRODUCT_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("@default", "Auto-detect")),
    ("l1", QT_TRANSLATE_NOOP("@default", "Level-1 digital numbers (DN)")),
    ("toa", QT_TRANSLATE_NOOP("@default", "Top-of-atmosphere reflectance (TOA)")),
    ("sr", QT_TRANSLATE_NOOP("@default", "Level-2 surface reflectance (SR)")),
)
# New entries go last: saved models and scripts store the index.
DEVICE_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("@default", "Automatic (CUDA, then Apple MPS, then CPU)")),
    ("cpu", QT_TRANSLATE_NOOP("@default", "CPU")),
    ("cuda", QT_TRANSLATE_NOOP("@default", "CUDA GPU")),
    ("mps", QT_TRANSLATE_NOOP("@default", "Apple MPS GPU")),
)
MODEL_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("@default", "Automatic (chosen by the input's bands)")),
    ("rgbn", QT_TRANSLATE_NOOP("@default", "4-band model (red, green, blue, NIR)")),
    ("fullband", QT_TRANSLATE_NOOP("@default", "Full-band model (B2-B7, cirrus, thermal)")),
    ("sixband", QT_TRANSLATE_NOOP("@default", "6-band model (B2-B7: blue to SWIR2)")),
    ("qa", QT_TRANSLATE_NOOP("@default", "Product QA band (QA_PIXEL or BQA, no network)")),
    ("physics", QT_TRANSLATE_NOOP("@default", "Physics only (Fmask's tests, no network)")),
    ("ensemble", QT_TRANSLATE_NOOP("@default",
                                   "4-band + 6-band together (cloud where either finds it)")),
)
#: The scene-relative physics beside the network (engine ``PHYSICS_CHOICES``).
PHYSICS_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("@default", "Where measured to help (thermal band inputs)")),
    ("on", QT_TRANSLATE_NOOP("@default", "Always, for any model")),
    ("off", QT_TRANSLATE_NOOP("@default", "Off")),
)
#: How cloud shadow is found (engine ``SHADOW_CHOICES``).
SHADOW_CHOICES: tuple[tuple[str, str], ...] = (
    ("auto", QT_TRANSLATE_NOOP("@default", "By geometry: clouds cast along the sun")),
    ("geometry", QT_TRANSLATE_NOOP("@default", "By geometry only")),
    ("network", QT_TRANSLATE_NOOP("@default", "The model's own shadow class only")),
)
#: What the product QA band choice says where the input has no QA band.
NO_QA_BAND_HELP = QT_TRANSLATE_NOOP("@default", "The product QA band is only offered for a "
                                    "Landsat product folder or its MTL file (they hold "
                                    "QA_PIXEL or BQA).")
# (engine keyword, label) of the classes the workflow steps can mask, in code order.
MASK_CLASS_CHOICES: tuple[tuple[str, str], ...] = (
    ("thick", QT_TRANSLATE_NOOP("@default", "Thick cloud")),
    ("thin", QT_TRANSLATE_NOOP("@default", "Thin cloud")),
    ("shadow", QT_TRANSLATE_NOOP("@default", "Cloud shadow")),
)
LEVEL_NAMES = {code: label for code, label in PRODUCT_CHOICES}
# Red, green, blue, NIR in a B2-B5 stack, the layout of the bundled sample.
DEFAULT_STACK_BANDS = (3, 2, 1, 4)
BAND_ROLES = ("red", "green", "blue", "NIR")
MASK_VALUES_HELP = QT_TRANSLATE_NOOP(
    "@default", "0 = clear, 1 = thick cloud, 2 = thin cloud, 3 = cloud shadow, 255 = no data"
)


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
