"""Interactive threshold: a new threshold re-thresholds the last run's kept probability.

A panel run whose outputs are temporary also writes its cloud probability to a
temporary file. While the input and the model stay as they were, moving the
threshold (or changing the sieve or buffer) re-thresholds that probability in a
background task with the engine's own code (:func:`~..engine.outputs.rethreshold.rethreshold`)
and points the run's layers at the new files: no network run, no frozen QGIS. Any
other change (input, model, bands, product level, tiling) needs Run again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsDataProvider,
    QgsMapLayer,
    QgsProcessingUtils,
    QgsProject,
    QgsTask,
)

from ..common.choices import mask_class_words
from ..common.engine_call import error_sentence, user_sentence
from ..common.names import mask_layer_name, run_label
from ..common.run_group import RunGroup, unique_layer_name
from ..common.style import (
    describe_mask_band,
    mask_abstract,
    set_layer_abstract,
    style_mask_layer,
    style_masked_image,
    style_polygon_layer,
)
from ..engine.errors import CanceledError, CloudFcnError

#: Parameters that a re-threshold may change, or that do not change the probability.
FREE_KEYS = frozenset({
    "THRESHOLD", "MIN_SIZE", "BUFFER", "MASK_CLASSES", "OUTPUT", "MASKED_IMAGE", "POLYGONS",
    "PROBABILITY", "BATCH_SIZE", "DEVICE",
})


@dataclass(frozen=True)
class Finish:
    """What a re-threshold applies: threshold, sieve, buffer and the classes they act on.

    Attributes:
        mask_classes: the engine's ``"thick,thin"`` words, or ``None`` for the default.
    """

    threshold: float
    min_size: int = 0
    buffer: int = 0
    mask_classes: str | None = None

    @classmethod
    def of(cls, parameters: dict[str, Any], threshold: float) -> Finish:
        """The finish the algorithm parameters ``parameters`` ask for."""
        classes = parameters.get("MASK_CLASSES")
        return cls(round(float(parameters.get("THRESHOLD", threshold)), 3),
                   int(parameters.get("MIN_SIZE", 0)), int(parameters.get("BUFFER", 0)),
                   mask_class_words(classes) if classes else None)


def rerun_key(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters that, changed, make the kept probability stale (input, model...)."""
    return {key: value for key, value in parameters.items() if key not in FREE_KEYS}


@dataclass
class KeptRun:
    """What a finished panel run leaves for re-thresholding.

    Attributes:
        layer_id, layer_name: the input layer.
        input_path: the file or product folder the engine read.
        probability: the temporary float32 probability raster the run wrote.
        key: :func:`rerun_key` of the run's parameters.
        layers: output kind (``mask``, ``masked_image``, ``polygons``) -> layer id.
        group: the run's layer-tree group.
        model, device: what the run used (its ``USED_MODEL``, ``USED_DEVICE``).
        settings: the run's settings (:meth:`ParametersForm.run_settings`).
        shadow_threshold: the checkpoint's shadow threshold (``None``: the engine's).
        shown: the finish the layers show now.
        made_files: files earlier re-thresholds wrote (removed once replaced).
        notes: the run's warnings that a new threshold leaves true (all but the QA one).
        qa: the product QA band and its class counts (``engine_call.qa_counts_of``),
            ``None`` without one, :data:`NOT_READ` until the first re-threshold reads it.
    """

    layer_id: str
    layer_name: str
    input_path: Path
    probability: Path
    key: dict[str, Any]
    layers: dict[str, str]
    group: RunGroup
    model: str
    device: str
    settings: dict[str, Any]
    shadow_threshold: float | None
    shown: Finish
    made_files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    qa: Any = None

    def __post_init__(self) -> None:
        if self.qa is None:
            self.qa = NOT_READ


#: KeptRun.qa before the QA band was read.
NOT_READ = object()


class RethresholdTask(QgsTask):
    """Runs :func:`~..engine.outputs.rethreshold.rethreshold` off the GUI thread.

    ``done(task, ok)`` is called on the GUI thread when it ends; ``result`` holds the
    engine's ``DetectionResult`` and ``error`` the sentence of a failure.
    """

    def __init__(self, kept: KeptRun, wanted: Finish,
                 done: Callable[[RethresholdTask, bool], None]) -> None:
        super().__init__("Cloud FCN: re-threshold", QgsTask.Flag.CanCancel)
        self.kept, self.wanted, self._done = kept, wanted, done
        self.outputs = {kind: Path(QgsProcessingUtils.generateTempFilename(name))
                        for kind, name in (("mask", "mask.tif"), ("masked_image", "masked.tif"),
                                           ("polygons", "polygons.gpkg"))
                        if kind in kept.layers}
        self.result = None
        #: The product QA band against the new mask (``None`` without a QA band).
        self.comparison = None
        self.error = ""
        self.seconds = 0.0

    def run(self) -> bool:
        """Re-threshold (task thread)."""
        from ..common.engine_call import qa_comparison, qa_counts_of
        from ..engine.outputs.rethreshold import rethreshold
        from ..engine.params import DetectionParams

        wanted = self.wanted
        params = DetectionParams(
            threshold=wanted.threshold, min_size=wanted.min_size, buffer=wanted.buffer,
            shadow_threshold=self.kept.shadow_threshold,
            masked_image=self.outputs.get("masked_image"), polygons=self.outputs.get("polygons"),
            **({"mask_classes": wanted.mask_classes} if wanted.mask_classes else {}),
        )
        try:
            self.result = rethreshold(
                self.kept.probability, self.kept.input_path, self.outputs["mask"], params,
                model=self.kept.model, device=self.kept.device,
                progress=self.setProgress, is_canceled=self.isCanceled,
            )
        except CanceledError:
            return False
        except CloudFcnError as exc:
            self.error = user_sentence(exc)
            return False
        except Exception as exc:  # one sentence in the panel, never a traceback
            self.error = error_sentence(exc)
            return False
        self.seconds = self.result.seconds
        describe_mask_band(self.outputs["mask"])
        # The QA band's counts are read once per run; the comparison is the new mask's.
        try:
            if self.kept.qa is NOT_READ:
                self.kept.qa = qa_counts_of(self.kept.input_path)
            self.comparison = qa_comparison(self.kept.qa, self.result.class_pixels)
        except Exception:  # an unreadable QA band: the cover is still right
            self.kept.qa, self.comparison = None, None
        return True

    def finished(self, result: bool) -> None:
        """Hand the outcome to the panel (GUI thread)."""
        self._done(self, result)

    def detach(self) -> None:
        """Cancel and tell no one: the panel is going away (plugin unload)."""
        self._done = lambda _task, _ok: None
        self.cancel()


def swap_layers(task: RethresholdTask, project: QgsProject | None = None) -> QgsMapLayer | None:
    """Point the kept run's layers at the re-thresholded files; return the mask layer."""
    project = project or QgsProject.instance()
    kept, result, wanted = task.kept, task.result, task.wanted
    threshold = wanted.threshold
    settings = {**kept.settings, "min_size": wanted.min_size, "buffer": wanted.buffer}
    options = QgsDataProvider.ProviderOptions()
    mask = None
    for kind, path in task.outputs.items():
        layer = project.mapLayer(kept.layers[kind])
        if layer is None:
            continue
        if kind == "mask":
            name = mask_layer_name(kept.layer_name, kept.model, threshold, temporary=True,
                                   settings=settings)
            layer.setDataSource(str(path), name, "gdal", options)
            style_mask_layer(layer)
            set_layer_abstract(layer, mask_abstract(kept.layer_name, {
                "model": kept.model, "threshold": threshold, "device": kept.device,
                "cloud_cover": result.cloud_cover}, settings))
            layer.setName(unique_layer_name(name, layer, project))
            mask = layer
        elif kind == "masked_image":
            layer.setDataSource(str(path), layer.name(), "gdal", options)
            style_masked_image(layer, project.mapLayer(kept.layer_id))
        else:
            layer.setDataSource(str(path), layer.name(), "ogr", options)
            style_polygon_layer(layer)
        layer.triggerRepaint()
    kept.group.relabel(run_label(kept.model, threshold, settings), project)
    for old in kept.made_files:  # earlier re-thresholds' files: no layer reads them now
        with contextlib.suppress(OSError):
            old.unlink()
    kept.made_files = list(task.outputs.values())
    kept.shown = wanted
    return mask
