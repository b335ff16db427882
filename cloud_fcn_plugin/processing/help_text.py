"""The one source of the algorithm's help: the dialog's help panel and the Help page.

:func:`help_html` is ``shortHelpString`` (translated, ``<h3>`` headings), and
:func:`help_page` the page the Help button opens (``resources/help/index.html``, English),
written by ``make help`` (``scripts/make_help.py``); a test checks that the shipped page is
the one this module makes. Each paragraph is one translatable string without line breaks.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from ..common.choices import DEVICE_CHOICES, MASK_VALUES_HELP, MODEL_CHOICES, PRODUCT_CHOICES
from .typed_values import choices_help

Translate = Callable[[str], str]
#: A section: its anchor, its title and its blocks, each a paragraph (a string), a command
#: (``("code", text)``) or a list of ``(term, text)`` items (``None`` for no term).
Section = tuple[str, str, list]
TITLE = "Cloud FCN: detect clouds"
README_COMMAND = (
    "qgis_process.bin run cloud_fcn:detectclouds -- INPUT=scene.tif OUTPUT=mask.tif"
)


def bundled_thresholds() -> dict[str, float | None]:
    """The calibrated threshold of each bundled model (``None`` where none is bundled)."""
    from ..common.engine_call import default_threshold
    from ..engine.errors import CloudFcnError
    from ..engine.models.choice import bundled_model_path

    thresholds: dict[str, float | None] = {}
    for code, _ in MODEL_CHOICES:
        try:
            path = bundled_model_path(code)
        except CloudFcnError:
            continue  # "auto", or a choice that is no network
        value, note = default_threshold(path)
        thresholds[code] = None if note else value
    return thresholds


def _model_names(tr: Translate) -> dict[str, str]:
    return {"rgbn": tr("the 4-band model"), "fullband": tr("the full-band model"),
            "sixband": tr("the 6-band model"), "ensemble": tr("the ensemble")}


def _threshold_text(tr: Translate, thresholds: dict[str, float | None]) -> str:
    names = _model_names(tr)
    shown = ", ".join(
        tr("{value} for {model}")
        .replace("{value}", f"{value:.3f}" if value is not None else tr("none bundled"))
        .replace("{model}", names.get(code, code))
        for code, value in thresholds.items()
    )
    return (
        tr("cloud probability above which a pixel is called cloud; unset, the threshold "
           "calibrated with the model: {thresholds} (0.5 for a model file without one). "
           "Lower finds more thin cloud; the panel's Reset button returns to the model's "
           "value.")
        .replace("{thresholds}", shown)
    )


def _input_section(tr: Translate) -> Section:
    return ("input", tr("Input"), [
        [
            (tr("A multi-band raster"), tr("for example a B2-B5 stack; the red, green, blue "
                                           "and NIR bands follow the layer's band descriptions "
                                           "(\"B4\", \"Red\", \"SR_B4\") unless you set them, "
                                           "else the stack order 3, 2, 1, 4.")),
            (
                tr("One band file of a Landsat product folder"),
                tr("*_B4.TIF or *_SR_B4.TIF: the other band files are found beside it by name "
                   "and the band parameters are ignored; the panel lists the files it found."),
            ),
            (
                tr("The product's *_MTL.txt file or its folder"),
                tr("read like one of its band files, with the MTL's scaling."),
            ),
            (None, tr("A raster without a NIR band (an RGB picture) or an 8-bit picture cannot "
                      "be used: the network needs Landsat reflectance with NIR.")),
        ],
    ])


def _parameters_section(tr: Translate, thresholds: dict[str, float | None]) -> Section:
    return ("parameters", tr("Parameters"), [
        [
            (tr("Red, green, blue and NIR bands"), tr("the bands the network reads (Landsat 8 "
                                                      "bands B4, B3, B2 and B5); unset, they "
                                                      "follow the layer's band descriptions; "
                                                      "set, they are used as given.")),
            (tr("Product level"), tr("Level-1 digital numbers, top-of-atmosphere reflectance "
                                     "or Level-2 surface reflectance. Auto-detect reads the "
                                     "MTL file, band names and value ranges; a level read "
                                     "from a Landsat file name is noted in the log, a level "
                                     "guessed from the values is a warning. A scene without "
                                     "its MTL file is scaled with standard constants and no "
                                     "sun-angle correction (a warning says so).")),
            (tr("Model"), tr("the 6-band model reads B2-B7 (every Landsat product, Level-1 or "
                             "Level-2, and stacks whose band names say so) and marks thick "
                             "cloud, thin cloud and cloud shadow; the 4-band model reads red, "
                             "green, blue and NIR from any input; the full-band model reads "
                             "B2-B7, cirrus B9 and thermal B10 of a Level-1 product. The last "
                             "two mark cloud only. The ensemble runs the 4-band and 6-band "
                             "models together: cloud where either finds it, each at its own "
                             "threshold, with the scene's thermal and snow tests. Automatic "
                             "takes the 4-band model with the scene's own thermal and snow "
                             "tests where the input has its thermal band B10 (Level-1 "
                             "products), the ensemble on Level-2 products with ST_B10, the "
                             "6-band model where the input has B2-B7 without a thermal band, "
                             "else the 4-band model; the full-band model runs only when "
                             "chosen. Physics only runs Fmask's tests "
                             "relative to the scene, without a network. Every model gets "
                             "cloud shadow by geometry: each cloud cast along the sun (the "
                             "MTL's angles, else the direction the scene shows) onto dark "
                             "pixels.")),
            (tr("Threshold"), _threshold_text(tr, thresholds)),
            (tr("Model file"), tr("a checkpoint saved by the training script, or an ONNX "
                                  "model (.onnx) whose cloud_fcn.* metadata says its bands, "
                                  "normalisation and classes (it needs ONNX Runtime, which "
                                  "the panel installs); it replaces the bundled model.")),
            (tr("Advanced"), tr("tile size and overlap in pixels (unset: the model's), tiles "
                                "per batch (more is faster on a GPU and needs more memory) "
                                "and the device; the device list shows which of CUDA, Apple "
                                "MPS and CPU are available, and the result says which one "
                                "ran; the scene-relative thermal and snow tests (where "
                                "measured to help, always, or off) and how cloud shadow is "
                                "found (by geometry, for every model, or the model's own "
                                "class).")),
        ],
    ])


def _finishing_section(tr: Translate) -> Section:
    return ("finishing", tr("Finishing the mask"), [
        [
            (tr("Classes to mask"), tr("which classes the four steps below act on: thick "
                                       "cloud, thin cloud and cloud shadow (all three unless "
                                       "you choose).")),
            (tr("Minimum cloud size"), tr("patches (4-connected) of the masked classes with "
                                          "fewer pixels become clear (GDAL sieve); 0 keeps "
                                          "every patch.")),
            (tr("Cloud buffer"), tr("the masked classes grow by this many pixels (every valid "
                                    "pixel within that distance takes the class of the "
                                    "nearest masked pixel), "
                                    "covering the fringes where masks leak; never into fill. "
                                    "The sieve comes first, then the buffer. Both change the "
                                    "cloud mask and the cloud cover; the log also gives the "
                                    "cover as detected.")),
            (tr("Masked image"), tr("optional GeoTIFF: the input with the masked classes and "
                                    "fill pixels "
                                    "set to nodata: every band of a raster, or the reflective "
                                    "30 m bands B1-B7 and B9 of a Landsat product as one stack "
                                    "with band names; the input's data type, its nodata value "
                                    "(else 0 for Landsat DN, NaN for reflectance).")),
            (tr("Cloud polygons"), tr("optional GeoPackage: one polygon per patch of a masked "
                                      "class in the input's CRS, with its class (1, 2, 3) and "
                                      "class_name, its pixels and its area in square "
                                      "metres (area_m2; in squared map units, field area, for "
                                      "a CRS that is not projected).")),
        ],
    ])


def _outputs_section(tr: Translate) -> Section:
    return ("outputs", tr("Outputs"), [
        [
            (tr("Cloud mask"), tr("single-band byte GeoTIFF on the input's grid, {values}; "
                                  "loaded with a light fill and a legend of the four classes "
                                  "(a cloud-only model writes 0, 1 and 255). Its "
                                  "name gives the model and threshold, its metadata "
                                  "(abstract) the device and cloud cover.")
             .replace("{values}", tr(MASK_VALUES_HELP))),
            (tr("Cloud probability"), tr("optional float32 GeoTIFF of the network's "
                                         "probabilities, 0 to 1: band 1 cloud (thick + thin), "
                                         "then thin cloud and cloud shadow where the model has "
                                         "those classes.")),
            (tr("Product QA band"), tr("Model \"Product QA band\" decodes the product's own "
                                       "QA_PIXEL or BQA into the same codes instead of running "
                                       "a network (product folders and their MTL only). After "
                                       "a network run on such a product, the log gives the QA "
                                       "band's cover beside the mask's and warns when they "
                                       "differ strongly.")),
            (tr("Cloud cover (%)"), tr("percentage of the valid pixels that are thick or thin "
                                       "cloud; Cloud shadow cover, Thick and Thin cloud cover "
                                       "and the product QA band's cloud cover (empty without "
                                       "one) are outputs too, usable "
                                       "by the next step of a model; the model, threshold and "
                                       "device used are outputs too.")),
            (None, tr("Outputs in the temporary folder are marked [temporary]: they are lost "
                      "when QGIS exits; save them with Export > Save As. The masked image is "
                      "named \"... without clouds\", the polygons \"... cloud polygons\".")),
        ],
    ])


def _shell_section(tr: Translate) -> Section:
    return ("shell", tr("From a shell"), [
        tr("On Debian and Ubuntu call qgis_process.bin: their qgis_process wrapper adds "
           "--noversioncheck, which the QGIS 3.22 binary refuses. Other installers: "
           "qgis_process."),
        ("code", README_COMMAND),
        tr("Choices are given by name or number: MODEL_CHOICE {models}; PRODUCT {products}; "
           "DEVICE {devices}.")
        .replace("{models}", choices_help(MODEL_CHOICES))
        .replace("{products}", choices_help(PRODUCT_CHOICES))
        .replace("{devices}", choices_help(DEVICE_CHOICES)),
    ])


def _closing_sections(tr: Translate) -> list[Section]:
    return [
        ("accuracy", tr("Accuracy"), [
            tr("Grouped cross-validation on the 31 labelled L8 Biome patches (no biome trained "
               "on in its own fold; threshold chosen out of fold), pooled over all pixels: "
               "6-band model cloud Jaccard 81.1 %, precision 88.9 %, recall 90.2 %, cloud "
               "shadow Jaccard 8.7 %; full-band model Jaccard 84.2 %, precision 90.1 %, recall "
               "92.8 %; 4-band model Jaccard 74.4 %, precision 77.1 %, recall 95.4 %. For "
               "comparison ukis-csmask scores 84.8 % (4-band) and 82.1 % (6-band) on the same "
               "patches. Check the mask on your own scenes."),
        ]),
        ("failures", tr("Known failure cases"), [
            tr("Snow and sea ice are called cloud by the 4-band model; the 6-band model clears "
               "snow that is dark in SWIR1 but still errs on snow that is bright in it; fields "
               "of small, dim cumulus over dark forest are mostly missed; cloud shadow is "
               "under-detected; thin cirrus and contrails over dark water are often missed; "
               "rasters much coarser than 30 to 120 m lose small clouds."),
        ]),
        ("cite", tr("How to cite"), [
            tr("Long, J., Shelhamer, E. and Darrell, T. (2015): Fully convolutional networks "
               "for semantic segmentation, CVPR 2015. Mohajerani, S. and Saeedi, P. (2019): "
               "Cloud-Net: an end-to-end cloud detection algorithm for Landsat 8 imagery, "
               "IGARSS 2019."),
        ]),
        ("licence", tr("Licence"), [
            tr("The plugin and its bundled weights are GPL-2.0-or-later. The weights were "
               "trained on 38-Cloud (Mohajerani and Saeedi, Apache-2.0) and the L8 Biome cloud "
               "masks (USGS, public domain)."),
        ]),
    ]


def sections(tr: Translate, thresholds: dict[str, float | None]) -> tuple[str, list[Section]]:
    """The help's introduction and sections, each string passed through ``tr``."""
    intro = tr("Finds clouds and cloud shadows in a Landsat 8 or 9 scene (Level-1, "
               "top-of-atmosphere or Level-2 surface reflectance) with a fully convolutional "
               "network and writes a mask on the same grid as the input (clear, thick cloud, "
               "thin cloud, cloud shadow), plus the cover of each class. The Detect clouds and "
               "shadows panel (toolbar button, or Raster > Cloud FCN > Detect clouds and "
               "shadows) runs this algorithm: the same checks, messages and history entries; "
               "where the input has a product QA band, the panel can load its mask beside the "
               "network's with one click.")
    return intro, [
        _input_section(tr),
        _parameters_section(tr, thresholds),
        _finishing_section(tr),
        _outputs_section(tr),
        _shell_section(tr),
        *_closing_sections(tr),
    ]


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _blocks_html(blocks: list) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, str):
            parts.append(f"<p>{_escape(block)}</p>")
        elif isinstance(block, tuple):
            parts.append(f"<p><code>{_escape(block[1])}</code></p>")
        else:
            rows = (
                f"<li><b>{_escape(term)}</b>: {_escape(text)}</li>" if term
                else f"<li>{_escape(text)}</li>"
                for term, text in block
            )
            parts.append("<ul>" + "".join(rows) + "</ul>")
    return "".join(parts)


def help_html(tr: Translate, thresholds: dict[str, float | None] | None = None) -> str:
    """The dialog's help (``shortHelpString``): ``<h3>`` sections, translated by ``tr``."""
    intro, body = sections(tr, bundled_thresholds() if thresholds is None else thresholds)
    return f"<p>{_escape(intro)}</p>" + "".join(
        f"<h3>{_escape(title)}</h3>{_blocks_html(blocks)}" for _, title, blocks in body
    )


PAGE_STYLE = (
    "body { font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.45; "
    "padding: 0 1em; }\nh1, h2 { font-weight: 600; }\ncode { background: #f2f2f2; "
    "padding: 0 .2em; }"
)


def help_page(thresholds: dict[str, float | None] | None = None) -> str:
    """The page the Help button opens, in English: the same sections as :func:`help_html`."""
    intro, body = sections(lambda text: text, bundled_thresholds() if thresholds is None
                           else thresholds)
    lines = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{TITLE}</title>", f"<style>\n{PAGE_STYLE}\n</style>", "</head>", "<body>",
        "<!-- Made by `make help` from cloud_fcn_plugin/processing/help_text.py: edit that. -->",
        f"<h1>{TITLE}</h1>", f"<p>{_escape(intro)}</p>",
    ]
    for anchor, title, blocks in body:
        lines += [f'<h2 id="{anchor}">{_escape(title)}</h2>', _blocks_html(blocks)]
    return "\n".join([*lines, "</body>", "</html>", ""])
