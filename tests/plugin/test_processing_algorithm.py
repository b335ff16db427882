"""``cloud_fcn:detectclouds`` through real QGIS Processing on the real scenes."""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProject,
    QgsRasterLayer,
)

from cloud_fcn_plugin.compat import FLAG_ADVANCED
from tests.plugin.model3 import (
    detection_model,
    from_child,
    from_parameter,
    model_output,
    saved_and_reloaded,
    static,
)

pytestmark = [pytest.mark.qgis, pytest.mark.data]

ALG = "cloud_fcn:detectclouds"
BAND_FILES = {
    "toa_120m": "LC80130312015295LGN00_B4_toa.tif",
    "l1_900m": "LC08_L1TP_016037_20170813_20170814_01_RT_B4.TIF",
    "sr_600m": "LC08_L2SP_001062_20201031_20201106_02_T2_SR_B4.TIF",
}


def _run(parameters: dict, feedback: QgsProcessingFeedback | None = None) -> dict:
    from qgis import processing

    return processing.run(ALG, parameters, feedback=feedback or QgsProcessingFeedback())


def _assert_same_grid(mask_path: str | Path, source: QgsRasterLayer) -> QgsRasterLayer:
    mask = QgsRasterLayer(str(mask_path), "mask", "gdal")
    assert mask.isValid()
    assert mask.crs() == source.crs()
    assert mask.width() == source.width() and mask.height() == source.height()
    assert mask.extent().toString(3) == source.extent().toString(3)
    assert mask.bandCount() == 1
    return mask


class TestDefinition:
    def test_parameters_help_and_outputs(self, qgis_processing):
        alg = QgsApplication.processingRegistry().algorithmById(ALG)
        assert alg.displayName() == "Detect clouds and shadows"
        names = [p.name() for p in alg.parameterDefinitions()]
        assert names[:5] == ["INPUT", "RED", "GREEN", "BLUE", "NIR"]
        # Unset bands follow the layer's band descriptions; set ones are used as given.
        assert [alg.parameterDefinition(k).defaultValue() for k in names[1:5]] == [None] * 4
        assert [alg.parameterDefinition(k).description() for k in names[1:5]] == [
            "Red band", "Green band", "Blue band", "NIR band"
        ]
        for definition in alg.parameterDefinitions():
            # Labels name the value; explanations go to the help, not into the label.
            assert "(empty" not in definition.description()
            assert ":" not in definition.description()
        advanced = {
            p.name()
            for p in alg.parameterDefinitions()
            if p.flags() & FLAG_ADVANCED
        }
        assert advanced == {"TILE_SIZE", "OVERLAP", "BATCH_SIZE", "DEVICE", "PHYSICS", "SHADOW"}
        assert "CLOUD_COVER" in [o.name() for o in alg.outputDefinitions()]
        help_text = alg.shortHelpString()
        for words in ("Red, green, blue and NIR", "Product level", "Threshold", "Model file",
                      "0 = clear, 1 = thick cloud, 2 = thin cloud, 3 = cloud shadow, 255 = no data",
                      "Cloud cover", "Classes to mask", "Product QA band", "Accuracy",
                      "Jaccard 84.2", "Known failure cases", "Long, J.", "Mohajerani",
                      "GPL-2.0-or-later"):
            assert words in help_text
        assert "\n" not in help_text  # sentences are not broken by hard line breaks
        assert alg.shortDescription()
        assert not alg.icon().isNull()

    def test_help_page_and_tags(self, qgis_processing):
        from qgis.PyQt.QtCore import QUrl

        alg = QgsApplication.processingRegistry().algorithmById(ALG)
        page = Path(QUrl(alg.helpUrl()).toLocalFile())
        assert page.name == "index.html" and page.is_file()
        assert "How to cite" in page.read_text(encoding="utf-8")
        tags = alg.tags()
        for tag in ("landsat", "cloud mask", "fmask", "segmentation"):
            assert tag in tags
        assert {"USED_THRESHOLD", "USED_MODEL", "USED_DEVICE"} <= {
            o.name() for o in alg.outputDefinitions()
        }


@pytest.mark.slow
class TestBounds:
    def test_tile_size_and_formats_are_bounded(self, qgis_processing):
        from cloud_fcn_plugin.engine.params import MAX_TILE_SIZE

        algorithm = QgsApplication.processingRegistry().algorithmById(ALG)
        assert algorithm.parameterDefinition("TILE_SIZE").maximum() == MAX_TILE_SIZE
        assert algorithm.provider().supportedOutputRasterLayerExtensions() == ["tif"]


class TestRun:
    @pytest.mark.parametrize("scene", sorted(BAND_FILES))
    def test_product_scene_gives_mask_on_the_input_grid(
        self, qgis_processing, scene_dirs, tiny_weights, tmp_path, scene
    ):
        band_file = scene_dirs[scene] / BAND_FILES[scene]
        source = QgsRasterLayer(str(band_file), scene, "gdal")
        output = tmp_path / "mask.tif"
        result = _run({"INPUT": str(band_file), "MODEL": str(tiny_weights), "OUTPUT": str(output)})
        assert result["OUTPUT"] == str(output)
        assert isinstance(result["CLOUD_COVER"], float)
        assert 0.0 <= result["CLOUD_COVER"] <= 100.0
        _assert_same_grid(output, source)

    def test_the_ensemble_by_name_on_a_level2_product(self, qgis_processing, scene_dirs, tmp_path):
        band_file = scene_dirs["sr_600m"] / BAND_FILES["sr_600m"]
        output = tmp_path / "mask.tif"
        result = _run({"INPUT": str(band_file), "MODEL_CHOICE": "ensemble", "OUTPUT": str(output)})
        assert result["USED_MODEL"] == "4-band + 6-band ensemble"
        _assert_same_grid(output, QgsRasterLayer(str(band_file), "sr", "gdal"))

    def test_stack_temporary_output_with_probability(
        self, qgis_processing, toa_stack, tiny_weights, tmp_path
    ):
        probability = tmp_path / "probability.tif"
        result = _run(
            {
                "INPUT": str(toa_stack),
                "MODEL": str(tiny_weights),
                "THRESHOLD": 0.3,
                "TILE_SIZE": 96,
                "OVERLAP": 8,
                "BATCH_SIZE": 2,
                "DEVICE": 1,
                "OUTPUT": "TEMPORARY_OUTPUT",
                "PROBABILITY": str(probability),
            }
        )
        source = QgsRasterLayer(str(toa_stack), "stack", "gdal")
        _assert_same_grid(result["OUTPUT"], source)
        _assert_same_grid(probability, source)
        assert result["CLOUD_COVER"] > 0.0

    def test_missing_nir_band_is_a_processing_exception(
        self, qgis_processing, scene_dirs, tiny_weights, tmp_path
    ):
        rgb = next(scene_dirs["rgb_30m"].glob("*.TIF"))
        output = tmp_path / "mask.tif"
        with pytest.raises(QgsProcessingException) as caught:
            _run({"INPUT": str(rgb), "MODEL": str(tiny_weights), "OUTPUT": str(output)})
        message = str(caught.value)
        assert "\n" not in message.strip() and "Traceback" not in message
        assert not output.exists()

    def test_output_that_is_the_input_is_refused(self, qgis_processing, toa_stack, tiny_weights):
        # Processing always passes overwrite: the engine still never writes over the input.
        before = toa_stack.read_bytes()
        with pytest.raises(QgsProcessingException) as caught:
            _run({"INPUT": str(toa_stack), "MODEL": str(tiny_weights), "OUTPUT": str(toa_stack)})
        message = str(caught.value)
        assert "destroy" in message and "\n" not in message.strip()
        assert toa_stack.read_bytes() == before

    def test_png_output_is_refused(self, qgis_processing, toa_stack, tiny_weights, tmp_path):
        output = tmp_path / "mask.png"
        with pytest.raises(QgsProcessingException, match="GeoTIFF"):
            _run({"INPUT": str(toa_stack), "MODEL": str(tiny_weights), "OUTPUT": str(output)})
        assert not output.exists()

    def test_cancel_after_first_progress_leaves_no_output(
        self, qgis_processing, toa_band_file, tiny_weights, tmp_path
    ):
        feedback = QgsProcessingFeedback()
        reports: list[float] = []

        def cancel(progress: float) -> None:
            reports.append(progress)
            feedback.cancel()

        feedback.progressChanged.connect(cancel)
        output = tmp_path / "out" / "mask.tif"
        output.parent.mkdir()
        with pytest.raises(QgsProcessingException, match="(?i)cancel"):
            _run(
                {"INPUT": str(toa_band_file), "MODEL": str(tiny_weights), "OUTPUT": str(output)},
                feedback,
            )
        assert reports
        assert list(output.parent.iterdir()) == []

    def test_output_is_loaded_named_and_styled(
        self, qgis_processing, clean_project, toa_band_file, tiny_weights
    ):
        from processing.gui.Postprocessing import handleAlgorithmResults
        from processing.tools import dataobjects

        alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
        feedback = QgsProcessingFeedback()
        context = dataobjects.createContext(feedback)
        parameters = {"INPUT": str(toa_band_file), "MODEL": str(tiny_weights),
                      "OUTPUT": "TEMPORARY_OUTPUT"}
        # What the algorithm dialog does: destinations flagged to load into the project.
        parameters = _load_outputs_in_project(alg, parameters, context)
        results, ok = alg.run(parameters, context, feedback)
        assert ok, feedback.textLog()
        handleAlgorithmResults(alg, context, feedback, False, parameters)
        layers = [
            layer for layer in clean_project.mapLayers().values()
            if layer.name().startswith("LC80130312015295LGN00_B4_toa clouds")
        ]
        assert len(layers) == 1
        # The name records model and threshold and that the file is temporary.
        assert layers[0].name() == (
            "LC80130312015295LGN00_B4_toa clouds (tiny.safetensors, 0.500) [temporary]"
        )
        abstract = layers[0].metadata().abstract()
        assert "threshold 0.500" in abstract and "on cpu" in abstract
        assert results["USED_DEVICE"] == "cpu" and results["USED_THRESHOLD"] == 0.5
        _assert_paletted_style(layers[0])

    def test_level_from_the_name_is_a_note_scaling_without_mtl_a_warning(
        self, qgis_processing, toa_band_file, scene_dirs, tiny_weights, tmp_path
    ):
        """Issue 18, item 9: the demo and product band files run without a warning."""

        class Recorder(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.warnings: list[str] = []

            def pushWarning(self, warning):
                self.warnings.append(warning)
                super().pushWarning(warning)

        feedback = Recorder()
        _run({"INPUT": str(toa_band_file), "MODEL": str(tiny_weights),
              "OUTPUT": str(tmp_path / "toa.tif")}, feedback)  # fmt: skip
        assert feedback.warnings == []
        # Worded for QGIS: no command-line codes.
        assert "choose another product level if this is wrong" in feedback.textLog()
        assert "(l1, toa or sr)" not in feedback.textLog()
        feedback = Recorder()
        sr_band = scene_dirs["sr_600m"] / BAND_FILES["sr_600m"]
        _run({"INPUT": str(sr_band), "MODEL": str(tiny_weights),
              "OUTPUT": str(tmp_path / "sr.tif")}, feedback)  # fmt: skip
        (warning,) = feedback.warnings
        assert "without MTL" in warning


@pytest.mark.slow
class TestBatchAndModel:
    def test_batch_of_two_scenes_as_the_batch_dialog_runs_it(
        self, qgis_processing, clean_project, scene_dirs, tiny_weights, tmp_path
    ):
        from processing.gui.Postprocessing import handleAlgorithmResults
        from processing.tools import dataobjects

        alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
        rows = [
            {"INPUT": str(scene_dirs[s] / BAND_FILES[s]), "MODEL": str(tiny_weights),
             "OUTPUT": str(tmp_path / f"{s}_mask.tif")}
            for s in ("toa_120m", "l1_900m")
        ]
        covers = []
        for row in rows:  # BatchAlgorithmDialog.runAlgorithm: a new context per row
            feedback = QgsProcessingFeedback()
            context = dataobjects.createContext(feedback)
            parameters = _load_outputs_in_project(alg, alg.preprocessParameters(row), context)
            results, ok = alg.run(parameters, context, feedback)
            assert ok, feedback.textLog()
            handleAlgorithmResults(alg, context, feedback, False, parameters)
            covers.append(results["CLOUD_COVER"])
        assert all(isinstance(c, float) for c in covers)
        masks = [lyr for lyr in clean_project.mapLayers().values() if " clouds (" in lyr.name()]
        assert len(masks) == 2
        for row in rows:
            assert Path(row["OUTPUT"]).is_file()

    def test_model3_chains_detection_with_other_algorithms(
        self, qgis_processing, toa_band_file, tiny_weights, tmp_path
    ):
        import rasterio
        from qgis import processing

        model = saved_and_reloaded(
            _cloud_model(tiny_weights), tmp_path / "clouds_then_cover_raster.model3"
        )
        report = tmp_path / "stats.html"
        cover_raster = tmp_path / "cover.tif"
        mask = tmp_path / "mask.tif"
        results = processing.run(
            model,
            {"scene": str(toa_band_file), "detect:mask": str(mask),
             "stats:statistics": str(report), "cover:cover_raster": str(cover_raster)},
            feedback=QgsProcessingFeedback(),
        )
        assert results["detect:mask"] == str(mask)
        assert report.is_file() and "Mean" in report.read_text()
        with rasterio.open(mask) as src:
            values = src.read(1)
        expected = 100.0 * (values == 1).sum() / (values != 255).sum()
        with rasterio.open(cover_raster) as src:
            value = float(src.read(1)[0, 0])
        # The cloud cover flowed from detectclouds' numeric output into the next step.
        assert value == pytest.approx(expected, abs=1e-3)


def _load_outputs_in_project(alg, parameters: dict, context: QgsProcessingContext) -> dict:
    """Mark destination outputs to be loaded, as the algorithm dialog does."""
    from qgis.core import QgsProcessingOutputLayerDefinition

    parameters = dict(parameters)
    for definition in alg.destinationParameterDefinitions():
        value = parameters.get(definition.name())
        if value:
            sink = QgsProcessingOutputLayerDefinition(value, QgsProject.instance())
            parameters[definition.name()] = sink
    return parameters


def _assert_paletted_style(layer: QgsRasterLayer) -> None:
    renderer = layer.renderer()
    assert renderer.type() == "paletted"
    classes = {c.value: c for c in renderer.classes()}
    # A light fill keeps the cloud texture visible; the legend shows the four classes.
    assert all(0 < classes[code].color.alpha() < 160 for code in (1, 2, 3))
    assert classes[0].color.alpha() == 0
    assert [(c.value, c.label) for c in renderer.classes()] == [
        (0, "0 clear"), (1, "1 thick cloud"), (2, "2 thin cloud"), (3, "3 cloud shadow"),
    ]  # fmt: skip


def _cloud_model(weights: Path) -> QgsProcessingModelAlgorithm:
    """Detect clouds, then raster statistics of the mask and a raster of the cloud cover."""
    model = detection_model("Clouds then statistics", weights)

    stats = QgsProcessingModelChildAlgorithm("native:rasterlayerstatistics")
    stats.setChildId("stats")
    stats.addParameterSources("INPUT", [from_child("detect", "OUTPUT")])
    stats.addParameterSources("BAND", [static(1)])
    stats.setModelOutputs({"statistics": model_output("statistics", "stats", "OUTPUT_HTML_FILE")})
    model.addChildAlgorithm(stats)

    cover = QgsProcessingModelChildAlgorithm("native:createconstantrasterlayer")
    cover.setChildId("cover")
    cover.addParameterSources("EXTENT", [from_child("detect", "OUTPUT")])
    cover.addParameterSources("TARGET_CRS", [from_parameter("scene")])
    cover.addParameterSources("PIXEL_SIZE", [static(2000)])
    cover.addParameterSources("OUTPUT_TYPE", [static(5)])  # Float32
    cover.addParameterSources("NUMBER", [from_child("detect", "CLOUD_COVER")])
    cover.setModelOutputs({"cover_raster": model_output("cover_raster", "cover", "OUTPUT")})
    model.addChildAlgorithm(cover)
    return model
