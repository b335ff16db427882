"""The ``cloud_fcn:detectclouds`` Processing algorithm."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtGui import QIcon

from ..common.choices import (
    DEVICE_CHOICES,
    MASK_CLASS_CHOICES,
    MODEL_CHOICES,
    PHYSICS_CHOICES,
    PRODUCT_CHOICES,
    SHADOW_CHOICES,
    device_code,
    model_code,
    product_code,
)
from ..common.engine_call import (
    is_warning,
    qgis_wording,
    run_detection,
    user_sentence,
)
from ..common.engine_text import translate_engine
from ..common.layer_input import describe_layer, resolve_bands
from ..common.names import mask_layer_name, run_label
from ..common.run_group import RunGroup, run_settings
from ..common.style import describe_mask_band, mask_abstract
from ..compat import FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER
from ..engine.classes import THICK_CLOUD, THIN_CLOUD
from ..engine.errors import CloudFcnError
from ..engine.files.resources import resource_path
from ..engine.params import MAX_TILE_SIZE, MIN_TILE_SIZE, DetectionParams
from ..translation import tr
from .help_text import help_html
from .postprocess import MaskStyler, ProbabilityStyler
from .typed_values import choices_help, typed_values
from .workflow import (
    MASK_CLASSES,
    add_workflow_parameters,
    is_temporary,
    workflow_results,
    workflow_values,
)

#: Tags in every language: the toolbox finds "shadow" and "ombre" whatever QGIS speaks.
TAGS = (
    "landsat", "cloud mask", "cloud", "shadow", "cloud shadow", "shadow mask", "mask",
    "fmask", "segmentation", "deep learning", "fcn", "cloud cover", "qa band", "qa_pixel",
    "nuage", "nuages", "ombre", "ombres", "ombre de nuage", "masque", "masque de nuages",
    "couverture nuageuse",
)


class DetectCloudsAlgorithm(QgsProcessingAlgorithm):
    """Cloud mask and cloud cover of a Landsat 8/9 scene."""

    INPUT = "INPUT"
    RED = "RED"
    GREEN = "GREEN"
    BLUE = "BLUE"
    NIR = "NIR"
    PRODUCT = "PRODUCT"
    THRESHOLD = "THRESHOLD"
    MODEL = "MODEL"
    MODEL_CHOICE = "MODEL_CHOICE"
    TILE_SIZE = "TILE_SIZE"
    OVERLAP = "OVERLAP"
    BATCH_SIZE = "BATCH_SIZE"
    DEVICE = "DEVICE"
    PHYSICS = "PHYSICS"
    SHADOW = "SHADOW"
    OUTPUT = "OUTPUT"
    PROBABILITY = "PROBABILITY"
    CLOUD_COVER = "CLOUD_COVER"
    SHADOW_COVER = "SHADOW_COVER"
    THICK_CLOUD_COVER = "THICK_CLOUD_COVER"
    THIN_CLOUD_COVER = "THIN_CLOUD_COVER"
    QA_CLOUD_COVER = "QA_CLOUD_COVER"
    USED_THRESHOLD = "USED_THRESHOLD"
    USED_MODEL = "USED_MODEL"
    USED_DEVICE = "USED_DEVICE"
    BAND_KEYS = (RED, GREEN, BLUE, NIR)
    #: Choices qgis_process and scripts may give by name (MODEL_CHOICE=fullband).
    NAMED_CHOICES: ClassVar[dict[str, tuple]] = {
        PRODUCT: PRODUCT_CHOICES, MODEL_CHOICE: MODEL_CHOICES, DEVICE: DEVICE_CHOICES,
        MASK_CLASSES: MASK_CLASS_CHOICES, PHYSICS: PHYSICS_CHOICES, SHADOW: SHADOW_CHOICES,
    }

    def createInstance(self) -> DetectCloudsAlgorithm:
        """Return a fresh instance, as Processing runs each execution on a copy."""
        return DetectCloudsAlgorithm()

    def name(self) -> str:
        """Return the fixed algorithm id."""
        return "detectclouds"

    def displayName(self) -> str:
        """Return the translated name shown in the toolbox."""
        return tr("Detect clouds and shadows")

    def group(self) -> str:
        """Return the translated group name."""
        return tr("Cloud detection")

    def groupId(self) -> str:
        """Return the fixed group id."""
        return "clouddetection"

    def shortHelpString(self) -> str:
        """Explain the parameters, outputs, accuracy, failure cases, citation and licence."""
        return help_html(tr)

    def shortDescription(self) -> str:
        """Return the one-line description shown in the toolbox's tooltip."""
        return tr("Cloud and cloud shadow mask, and cloud cover, of a Landsat 8/9 scene by a "
                  "neural network.")

    def helpUrl(self) -> str:
        """Return the help page shipped with the plugin."""
        return QUrl.fromLocalFile(str(resource_path("help", "index.html"))).toString()

    def tags(self) -> list[str]:
        """Return the words that find the algorithm in the toolbox's search."""
        # Each word on its own so make i18n finds it; the English and French ones find it in
        # any language (the toolbox searches the tags as well as the name).
        words = [tr("landsat"), tr("cloud mask"), tr("cloud"), tr("shadow"), tr("cloud shadow"),
                 tr("shadow mask"), tr("mask"), tr("fmask"), tr("segmentation"),
                 tr("deep learning"), tr("fcn"), tr("cloud cover"), tr("qa band")]
        return list(dict.fromkeys(words + list(TAGS)))

    def icon(self) -> QIcon:
        """Return the plugin icon."""
        return QIcon(str(resource_path("icons", "cloud_fcn.svg")))

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        source = QgsProcessingParameterRasterLayer(self.INPUT, tr("Input raster"))
        source.setHelp(tr("A multi-band raster, one band file of a Landsat product folder, "
                          "or the product's *_MTL.txt file or folder."))
        self.addParameter(source)
        labels = (tr("Red band"), tr("Green band"), tr("Blue band"), tr("NIR band"))
        for key, label in zip(self.BAND_KEYS, labels, strict=True):
            # No default: unset, the bands follow the layer's band descriptions.
            band = QgsProcessingParameterBand(key, label, None, self.INPUT, optional=True)
            band.setHelp(tr("Unset: from the layer's band descriptions, else 3, 2, 1, 4; "
                            "ignored for a product's MTL file or folder (its band files are "
                            "found by name)."))
            band.setMetadata(band_widget_metadata())
            self.addParameter(band)
        self.addParameter(
            _named_enum(self.PRODUCT, tr("Product level"), PRODUCT_CHOICES, defaultValue=0)
        )
        threshold = QgsProcessingParameterNumber(
            self.THRESHOLD,
            tr("Threshold"),
            NUMBER_DOUBLE,
            None,
            optional=True,
            minValue=0.001,
            maxValue=0.999,
        )
        threshold.setHelp(tr("Unset: the threshold calibrated with the model."))
        self.addParameter(threshold)
        self.addParameter(
            _named_enum(
                self.MODEL_CHOICE, tr("Model"), MODEL_CHOICES, defaultValue=0,
                optional=True,  # models and scripts saved before it was added still run
            )
        )
        model_file = QgsProcessingParameterFile(
            self.MODEL,
            tr("Model file"),
            optional=True,
            fileFilter=tr("Cloud FCN models (*.safetensors *.onnx *.pt *.pth);;All files (*.*)"),
        )
        model_file.setHelp(tr("Unset: the bundled model chosen with Model."))
        self.addParameter(model_file)
        advanced = [
            QgsProcessingParameterNumber(
                self.TILE_SIZE, tr("Tile size (pixels)"),
                NUMBER_INTEGER, None, optional=True, minValue=MIN_TILE_SIZE,
                maxValue=MAX_TILE_SIZE,
            ),
            QgsProcessingParameterNumber(
                self.OVERLAP, tr("Tile overlap (pixels)"),
                NUMBER_INTEGER, None, optional=True, minValue=0,
            ),
            QgsProcessingParameterNumber(
                self.BATCH_SIZE, tr("Tiles per batch"),
                NUMBER_INTEGER, 4, minValue=1, maxValue=256,
            ),
            _named_enum(self.DEVICE, tr("Device"), DEVICE_CHOICES, defaultValue=0),
            # Optional: graphical models saved before these existed still run, as automatic.
            _named_enum(
                self.PHYSICS, tr("Scene-relative thermal and snow tests"), PHYSICS_CHOICES,
                defaultValue=0, optional=True,
            ),
            _named_enum(
                self.SHADOW, tr("Cloud shadow"), SHADOW_CHOICES, defaultValue=0, optional=True
            ),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, tr("Cloud mask")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.PROBABILITY, tr("Cloud probability"), optional=True, createByDefault=False
            )
        )
        add_workflow_parameters(self)  # MIN_SIZE, BUFFER, MASKED_IMAGE, POLYGONS
        self.addOutput(QgsProcessingOutputNumber(self.CLOUD_COVER, tr("Cloud cover (%)")))
        self.addOutput(QgsProcessingOutputNumber(self.SHADOW_COVER, tr("Cloud shadow cover (%)")))
        self.addOutput(
            QgsProcessingOutputNumber(self.THICK_CLOUD_COVER, tr("Thick cloud cover (%)"))
        )
        self.addOutput(QgsProcessingOutputNumber(self.THIN_CLOUD_COVER, tr("Thin cloud cover (%)")))
        self.addOutput(
            QgsProcessingOutputNumber(self.QA_CLOUD_COVER, tr("Product QA band cloud cover (%)"))
        )
        self.addOutput(QgsProcessingOutputNumber(self.USED_THRESHOLD, tr("Threshold used")))
        self.addOutput(QgsProcessingOutputString(self.USED_MODEL, tr("Model used")))
        self.addOutput(QgsProcessingOutputString(self.USED_DEVICE, tr("Device used")))

    def _typed(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Choice names as indices, a product's MTL or folder as its band file.

        Raises:
            CloudFcnError: a name that is no choice, or a product that cannot be read.
        """
        return typed_values(parameters, self.INPUT, self.NAMED_CHOICES)

    def preprocessParameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Accept what users type (see :meth:`_typed`); a bad value is left for the check."""
        try:
            return self._typed(parameters)
        except CloudFcnError:
            return parameters

    def checkParameterValues(
        self, parameters: dict[str, Any], context: QgsProcessingContext
    ) -> tuple[bool, str]:
        """Check the values as Processing does, after accepting names and products."""
        try:
            values = self._typed(parameters)
        except CloudFcnError as exc:
            return False, user_sentence(exc)
        return super().checkParameterValues(values, context)

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        """Build the run parameters, call the engine and report its result."""
        try:
            parameters = self._typed(parameters)
        except CloudFcnError as exc:
            raise QgsProcessingException(user_sentence(exc)) from exc
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        probability = self.parameterAsOutputLayer(parameters, self.PROBABILITY, context)
        try:
            params = self._params(parameters, context, layer, probability, feedback)
            params = replace(params, **workflow_values(self, parameters, context))
            source = describe_layer(layer)
            feedback.pushInfo(tr("Reading {path}").format(path=source.path))
            result = run_detection(
                source.path,
                Path(output),
                params,
                progress=feedback.setProgress,
                is_canceled=feedback.isCanceled,
                log=lambda message: _report(feedback, message),
            )
        except QgsProcessingException:
            raise
        except Exception as exc:  # engine errors, and the last resort: one line, no traceback
            raise QgsProcessingException(user_sentence(exc)) from exc
        feedback.pushInfo(run_summary(result))
        describe_mask_band(output)  # its legend in the user's language
        # Sieve, buffer, bands and tiling name and describe the outputs; one group holds
        # them, as the panel places its runs (common/run_group.py).
        settings = run_settings(params)
        group = RunGroup(layer.name(), run_label(result.model, result.threshold, settings))
        if context.willLoadLayerOnCompletion(output):
            details = context.layerToLoadOnCompletionDetails(output)
            details.name = mask_layer_name(
                layer.name(), result.model, result.threshold, temporary=is_temporary(output),
                settings=settings,
            )
            details.forceName = True
            details.setPostProcessor(
                MaskStyler.create(mask_abstract(layer.name(), result, settings), group)
            )
        results: dict[str, Any] = {
            self.OUTPUT: output,
            self.CLOUD_COVER: result.cloud_cover,
            self.SHADOW_COVER: result.shadow_cover,
            self.THICK_CLOUD_COVER: result.class_cover(THICK_CLOUD),
            self.THIN_CLOUD_COVER: result.class_cover(THIN_CLOUD),
            self.QA_CLOUD_COVER: (
                None if result.qa_comparison is None else result.qa_comparison.qa.cloud_cover
            ),
            self.USED_THRESHOLD: result.threshold,
            self.USED_MODEL: result.model,
            self.USED_DEVICE: result.device,
        }
        if probability:
            results[self.PROBABILITY] = probability
            if context.willLoadLayerOnCompletion(probability):
                details = context.layerToLoadOnCompletionDetails(probability)
                details.setPostProcessor(ProbabilityStyler.create())
        results.update(workflow_results(context, layer.name(), result, group, layer.id()))
        return results

    def _params(self, parameters, context, layer, probability, feedback) -> DetectionParams:
        """Turn the parameter values into the engine's frozen parameters."""
        chosen = tuple(
            self.parameterAsInt(parameters, key, context) or None
            if _is_set(parameters.get(key)) else None
            for key in self.BAND_KEYS
        )
        guess = describe_layer(layer)
        bands = resolve_bands(chosen, guess)
        if guess.is_product:
            feedback.pushInfo(tr("Landsat product folder {folder}: bands found by name.")
                              .format(folder=guess.path.name))
        elif bands != chosen and guess.bands is not None:
            feedback.pushInfo(tr("Bands from the layer's band descriptions: {bands}.")
                              .format(bands=bands))
        model = self.parameterAsFile(parameters, self.MODEL, context)
        return DetectionParams(
            bands=bands,
            product=product_code(self.parameterAsEnum(parameters, self.PRODUCT, context)),
            threshold=self._optional(parameters, self.THRESHOLD, context, integer=False),
            weights=Path(model) if model else None,
            model=model_code(self.parameterAsEnum(parameters, self.MODEL_CHOICE, context)),
            tile_size=self._optional(parameters, self.TILE_SIZE, context, integer=True),
            overlap=self._optional(parameters, self.OVERLAP, context, integer=True),
            batch_size=self.parameterAsInt(parameters, self.BATCH_SIZE, context),
            device=device_code(self.parameterAsEnum(parameters, self.DEVICE, context)),
            probability=Path(probability) if probability else None,
            overwrite=True,  # Processing asked the user already, or made a temporary name.
            physics=self._choice(parameters, self.PHYSICS, PHYSICS_CHOICES, context),
            shadow=self._choice(parameters, self.SHADOW, SHADOW_CHOICES, context),
        )

    def _choice(self, parameters, key, choices, context) -> str:
        """The engine code of an optional enum parameter, the first choice when unset."""
        if not _is_set(parameters.get(key)):
            return choices[0][0]
        return choices[self.parameterAsEnum(parameters, key, context)][0]

    def _optional(self, parameters, key, context, *, integer: bool) -> float | int | None:
        """Return an optional number parameter, ``None`` when it is left empty."""
        if not _is_set(parameters.get(key)):
            return None
        if integer:
            return self.parameterAsInt(parameters, key, context)
        return self.parameterAsDouble(parameters, key, context)


def band_widget_metadata() -> dict:
    """The band parameters' widget: QGIS's, but quiet for an MTL input (band_wrapper.py).

    Named by its import path (parameter metadata must stay plain values); none where QGIS
    has no Python widget wrappers (qgis_process, QGIS 4): QGIS's own widget then.
    """
    try:
        from . import band_wrapper
    except ImportError:
        return {}
    return {"widget_wrapper": {
        "class": f"{band_wrapper.__name__}.{band_wrapper.ProductAwareBandWrapper.__name__}",
    }}


def _named_enum(key: str, label: str, choices, **kwargs) -> QgsProcessingParameterEnum:
    """An enum parameter whose help lists the names and numbers a user may type."""
    parameter = QgsProcessingParameterEnum(
        key, label, options=[tr(text) for _, text in choices], **kwargs
    )
    parameter.setHelp(
        tr("In qgis_process and scripts, by name or number: {values}.")
        .replace("{values}", choices_help(choices))
    )
    return parameter


def _is_set(value: Any) -> bool:
    """Tell whether an optional parameter was given (not None, not an empty string)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


def _report(feedback: QgsProcessingFeedback, message: str) -> None:
    """Pass an engine note on, in the user's language: warnings (no MTL, guessed level,
    a QA band that disagrees) as Processing warnings."""
    english = qgis_wording(message)
    warning = is_warning(english)  # decided on the engine's own words
    message = translate_engine(english)
    record = getattr(feedback, "record_engine_message", None)
    if record is not None:  # the panel's feedback keeps both (gui/runner.py)
        record(english, message)
    if warning:
        feedback.pushWarning(message)
    else:
        feedback.pushInfo(message)


def run_summary(result) -> str:
    """The run's one log line in the user's language (the engine's ``summary()``, worded
    for QGIS): cover of each class, pixels, time, device, level, model and threshold."""
    threshold = result.threshold
    text = tr("Cloud cover {cover:.2f} %, shadow {shadow:.2f} % of {valid:,} valid pixels "
              "({width}x{height}; thick cloud {thick:.1f} %, thin cloud {thin:.1f} %), "
              "{seconds:.1f} s on {device}, product {product}, {model}").format(
        cover=result.cloud_cover, shadow=result.shadow_cover, valid=result.valid_pixels,
        width=result.width, height=result.height, thick=result.class_cover(THICK_CLOUD),
        thin=result.class_cover(THIN_CLOUD), seconds=result.seconds, device=result.device,
        product=result.product, model=translate_engine(result.model or "given model"))
    if threshold == threshold:  # NaN: the product QA band, decoded as it is
        text += tr(", threshold {threshold:.3f}").format(threshold=threshold)
    if result.detected_cloud_cover is not None:
        text += tr(" ({cover:.2f} % before sieve and buffer)").format(
            cover=result.detected_cloud_cover)
    return text + "."
