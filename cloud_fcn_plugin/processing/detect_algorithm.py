"""The ``cloud_fcn:detectclouds`` Processing algorithm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBand,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from ..common.choices import (
    BAND_ROLES,
    DEFAULT_STACK_BANDS,
    DEVICE_CHOICES,
    MASK_VALUES_HELP,
    MODEL_CHOICES,
    PRODUCT_CHOICES,
    device_code,
    model_code,
    product_code,
)
from ..common.engine_call import default_threshold, error_sentence, run_detection
from ..common.layer_input import describe_layer, resolve_bands
from ..common.style import mask_layer_name
from ..compat import FLAG_ADVANCED, NUMBER_DOUBLE, NUMBER_INTEGER
from ..engine.errors import CloudFcnError
from ..engine.params import MAX_TILE_SIZE, MIN_TILE_SIZE, DetectionParams
from ..engine.resources import resource_path
from .postprocess import MaskStyler

_HELP = """<p>Finds clouds in a Landsat 8/9 scene with a fully convolutional network and
writes a cloud mask on the same grid as the input.</p>
<h3>Parameters</h3>
<ul>
<li><b>Input raster</b>: a multi-band raster (for example a B2-B5 stack) or one band file
of a Landsat product folder (<i>*_B4.TIF</i>, <i>*_SR_B4.TIF</i>); for a band file the
red, green, blue and NIR files are found beside it by name and the band parameters are
ignored.</li>
<li><b>Red, green, blue and NIR bands</b>: the bands the network reads, in that order
(Landsat 8 bands B4, B3, B2 and B5). The defaults 3, 2, 1, 4 fit a B2-B5 stack; left at
these defaults they give way to the layer's own band descriptions ("B4", "Red",
"SR_B4").</li>
<li><b>Product level</b>: Level-1 digital numbers, top-of-atmosphere reflectance or
Level-2 surface reflectance; auto-detect reads the MTL file, band names and value
ranges.</li>
<li><b>Threshold</b>: cloud probability above which a pixel is called cloud; empty uses
the threshold calibrated with the model ({threshold}). Lower finds more thin cloud.</li>
<li><b>Model</b>: the 4-band model reads red, green, blue and NIR from any input; the
full-band model reads B2-B7, cirrus B9 and thermal B10 (a Level-1 product folder or its
MTL, or a stack whose band names say so). Automatic takes the full-band model only where
the input has its bands and it scored better under cross-validation. The log says which
model ran.</li>
<li><b>Model file</b>: a checkpoint saved by the training script; it replaces the bundled
model.</li>
<li><b>Advanced</b>: tile size and overlap in pixels (empty: the model's values),
tiles per batch (more is faster on a GPU and needs more memory), and the device.</li>
</ul>
<h3>Outputs</h3>
<ul>
<li><b>Cloud mask</b>: single-band byte GeoTIFF, {values}, styled when loaded.</li>
<li><b>Cloud probability</b> (optional): float32 GeoTIFF of the network's probability
0..1.</li>
<li><b>Cloud cover</b>: percentage of valid pixels that are cloud, usable by the next
step of a model.</li>
</ul>"""


def _tr(text: str) -> str:
    return QCoreApplication.translate("DetectCloudsAlgorithm", text)


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
    OUTPUT = "OUTPUT"
    PROBABILITY = "PROBABILITY"
    CLOUD_COVER = "CLOUD_COVER"
    BAND_KEYS = (RED, GREEN, BLUE, NIR)

    def createInstance(self) -> DetectCloudsAlgorithm:
        """Return a fresh instance, as Processing runs each execution on a copy."""
        return DetectCloudsAlgorithm()

    def name(self) -> str:
        """Return the fixed algorithm id."""
        return "detectclouds"

    def displayName(self) -> str:
        """Return the translated name shown in the toolbox."""
        return _tr("Detect clouds")

    def group(self) -> str:
        """Return the translated group name."""
        return _tr("Cloud detection")

    def groupId(self) -> str:
        """Return the fixed group id."""
        return "clouddetection"

    def shortHelpString(self) -> str:
        """Explain every parameter, the band order and the output values."""
        threshold, note = default_threshold()
        shown = f"{threshold:.3f}" if note is None else "0.5, as no bundled weights were found"
        return _tr(_HELP).replace("{threshold}", shown).replace("{values}", MASK_VALUES_HELP)

    def icon(self) -> QIcon:
        """Return the plugin icon."""
        return QIcon(str(resource_path("icons", "cloud_fcn.svg")))

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        """Declare the parameters and outputs."""
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, _tr("Input raster")))
        for key, role, default in zip(self.BAND_KEYS, BAND_ROLES, DEFAULT_STACK_BANDS, strict=True):
            self.addParameter(
                QgsProcessingParameterBand(
                    key, _tr(f"{role.capitalize()} band"), default, self.INPUT, optional=True
                )
            )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.PRODUCT,
                _tr("Product level"),
                options=[_tr(label) for _, label in PRODUCT_CHOICES],
                defaultValue=0,
            )
        )
        threshold = QgsProcessingParameterNumber(
            self.THRESHOLD,
            _tr("Threshold (empty: the model's calibrated threshold)"),
            NUMBER_DOUBLE,
            None,
            optional=True,
            minValue=0.001,
            maxValue=0.999,
        )
        self.addParameter(threshold)
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MODEL_CHOICE,
                _tr("Model"),
                options=[_tr(label) for _, label in MODEL_CHOICES],
                defaultValue=0,
                optional=True,  # models and scripts saved before it was added still run
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.MODEL,
                _tr("Model file (empty: the bundled model chosen above)"),
                optional=True,
                fileFilter="Cloud FCN weights (*.safetensors *.pt *.pth);;All files (*.*)",
            )
        )
        advanced = [
            QgsProcessingParameterNumber(
                self.TILE_SIZE, _tr("Tile size in pixels (empty: the model's)"),
                NUMBER_INTEGER, None, optional=True, minValue=MIN_TILE_SIZE,
                maxValue=MAX_TILE_SIZE,
            ),
            QgsProcessingParameterNumber(
                self.OVERLAP, _tr("Tile overlap in pixels (empty: the model's)"),
                NUMBER_INTEGER, None, optional=True, minValue=0,
            ),
            QgsProcessingParameterNumber(
                self.BATCH_SIZE, _tr("Tiles per batch"),
                NUMBER_INTEGER, 4, minValue=1, maxValue=256,
            ),
            QgsProcessingParameterEnum(
                self.DEVICE, _tr("Device"),
                options=[_tr(label) for _, label in DEVICE_CHOICES], defaultValue=0,
            ),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | FLAG_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, _tr("Cloud mask")))
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                self.PROBABILITY, _tr("Cloud probability"), optional=True, createByDefault=False
            )
        )
        self.addOutput(QgsProcessingOutputNumber(self.CLOUD_COVER, _tr("Cloud cover (%)")))

    def processAlgorithm(
        self,
        parameters: dict[str, Any],
        context: QgsProcessingContext,
        feedback: QgsProcessingFeedback,
    ) -> dict[str, Any]:
        """Build the run parameters, call the engine and report its result."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, self.INPUT))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        probability = self.parameterAsOutputLayer(parameters, self.PROBABILITY, context)
        try:
            params = self._params(parameters, context, layer, probability, feedback)
            source = describe_layer(layer)
            feedback.pushInfo(f"Reading {source.path}")
            result = run_detection(
                source.path,
                Path(output),
                params,
                progress=feedback.setProgress,
                is_canceled=feedback.isCanceled,
                log=feedback.pushInfo,
            )
        except CloudFcnError as exc:
            raise QgsProcessingException(error_sentence(exc)) from exc
        feedback.pushInfo(result.summary())
        if context.willLoadLayerOnCompletion(output):
            details = context.layerToLoadOnCompletionDetails(output)
            details.name = mask_layer_name(layer.name())
            details.forceName = True
            details.setPostProcessor(MaskStyler.create())
        results: dict[str, Any] = {self.OUTPUT: output, self.CLOUD_COVER: result.cloud_cover}
        if probability:
            results[self.PROBABILITY] = probability
        return results

    def _params(self, parameters, context, layer, probability, feedback) -> DetectionParams:
        """Turn the parameter values into the engine's frozen parameters."""
        chosen = tuple(
            self.parameterAsInt(parameters, key, context) or default
            for key, default in zip(self.BAND_KEYS, DEFAULT_STACK_BANDS, strict=True)
        )
        guess = describe_layer(layer)
        bands = resolve_bands(chosen, guess)
        if guess.is_product:
            feedback.pushInfo(f"Landsat product folder {guess.path.name}: bands found by name.")
        elif bands != chosen:
            feedback.pushInfo(f"Bands from the layer's band descriptions: {bands}.")
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
        )

    def _optional(self, parameters, key, context, *, integer: bool) -> float | int | None:
        """Return an optional number parameter, ``None`` when it is left empty."""
        value = parameters.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if integer:
            return self.parameterAsInt(parameters, key, context)
        return self.parameterAsDouble(parameters, key, context)
