"""The mask's classes: what a model's channels mean and the codes a mask holds.

A mask uses the CloudSEN12 / OmniCloudMask codes, so it can be held against theirs and
against the product's own QA band decoded into the same codes:

====  ============  ===================================================
code  name          meaning
====  ============  ===================================================
0     clear         land, water, snow: nothing to mask
1     thick cloud   opaque cloud (a cloud-only model's "cloud")
2     thin cloud    semi-transparent cloud, cirrus, haze
3     cloud shadow  ground darkened by a cloud's shadow
255   no data       outside the scene or not read
====  ============  ===================================================

A checkpoint names its output channels (``CheckpointMetadata.classes``): ``("cloud",)``
for a cloud-only model (one sigmoid channel), or several channels, softmaxed, among
``CHANNEL_NAMES`` that include ``"clear"`` and at least one cloud channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError

CLEAR = 0
THICK_CLOUD = 1
THIN_CLOUD = 2
CLOUD_SHADOW = 3
NODATA = 255

#: Mask code -> name, in code order (the GeoTIFF category names and the QML legend).
CODE_NAMES: dict[int, str] = {
    CLEAR: "clear",
    THICK_CLOUD: "thick cloud",
    THIN_CLOUD: "thin cloud",
    CLOUD_SHADOW: "cloud shadow",
}
#: The codes a result may hold, 255 (no data) aside.
CLASS_CODES = tuple(CODE_NAMES)
#: Codes counted as cloud (``CLOUD_COVER``); shadow has its own cover.
CLOUD_CODES = (THICK_CLOUD, THIN_CLOUD)
#: What is masked unless the user says otherwise (buffer, sieve, masked image, polygons).
DEFAULT_MASKED_CODES = (THICK_CLOUD, THIN_CLOUD, CLOUD_SHADOW)

#: One word per code, as typed on the command line (``--mask-classes thick,thin,shadow``).
CODE_KEYWORDS: dict[str, int] = {
    "clear": CLEAR,
    "thick": THICK_CLOUD,
    "thin": THIN_CLOUD,
    "shadow": CLOUD_SHADOW,
}

#: Output channel names a checkpoint may declare.
CHANNEL_NAMES = ("cloud", "clear", "thick_cloud", "thin_cloud", "cloud_shadow")
CLOUD_ONLY = ("cloud",)
_CLOUD_CHANNELS = ("cloud", "thick_cloud", "thin_cloud")


def validate_channel_classes(classes: Iterable[str]) -> tuple[str, ...]:
    """Return ``classes`` as a tuple, or raise ParameterError saying what is wrong.

    Valid: ``("cloud",)`` alone (sigmoid), or distinct names from ``CHANNEL_NAMES``
    holding ``"clear"`` and at least one cloud channel (softmax). ``"cloud"`` does not
    mix with ``"thick_cloud"``/``"thin_cloud"``: the cloud probability would count twice.
    """
    if isinstance(classes, str | bytes):
        raise ParameterError(f"classes must be a list of names, got {classes!r}.")
    names = tuple(classes)
    unknown = [n for n in names if n not in CHANNEL_NAMES]
    if unknown or not names:
        raise ParameterError(
            f"classes {list(names)!r}: each must be one of {', '.join(CHANNEL_NAMES)}."
        )
    if len(set(names)) != len(names):
        raise ParameterError(f"classes {list(names)!r} name a channel twice; name each once.")
    if names == CLOUD_ONLY:
        return names
    if "clear" not in names or not any(n in names for n in _CLOUD_CHANNELS):
        raise ParameterError(
            f"classes {list(names)!r}: a model with several channels needs 'clear' and at "
            "least one cloud channel (cloud, thick_cloud or thin_cloud); a cloud-only model "
            "has classes ['cloud']."
        )
    if "cloud" in names and ("thick_cloud" in names or "thin_cloud" in names):
        raise ParameterError(
            f"classes {list(names)!r}: 'cloud' and 'thick_cloud'/'thin_cloud' overlap; "
            "use either 'cloud' or the thick/thin pair."
        )
    return names


@dataclass(frozen=True)
class ChannelLayout:
    """Where the cloud, thick, thin and shadow probabilities are among a model's channels.

    Attributes:
        classes: the checkpoint's channel names, in channel order.
    """

    classes: tuple[str, ...] = CLOUD_ONLY

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", validate_channel_classes(self.classes))

    @property
    def softmax(self) -> bool:
        """Whether the channels are softmaxed (several) rather than one sigmoid."""
        return self.classes != CLOUD_ONLY

    def index(self, name: str) -> int | None:
        """Return the channel index of ``name``, or None when the model lacks it."""
        return self.classes.index(name) if name in self.classes else None

    @property
    def has_thin(self) -> bool:
        """Whether the model tells thick from thin cloud (both channels present)."""
        return "thick_cloud" in self.classes and "thin_cloud" in self.classes

    @property
    def has_shadow(self) -> bool:
        """Whether the model has a cloud-shadow channel."""
        return "cloud_shadow" in self.classes

    @property
    def only_thin(self) -> bool:
        """Whether every cloud the model finds is thin (a thin channel and no other)."""
        return "thin_cloud" in self.classes and not (
            "thick_cloud" in self.classes or "cloud" in self.classes
        )

    @property
    def layers(self) -> tuple[str, ...]:
        """The probability layers blended over tiles, in order: cloud, thin, shadow.

        ``cloud`` is p_thick + p_thin (or the one cloud channel), ``thin`` is p_thin
        (only when the model tells thick from thin), ``shadow`` is p_shadow (only when
        the model has it). Blending is linear, so "thick if p_thick >= p_thin" is exactly
        "thin if 2 p_thin > p_cloud" on the blended layers, and memory stays at one to
        three float32 layers whatever the channel count.
        """
        layers = ["cloud"]
        if self.has_thin:
            layers.append("thin")
        if self.has_shadow:
            layers.append("shadow")
        return tuple(layers)


#: Band description of each probability layer in the ``--probability`` raster.
LAYER_DESCRIPTIONS = {
    "cloud": "cloud probability (thick + thin)",
    "thin": "thin cloud probability",
    "shadow": "cloud shadow probability",
}


def parse_mask_classes(text: str | Iterable[str] | Iterable[int] | None) -> tuple[int, ...]:
    """Return the mask codes named by ``text`` (``"thick,thin,shadow"``), sorted.

    Args:
        text: comma-separated keywords of ``CODE_KEYWORDS`` or codes, a list of them, or
            None for the default (thick cloud, thin cloud and shadow).

    Raises:
        ParameterError: an unknown word, clear, or nothing named.
    """
    if text is None:
        return DEFAULT_MASKED_CODES
    items = text.split(",") if isinstance(text, str) else list(text)
    codes = set()
    for item in items:
        word = str(item).strip().lower()
        if not word:
            continue
        code = CODE_KEYWORDS.get(word)
        if code is None and word.isdigit() and int(word) in CLASS_CODES:
            code = int(word)
        if code is None or code == CLEAR:
            raise ParameterError(
                f"unknown class to mask {item!r}; choose among thick, thin and shadow "
                "(e.g. 'thick,thin,shadow' or 'thick,thin')."
            )
        codes.add(code)
    if not codes:
        raise ParameterError("no class to mask: name at least one of thick, thin and shadow.")
    return tuple(sorted(codes))


def describe_codes(codes: Iterable[int]) -> str:
    """Return ``"thick cloud, thin cloud and cloud shadow"`` for log lines."""
    names = [CODE_NAMES[c] for c in sorted(codes)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def has_code(mask: np.ndarray, codes: Iterable[int]) -> np.ndarray:
    """Where a uint8 mask holds one of ``codes`` (a 256-entry lookup: 6x faster than isin)."""
    codes = sorted(set(codes))
    if codes and mask.dtype == np.uint8 and codes == list(range(codes[0], codes[-1] + 1)):
        first, last = codes[0], codes[-1]
        # A run of codes (cloud: 1, 2) is one comparison after a wrapping subtraction,
        # 10x faster than the lookup's gather.
        return np.subtract(mask, np.uint8(first)) <= np.uint8(last - first)
    lookup = np.zeros(256, bool)
    lookup[codes] = True
    return lookup[mask]
