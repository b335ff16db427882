"""Finding English left in what a French user reads (tests of the translation)."""

from __future__ import annotations

import re

#: Words a French sentence of this plugin never holds, but its English ones do.
ENGLISH_WORDS = (
    "the", "cloud", "clouds", "shadow", "threshold", "model", "band", "bands", "warning",
    "reading", "scaled", "check", "with", "from", "without", "cover", "thick", "thin",
    "clear", "temporary", "probability", "sieve", "buffer", "level", "reflectance", "mask",
    "taken", "because", "chosen", "automatic", "input", "has", "layer", "polygons", "run",
    "ran", "detect", "canceled", "failed", "product",
)
_WORD = re.compile(r"\b(" + "|".join(ENGLISH_WORDS) + r")\b", re.IGNORECASE)
# File names, paths and band or format codes (LC08_..._B4.TIF, cloudfcn_sixband.safetensors,
# /tmp/x) are no language.
_NAME = re.compile(r"\S*[_./\\]\S*")
# QGIS's own words around ours in a legend ("Band 1: ... (Palette)", "Band 1 (Gray)"),
# which QGIS's own translator gives in a French QGIS.
_QGIS_OWN = re.compile(r"^Band \d+(: | \(Gray\)$)| \((Palette|Gray)\)$")


#: Lines of the Processing log that QGIS writes itself: the dump of the output values
#: (``Results: {'USED_MODEL': '4-band model', ...}``: ids and values that scripts read).
QGIS_LOG_LINES = re.compile(r"^Results: \{")


def english_words(text: str) -> list[str]:
    """The English marker words in ``text``, file names aside."""
    text = _QGIS_OWN.sub("", text.replace("\u200b", ""))
    return _WORD.findall(_NAME.sub(" ", text))
