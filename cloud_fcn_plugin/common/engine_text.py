"""The engine's sentences in the user's language, without the engine knowing Qt.

The engine speaks English (it runs on the command line, in batch jobs and in tests,
never importing Qt). Where the QGIS layer shows an engine sentence (a warning, the level
and model sentences, the QA comparison, a refusal, a Processing log line, a model name
in a layer name), it passes it through :func:`translate_engine`:

1. Each English *template* of :data:`SENTENCES` and :data:`FRAGMENTS` mirrors one of the
   engine's f-strings, with ``{name}`` where the engine puts a value. A template is also
   a pattern: ``{name}`` becomes a named group, so ``The product's QA band flags 31.9 %
   cloud, this mask 5.2 %: ...`` matches its template with ``qa=31.9`` and ``mask=5.2``.
2. The template is translated like every other string of the plugin: it is marked with
   ``QT_TRANSLATE_NOOP("EngineText", ...)``, so ``make i18n`` puts it into the ``.ts``
   files beside its French, and Qt's translator gives the French template at run time.
3. The values go back into the translated template. Values that are words themselves
   (a model's name, a product level, a QA layout, the reason inside a sentence) are
   translated the same way first; numbers and file names are kept.

A sentence no template matches is shown as the engine wrote it: a new engine sentence
shows up in English (and ``tests/plugin/test_engine_text.py`` lists the ones the engine
makes today) rather than wrongly. Word the templates exactly as the engine does: the
tests build the sentences with the engine's own code and check each is translated.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from ..translation import QT_TRANSLATE_NOOP

CONTEXT = "EngineText"


# ----------------------------------------------------------------- words and names
#: The engine's product levels (``bands.LEVEL_NAMES`` and the level rules' labels).
LEVELS = (
    QT_TRANSLATE_NOOP("EngineText", "Level-1 DN"),
    QT_TRANSLATE_NOOP("EngineText", "TOA reflectance * 10000"),
    QT_TRANSLATE_NOOP("EngineText", "TOA reflectance"),
    QT_TRANSLATE_NOOP("EngineText", "Level-2 surface reflectance"),
)
#: Model names: the short ones of layer names (``ModelChoice.label``) and the long ones
#: of the model sentence (``model_choice.MODEL_LABELS``).
MODELS = (
    QT_TRANSLATE_NOOP("EngineText", "4-band model"),
    QT_TRANSLATE_NOOP("EngineText", "6-band model"),
    QT_TRANSLATE_NOOP("EngineText", "full-band model"),
    QT_TRANSLATE_NOOP("EngineText", "product QA band"),
    QT_TRANSLATE_NOOP("EngineText", "given model"),
    QT_TRANSLATE_NOOP("EngineText", "physics only"),
    QT_TRANSLATE_NOOP("EngineText", "4-band (red, green, blue, NIR)"),
    QT_TRANSLATE_NOOP("EngineText", "6-band (B2-B7: blue to SWIR2)"),
    QT_TRANSLATE_NOOP("EngineText", "Full-band (B2-B7, cirrus, thermal)"),
    QT_TRANSLATE_NOOP("EngineText", "4-band + 6-band ensemble"),
    QT_TRANSLATE_NOOP("EngineText", "4-band + 6-band together (cloud where either finds it)"),
)
#: The QA band layouts (``qa_band.FLAVOUR_NAMES``).
QA_LABELS = (
    QT_TRANSLATE_NOOP("EngineText", "Collection 2 QA_PIXEL"),
    QT_TRANSLATE_NOOP("EngineText", "Collection 1 BQA"),
    QT_TRANSLATE_NOOP("EngineText", "pre-collection BQA"),
)
#: The mask's classes (``classes.CODE_NAMES``) and its band description.
CLASS_NAMES = (
    QT_TRANSLATE_NOOP("EngineText", "clear"),
    QT_TRANSLATE_NOOP("EngineText", "thick cloud"),
    QT_TRANSLATE_NOOP("EngineText", "thin cloud"),
    QT_TRANSLATE_NOOP("EngineText", "cloud shadow"),
    QT_TRANSLATE_NOOP("EngineText", "cloud mask"),
)

# -------------------------------------------------------------------- sentences
#: Parts of sentences: the reasons inside the level, scaling and model sentences.
FRAGMENTS = (
    # Why a level was detected (inspection, bands.infer_level).
    QT_TRANSLATE_NOOP("EngineText", "from the {key} of {file}"),
    QT_TRANSLATE_NOOP("EngineText", "from the file name {file}"),
    QT_TRANSLATE_NOOP("EngineText", "because the pixels are {dtype}"),
    QT_TRANSLATE_NOOP("EngineText", "because the pixels are {dtype} (the sample was all fill)"),
    QT_TRANSLATE_NOOP("EngineText",
                      "because the {dtype} pixels peak at {top} with median {median}"),
    QT_TRANSLATE_NOOP("EngineText", "because the pixels are {dtype} with values up to {top}"),
    QT_TRANSLATE_NOOP("EngineText", "{why} (the file name suggests {level})"),
    QT_TRANSLATE_NOOP("EngineText", "as chosen"),
    QT_TRANSLATE_NOOP("EngineText", "as chosen (detection said {level})"),
    QT_TRANSLATE_NOOP("EngineText", "choose another product level if this is wrong"),
    QT_TRANSLATE_NOOP("EngineText", "set the product level (l1, toa or sr) if this is wrong"),
    # How the pixels are scaled (bands.scaling_for).
    QT_TRANSLATE_NOOP("EngineText", "TOA reflectance stored as {dtype} * 10000: scaled by 1e-4"),
    QT_TRANSLATE_NOOP("EngineText", "TOA reflectance, used as is"),
    QT_TRANSLATE_NOOP("EngineText",
                      "Level-2 surface reflectance stored as floating point, used as is"),
    QT_TRANSLATE_NOOP("EngineText",
                      "Level-2 surface reflectance, scaled with the MTL's LEVEL2 "
                      "REFLECTANCE_MULT/ADD"),
    QT_TRANSLATE_NOOP("EngineText",
                      "Level-2 surface reflectance without MTL: standard constants "
                      "2.75e-5*DN-0.2"),
    QT_TRANSLATE_NOOP("EngineText",
                      "Level-1 DN, scaled with the MTL's REFLECTANCE_MULT/ADD and sun "
                      "elevation {elevation}°"),
    QT_TRANSLATE_NOOP("EngineText",
                      "Level-1 DN without MTL: standard constants 2e-5*DN-0.1, no sun-angle "
                      "correction"),
    QT_TRANSLATE_NOOP("EngineText", "thermal band in degrees Celsius, turned into kelvin"),
    QT_TRANSLATE_NOOP("EngineText", "thermal band used as kelvin"),
    QT_TRANSLATE_NOOP("EngineText",
                      "thermal band to kelvin with the MTL's RADIANCE_MULT/ADD and K1/K2"),
    QT_TRANSLATE_NOOP("EngineText",
                      "thermal band to kelvin with the standard Landsat 8 constants"),
    QT_TRANSLATE_NOOP("EngineText",
                      "surface temperature (ST_B10) to kelvin: 0.00341802 * DN + 149"),
    # Why a model runs (model_choice).
    QT_TRANSLATE_NOOP("EngineText", "chosen"),
    QT_TRANSLATE_NOOP("EngineText",
                      "automatic: the input has SWIR1 and SWIR2 (B6, B7), which tell snow "
                      "from cloud"),
    QT_TRANSLATE_NOOP("EngineText",
                      "automatic: the input has no SWIR1 and SWIR2 (B6, B7); red, green, "
                      "blue, NIR only"),
    QT_TRANSLATE_NOOP("EngineText",
                      "automatic: the input has its thermal band (B10), so the 4-band model "
                      "runs with the scene's own thermal and snow tests, the best measured on "
                      "Level-1 products"),
    QT_TRANSLATE_NOOP("EngineText",
                      "automatic: a Level-2 product with its surface temperature (ST_B10), so "
                      "the 4-band and 6-band models run together with the scene's own thermal "
                      "and snow tests, the best measured on Level-2 products"),
    # What the shadow geometry did (physics.shadow.match_shadows).
    QT_TRANSLATE_NOOP("EngineText",
                      "shadow direction from the sun angles: {bearing}°; {matched} of "
                      "{objects} cloud objects matched"),
    QT_TRANSLATE_NOOP("EngineText",
                      "shadow direction estimated from the scene: {bearing}° (contrast "
                      "{contrast}); {matched} of {objects} cloud objects matched"),
    QT_TRANSLATE_NOOP("EngineText",
                      "no clear shadow direction (best {bearing}°, contrast {contrast} < "
                      "{limit}): no shadow marked"),
    QT_TRANSLATE_NOOP("EngineText", "no cloud objects: no shadow marked"),
    QT_TRANSLATE_NOOP("EngineText",
                      "sun {elevation}° high: shadows fall under their clouds, none marked"),
    QT_TRANSLATE_NOOP("EngineText",
                      "too few cloud objects ({count}) to estimate a shadow direction: no "
                      "shadow marked"),
)
#: Whole sentences the engine logs, warns or refuses with.
SENTENCES = (
    # The product QA band beside the mask (qa_band.QaComparison, pipeline).
    QT_TRANSLATE_NOOP("EngineText",
                      "The product's QA band ({qa_label}) flags {qa_cloud} % cloud and "
                      "{qa_shadow} % shadow, this mask {mask_cloud} % cloud and {mask_shadow} "
                      "% shadow."),
    QT_TRANSLATE_NOOP("EngineText",
                      "The product's QA band flags {qa_cloud} % cloud, this mask {mask_cloud} "
                      "%: check the mask; the probability layer shows where the network "
                      "hesitated."),
    QT_TRANSLATE_NOOP("EngineText", "Warning: {text}"),
    QT_TRANSLATE_NOOP("EngineText",
                      "The product's QA band could not be compared with the mask ({detail})."),
    # The model (model_choice, pipeline).
    QT_TRANSLATE_NOOP("EngineText", "Model: the product's QA band ({qa_label}, {file})."),
    QT_TRANSLATE_NOOP("EngineText", "Model: {model} ({why})."),
    QT_TRANSLATE_NOOP("EngineText", "Model: {file} ({why})."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Model: physics only (Fmask's spectral and thermal tests relative to the "
                      "scene, bands {bands})."),
    # The physics and the shadow stages (physics.stage, physics.shadow_stage).
    QT_TRANSLATE_NOOP("EngineText",
                      "Physics: cloud warmer than the scene's clear land ({offset} K) taken "
                      "away except on bright, not snow-like pixels; snow (NDSI > {ndsi}) taken "
                      "away."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Physics: cloud warmer than the scene's clear land ({offset} K) taken "
                      "away except on bright, not snow-like pixels; snow (NDSI > {ndsi}, SWIR1 "
                      "< {swir1}) taken away."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Physics: cloud warmer than the scene's clear land ({offset} K) taken "
                      "away except on bright, not snow-like pixels."),
    QT_TRANSLATE_NOOP("EngineText", "Shadow by geometry: {note}."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Shadow by geometry: the MTL's sun elevation ({elevation}°) is no Landsat "
                      "one, so the shadow direction is taken from the scene; {note}."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Shadow by geometry: sun angles from the acquisition date in the name "
                      "({date}) and the scene's centre ({place}): azimuth {azimuth}°, elevation "
                      "{elevation}°; {note}."),
    QT_TRANSLATE_NOOP("EngineText", "Shadow: no cloud, so no shadow."),
    # The level, the scaling and the bands (raster_io.open_scene, inspection).
    QT_TRANSLATE_NOOP("EngineText", "Product: {reason}"),
    QT_TRANSLATE_NOOP("EngineText", "Scaling: {reason}; {thermal}."),
    QT_TRANSLATE_NOOP("EngineText", "Scaling: {reason}."),
    QT_TRANSLATE_NOOP("EngineText", "{level}, {why}; {override}."),
    QT_TRANSLATE_NOOP("EngineText", "{level}, {why}."),
    QT_TRANSLATE_NOOP("EngineText", "{level}, {why}"),
    QT_TRANSLATE_NOOP("EngineText", "Bands {bands} (red, green, blue, NIR) from the band names "
                      "in {file}."),
    QT_TRANSLATE_NOOP("EngineText", "{file} has 4 bands: taken as Landsat B2, B3, B4, B5."),
    QT_TRANSLATE_NOOP("EngineText",
                      "{file} has 8 bands ending with a thermal band in kelvin: taken as the "
                      "L8 Biome layout B2, B3, B4, B5, B6, B7, B9, B10."),
    QT_TRANSLATE_NOOP("EngineText", "{file} has {count} bands: taken as Landsat B1, B2, B3, ..."),
    QT_TRANSLATE_NOOP("EngineText", "Bands (red, green, blue, NIR) = {bands}."),
    QT_TRANSLATE_NOOP("EngineText", "Bands {bands} ignored: the band files are known by name."),
    QT_TRANSLATE_NOOP("EngineText",
                      "Tile size lowered from {tile} to {size} px: {tile2} px tiles would need "
                      "about {need} GB and {budget} GB can be used here; close other programs "
                      "or choose a smaller --tile-size."),
    QT_TRANSLATE_NOOP("EngineText", "GPU out of memory: retrying with batch size {count}."),
    QT_TRANSLATE_NOOP("EngineText",
                      "GPU out of memory even with batch size 1: continuing on the CPU."),
    # Refusals the panel shows before Run, and the run's end.
    QT_TRANSLATE_NOOP("EngineText",
                      "{file} has no product QA band (QA_PIXEL or BQA): the product QA band "
                      "can only be decoded from a Landsat product folder or its MTL file; "
                      "choose a network model instead."),
    QT_TRANSLATE_NOOP("EngineText",
                      "{file} has {count} band(s) but cloud detection needs red, green, blue "
                      "and NIR: no NIR band is available; use a raster or product folder that "
                      "includes NIR (Landsat 8 B5)."),
    QT_TRANSLATE_NOOP("EngineText",
                      "{file} holds 8-bit values ({dtype}, 0-255), a picture rather than "
                      "Landsat data: use the Landsat bands as delivered (16-bit DN) or "
                      "reflectance (floating point)."),
    QT_TRANSLATE_NOOP("EngineText",
                      "{path} is the input {file} (or one of its files): writing there would "
                      "destroy it; choose another output name."),
    QT_TRANSLATE_NOOP("EngineText", "Canceled by the user: no output was written."),
)

#: Placeholders whose values are words to translate too, and what they may be.
_WORDS = {"level": LEVELS, "model": MODELS, "qa_label": QA_LABELS}
#: Placeholders holding a part of a sentence, translated with the templates above.
_PARTS = {"why", "reason", "text", "thermal", "override", "note"}
#: Placeholders holding a number.
_NUMBERS = {"qa_cloud", "qa_shadow", "mask_cloud", "mask_shadow", "count", "top", "median",
            "elevation", "tile", "tile2", "size", "need", "budget", "bearing", "matched",
            "objects", "contrast", "limit", "offset", "ndsi"}
_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

Translate = Callable[[str], str]


def qt_translate(template: str) -> str:
    """The template in the language of the plugin's translator (unchanged without one)."""
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate(CONTEXT, template)


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression, one named group per placeholder."""
    parts, position = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position:match.start()]))
        name = match.group(1)
        if name in _WORDS:
            words = sorted(_WORDS[name], key=len, reverse=True)
            group = "|".join(re.escape(word) for word in words)
        elif name in _NUMBERS:
            group = _NUMBER
        else:
            group = ".+?"
        parts.append(f"(?P<{name}>{group})")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.DOTALL)


def _match(text: str, templates) -> tuple[str, dict[str, str]] | None:
    for template in templates:
        found = _pattern(template).fullmatch(text)
        if found is not None:
            return template, found.groupdict()
    return None


def translate_engine(text: str, translate: Translate | None = None) -> str:
    """``text``, an engine sentence, name or part, in the translator's language.

    Args:
        text: what the engine wrote (after :func:`..engine_call.qgis_wording`).
        translate: template -> translated template (Qt's translator by default).
    """
    if not text:
        return text
    translate = translate or qt_translate
    if text in _LITERALS:
        return translate(text)
    found = _match(text, _TEMPLATES)
    if found is None:
        return text
    template, values = found
    for name, value in values.items():
        if name in _WORDS or name in _PARTS:
            values[name] = translate_engine(value, translate)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), translate(template))


def translate_lines(text: str, translate: Translate | None = None) -> str:
    """Each line of ``text`` through :func:`translate_engine`."""
    return "\n".join(translate_engine(line, translate) for line in text.split("\n"))


#: Words and templates without a placeholder: looked up as they are.
_LITERALS = frozenset((*LEVELS, *MODELS, *QA_LABELS, *CLASS_NAMES))
#: The templates, the most specific (longest fixed text) first: "Level-1 DN without MTL:
#: ..." is tried before "{level}, {why}".
_TEMPLATES = tuple(sorted((*SENTENCES, *FRAGMENTS),
                          key=lambda template: -len(_PLACEHOLDER.sub("", template))))


def templates() -> tuple[str, ...]:
    """Every template and word of the catalogue (for the tests)."""
    return (*LEVELS, *MODELS, *QA_LABELS, *CLASS_NAMES, *FRAGMENTS, *SENTENCES)
