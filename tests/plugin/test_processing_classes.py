"""Classes, the product QA band and their outputs in ``cloud_fcn:detectclouds`` (real QGIS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterEnum,
    QgsRasterLayer,
    QgsVectorLayer,
)

from cloud_fcn_plugin.engine.scene.qa_band import C1, decode_qa
from tests.conftest import write_geotiff

pytestmark = [pytest.mark.qgis]

ALG = "cloud_fcn:detectclouds"
NAME = "LC08_L1TP_016037_20170813_20170814_01_T1"
HIGH = 3  # a two-bit confidence of "high"


def _run(parameters: dict) -> dict:
    from qgis import processing

    return processing.run(ALG, parameters, feedback=QgsProcessingFeedback())


def _product(folder: Path) -> Path:
    """A Collection 1 product: a thick cloud block, a cirrus block and a shadow block."""
    folder.mkdir()
    qa = np.full((30, 30), 2720, np.uint16)  # clear: low confidences everywhere
    qa[2:8, 2:8] = HIGH << 5  # cloud
    qa[12:16, 2:8] = HIGH << 11  # cirrus
    qa[20:26, 20:26] = HIGH << 7  # shadow
    qa[:, -2:] = 1  # fill
    for band in (2, 3, 4, 5):
        write_geotiff(folder / f"{NAME}_B{band}.TIF", np.full((1, 30, 30), 8000, np.uint16))
    write_geotiff(folder / f"{NAME}_BQA.TIF", qa[None])
    return folder / f"{NAME}_B4.TIF"


class TestDefinition:
    def test_mask_classes_and_class_covers(self, qgis_processing):
        alg = QgsApplication.processingRegistry().algorithmById(ALG)
        classes = alg.parameterDefinition("MASK_CLASSES")
        assert isinstance(classes, QgsProcessingParameterEnum)
        assert classes.allowMultiple() and classes.flags() & classes.FlagOptional
        assert classes.options() == ["Thick cloud", "Thin cloud", "Cloud shadow"]
        assert classes.defaultValue() == [0, 1, 2]
        outputs = [o.name() for o in alg.outputDefinitions()]
        for name in ("CLOUD_COVER", "SHADOW_COVER", "THICK_CLOUD_COVER", "THIN_CLOUD_COVER",
                     "QA_CLOUD_COVER"):  # fmt: skip
            assert name in outputs
        model = alg.parameterDefinition("MODEL_CHOICE")
        assert "Product QA band (QA_PIXEL or BQA, no network)" in model.options()


class TestProductQaBand:
    def test_qa_model_by_name_decodes_the_band(self, qgis_processing, tmp_path):
        band = _product(tmp_path / NAME)
        out = tmp_path / "mask.tif"
        result = _run({"INPUT": str(band), "MODEL_CHOICE": "qa", "OUTPUT": str(out)})
        qa_file = tmp_path / NAME / f"{NAME}_BQA.TIF"
        with rasterio.open(out) as dataset, rasterio.open(qa_file) as qa:
            np.testing.assert_array_equal(dataset.read(1), decode_qa(qa.read(1), C1))
        valid = 30 * 28
        assert result["THICK_CLOUD_COVER"] == pytest.approx(100 * 36 / valid)
        assert result["THIN_CLOUD_COVER"] == pytest.approx(100 * 24 / valid)
        assert result["CLOUD_COVER"] == pytest.approx(100 * 60 / valid)
        assert result["SHADOW_COVER"] == pytest.approx(100 * 36 / valid)
        assert result["USED_MODEL"] == "product QA band"

    def test_masked_classes_choose_the_polygons(self, qgis_processing, tmp_path):
        band = _product(tmp_path / NAME)
        polygons = tmp_path / "shadow.gpkg"
        _run({"INPUT": str(band), "MODEL_CHOICE": "qa", "MASK_CLASSES": [2], "BUFFER": 1,
              "OUTPUT": str(tmp_path / "mask.tif"), "POLYGONS": str(polygons)})  # fmt: skip
        layer = QgsVectorLayer(str(polygons), "shadow", "ogr")
        assert layer.isValid()
        features = list(layer.getFeatures())
        assert [(f["class"], f["class_name"]) for f in features] == [(3, "cloud shadow")]
        assert features[0]["pixels"] == 8 * 8 - 4  # the 6x6 block grown by a 1 px disk

    def test_no_qa_band_is_one_sentence(self, qgis_processing, tmp_path):
        stack = write_geotiff(tmp_path / "stack.tif", np.full((4, 8, 8), 0.1, np.float32))
        with pytest.raises(QgsProcessingException, match="has no product QA band"):
            _run({"INPUT": str(stack), "MODEL_CHOICE": "qa", "OUTPUT": str(tmp_path / "m.tif")})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.tif"]


class TestTypedNames:
    @pytest.mark.parametrize(("typed", "expected"), [("shadow", [3]), ("thick,shadow", [1, 3])])
    def test_mask_classes_by_name(self, qgis_processing, tmp_path, typed, expected):
        band = _product(tmp_path / NAME)
        polygons = tmp_path / "p.gpkg"
        _run({"INPUT": str(band), "MODEL_CHOICE": "qa", "MASK_CLASSES": typed,
              "OUTPUT": str(tmp_path / "mask.tif"), "POLYGONS": str(polygons)})  # fmt: skip
        layer = QgsVectorLayer(str(polygons), "p", "ogr")
        assert sorted({f["class"] for f in layer.getFeatures()}) == expected

    def test_unknown_class_name_says_which_exist(self, qgis_processing, tmp_path):
        band = _product(tmp_path / NAME)
        with pytest.raises(QgsProcessingException, match=r"thick \(0\), thin \(1\), shadow"):
            _run({"INPUT": str(band), "MODEL_CHOICE": "qa", "MASK_CLASSES": "thick,fog",
                  "OUTPUT": str(tmp_path / "mask.tif")})  # fmt: skip


class TestProbabilityLayer:
    def test_loaded_probability_is_drawn_as_its_cloud_band(
        self, qgis_processing, tiny_weights, tmp_path
    ):
        from qgis.core import QgsProcessingContext, QgsProject

        from cloud_fcn_plugin.processing.postprocess import ProbabilityStyler

        stack = write_geotiff(tmp_path / "stack.tif", np.full((4, 40, 40), 0.1, np.float32),
                              descriptions=["B2", "B3", "B4", "B5"])  # fmt: skip
        probability = tmp_path / "p.tif"
        from qgis import processing

        context = QgsProcessingContext()
        context.setProject(QgsProject.instance())
        processing.run(
            ALG, {"INPUT": str(stack), "MODEL": str(tiny_weights), "PROBABILITY": str(probability),
                  "OUTPUT": str(tmp_path / "m.tif")},
            context=context, feedback=QgsProcessingFeedback(),
        )  # fmt: skip
        layer = QgsRasterLayer(str(probability), "p", "gdal")
        ProbabilityStyler.create().postProcessLayer(layer, context, QgsProcessingFeedback())
        assert layer.renderer().type() == "singlebandgray" and layer.renderer().grayBand() == 1
        assert layer.renderer().contrastEnhancement().maximumValue() == 1.0
