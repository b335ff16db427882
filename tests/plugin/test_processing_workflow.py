"""MIN_SIZE, BUFFER, MASKED_IMAGE and POLYGONS of ``cloud_fcn:detectclouds`` in real QGIS."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from qgis.core import (
    QgsApplication,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorDestination,
    QgsVectorLayer,
)

from cloud_fcn_plugin.compat import FLAG_ADVANCED
from tests.conftest import write_geotiff
from tests.plugin.model3 import (
    detection_model,
    from_child,
    model_output,
    saved_and_reloaded,
    static,
)
from tests.plugin.qgis_subprocess import QGIS_PROCESS, REPO_ROOT, profile_dir, qgis_env, run

pytestmark = [pytest.mark.qgis]

ALG = "cloud_fcn:detectclouds"
PIXEL = 30.0
WORKFLOW = ("MIN_SIZE", "BUFFER", "MASKED_IMAGE", "POLYGONS")


def _run(parameters: dict) -> dict:
    from qgis import processing

    return processing.run(ALG, parameters, feedback=QgsProcessingFeedback())


def _bright_scene(path: Path) -> Path:
    """TOA 0.1 everywhere; cloud (0.5) on a 1-pixel speck and a 4x4 block; fill below row 30."""
    bands = np.full((4, 40, 40), 0.1, np.float32)
    bands[:, 5, 5] = 0.5
    bands[:, 20:24, 20:24] = 0.5
    bands[:, 30:, :] = 0.0
    return write_geotiff(path, bands, descriptions=["B2", "B3", "B4", "B5"])


def _geopackage_with_roads(path: Path) -> None:
    from osgeo import ogr

    dataset = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = dataset.CreateLayer("roads", None, ogr.wkbPoint)
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetGeometry(ogr.CreateGeometryFromWkt("POINT (1 2)"))
    layer.CreateFeature(feature)
    dataset = None


def _layer_names(path: Path) -> list[str]:
    from osgeo import ogr

    dataset = ogr.Open(str(path))
    return sorted(dataset.GetLayer(i).GetName() for i in range(dataset.GetLayerCount()))


def _polygons(path: str | Path) -> list[dict]:
    layer = QgsVectorLayer(str(path), "clouds", "ogr")
    assert layer.isValid()
    return [
        {"pixels": f["pixels"], "area_m2": f["area_m2"], "area": f.geometry().area()}
        for f in layer.getFeatures()
    ]


class TestDefinition:
    def test_four_optional_visible_parameters_off_by_default(self, qgis_processing):
        alg = QgsApplication.processingRegistry().algorithmById(ALG)
        definitions = {key: alg.parameterDefinition(key) for key in WORKFLOW}
        assert all(d is not None for d in definitions.values())
        assert definitions["MIN_SIZE"].defaultValue() == 0
        # What GDAL's sieve takes: larger values are refused, never clamped (audit M1, H13).
        assert definitions["MIN_SIZE"].maximum() == 2**31 - 1
        assert not definitions["MIN_SIZE"].checkValueIsAcceptable(3_000_000_000)
        assert definitions["BUFFER"].defaultValue() == 0
        assert not any(d.flags() & FLAG_ADVANCED for d in definitions.values())
        # Optional, so that models saved before they existed still validate and run.
        assert all(d.flags() & d.FlagOptional for d in definitions.values())
        masked, polygons = definitions["MASKED_IMAGE"], definitions["POLYGONS"]
        assert isinstance(masked, QgsProcessingParameterRasterDestination)
        assert isinstance(polygons, QgsProcessingParameterVectorDestination)
        for destination in (masked, polygons):
            assert destination.flags() & destination.FlagOptional
            assert not destination.createByDefault()
        assert polygons.defaultFileExtension() == "gpkg"
        assert alg.provider().supportedOutputVectorLayerExtensions() == ["gpkg"]
        assert "Minimum cloud size" in alg.shortHelpString()


class TestHandComputed:
    def test_sieve_buffer_masked_image_and_polygons(self, qgis_processing, tiny_weights, tmp_path):
        scene = _bright_scene(tmp_path / "scene.tif")
        out = tmp_path / "out"
        out.mkdir()
        result = _run(
            {"INPUT": str(scene), "MODEL": str(tiny_weights), "PRODUCT": 2,
             "MIN_SIZE": 2, "BUFFER": 1, "OUTPUT": str(out / "mask.tif"),
             "MASKED_IMAGE": str(out / "masked.tif"), "POLYGONS": str(out / "clouds.gpkg")}
        )  # fmt: skip
        expected = np.zeros((40, 40), np.uint8)
        expected[19:25, 20:24] = 1  # the 4x4 block grown by one pixel (a Euclidean disk)
        expected[20:24, 19:25] = 1
        expected[30:] = 255  # the speck at (5, 5) was sieved
        with rasterio.open(out / "mask.tif") as src:
            np.testing.assert_array_equal(src.read(1), expected)
        assert result["CLOUD_COVER"] == pytest.approx(100 * 32 / 1200)
        assert result["MASKED_IMAGE"] == str(out / "masked.tif")
        assert result["POLYGONS"] == str(out / "clouds.gpkg")
        with rasterio.open(scene) as src, rasterio.open(out / "masked.tif") as masked:
            source, image = src.read(), masked.read()
            assert masked.descriptions == ("B2", "B3", "B4", "B5")
        assert np.isnan(image[:, expected != 0]).all()
        np.testing.assert_array_equal(image[:, expected == 0], source[:, expected == 0])
        assert _polygons(out / "clouds.gpkg") == [
            {"pixels": 32, "area_m2": 32 * PIXEL**2, "area": 32 * PIXEL**2}
        ]

    def test_left_out_they_change_nothing(self, qgis_processing, tiny_weights, tmp_path):
        scene = _bright_scene(tmp_path / "scene.tif")
        result = _run(
            {"INPUT": str(scene), "MODEL": str(tiny_weights), "PRODUCT": 2,
             "OUTPUT": str(tmp_path / "mask.tif")}
        )  # fmt: skip
        assert result["CLOUD_COVER"] == pytest.approx(100 * 17 / 1200)
        assert "MASKED_IMAGE" not in result and "POLYGONS" not in result
        assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.tif", "scene.tif"]

    def test_save_to_geopackage_destination_writes_that_file(
        self, qgis_processing, clean_project, tiny_weights, tmp_path
    ):
        from processing.gui.Postprocessing import handleAlgorithmResults
        from processing.tools import dataobjects
        from qgis.core import QgsProcessingOutputLayerDefinition

        scene = _bright_scene(tmp_path / "scene.tif")
        alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
        feedback = QgsProcessingFeedback()
        context = dataobjects.createContext(feedback)
        gpkg = tmp_path / "my clouds.gpkg"
        _geopackage_with_roads(gpkg)  # C3: its other layers must survive, as with native:buffer
        # What the dialog's "Save to GeoPackage..." gives.
        sink = f"ogr:dbname='{gpkg}' table=\"clouds_today\" (geom)"
        parameters = {
            "INPUT": str(scene),
            "MODEL": str(tiny_weights),
            "PRODUCT": 2,
            "OUTPUT": str(tmp_path / "mask.tif"),
            "POLYGONS": QgsProcessingOutputLayerDefinition(sink, clean_project),
        }
        results, ok = alg.run(parameters, context, feedback)  # fmt: skip
        assert ok, feedback.textLog()
        assert results["POLYGONS"] == str(gpkg)
        layer = f"{gpkg}|layername=clouds_today"  # the table given, not always "clouds"
        assert sorted(p["pixels"] for p in _polygons(layer)) == [1, 16]  # no sieve, no buffer
        assert _layer_names(gpkg) == ["clouds_today", "roads"]
        handleAlgorithmResults(alg, context, feedback, False, parameters)
        (loaded,) = clean_project.mapLayersByName("scene cloud polygons")
        assert loaded.source().endswith("layername=clouds_today")

    def test_shapefile_polygons_are_refused_before_any_work(
        self, qgis_processing, tiny_weights, tmp_path
    ):
        from qgis.core import QgsProcessingException

        scene = _bright_scene(tmp_path / "scene.tif")
        with pytest.raises(QgsProcessingException, match="gpkg"):
            _run(
                {"INPUT": str(scene), "MODEL": str(tiny_weights), "OUTPUT": str(tmp_path / "m.tif"),
                 "POLYGONS": str(tmp_path / "clouds.shp")}
            )  # fmt: skip
        assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]


@pytest.mark.data
class TestRealScenes:
    def test_product_folder_temporary_outputs_loaded_named_and_styled(
        self, qgis_processing, clean_project, toa_band_file, tiny_weights
    ):
        from processing.gui.Postprocessing import handleAlgorithmResults
        from processing.tools import dataobjects
        from qgis.core import QgsProcessingOutputLayerDefinition

        alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
        feedback = QgsProcessingFeedback()
        context = dataobjects.createContext(feedback)
        parameters = {"INPUT": str(toa_band_file), "MODEL": str(tiny_weights),
                      "MIN_SIZE": 3, "BUFFER": 2}  # fmt: skip
        for key in ("OUTPUT", "MASKED_IMAGE", "POLYGONS"):  # as the dialog does
            parameters[key] = QgsProcessingOutputLayerDefinition("TEMPORARY_OUTPUT", clean_project)
        results, ok = alg.run(parameters, context, feedback)
        assert ok, feedback.textLog()
        assert "before sieve and buffer" in feedback.textLog()
        handleAlgorithmResults(alg, context, feedback, False, parameters)
        with rasterio.open(results["OUTPUT"]) as src:
            mask = src.read(1)
        with rasterio.open(results["MASKED_IMAGE"]) as src:
            assert src.descriptions == (
                "B1 coastal", "B2 blue", "B3 green", "B4 red", "B5 nir", "B6 swir1",
                "B7 swir2", "B9 cirrus",
            )  # fmt: skip
            assert src.dtypes[0] == "float32"
            image, nodata = src.read(), src.nodata
        assert (mask == 1).any()
        masked = image[:, mask != 0]
        assert (np.isnan(masked) if np.isnan(nodata) else masked == nodata).all()
        polygons = _polygons(results["POLYGONS"])
        # Polygons of every masked class: thick cloud and the shadow the geometry adds.
        assert sum(p["pixels"] for p in polygons) == int(np.isin(mask, (1, 2, 3)).sum())
        for polygon in polygons:
            assert polygon["area_m2"] == pytest.approx(polygon["pixels"] * 120.0**2)
        stem = "LC80130312015295LGN00_B4_toa"
        names = [layer.name() for layer in clean_project.mapLayers().values()]
        # In Processing's temporary folder, marked as the panel marks them (issue 18, item 10).
        assert f"{stem} without clouds [temporary]" in names
        layers = clean_project.mapLayersByName(f"{stem} cloud polygons [temporary]")
        assert len(layers) == 1
        assert layers[0].crs().authid() == "EPSG:32618"
        renderer = layers[0].renderer()
        assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "class"
        assert [c.label() for c in renderer.categories()] == [
            "1 thick cloud", "2 thin cloud", "3 cloud shadow",
        ]  # fmt: skip
        for category in renderer.categories():
            fill = category.symbol().symbolLayer(0)
            assert 0 < fill.color().alpha() < 128  # a light fill
            assert fill.strokeColor().alpha() == 255  # the outline carries the colour

    @pytest.mark.slow
    def test_model3_buffers_then_measures_the_polygons(
        self, qgis_processing, toa_band_file, tiny_weights, tmp_path
    ):
        from qgis import processing

        model = saved_and_reloaded(
            _polygon_model(tiny_weights), tmp_path / "clouds_to_polygons.model3"
        )
        measured = tmp_path / "measured.gpkg"
        mask = tmp_path / "mask.tif"
        results = processing.run(
            model,
            {"scene": str(toa_band_file), "detect:mask": str(mask),
             "measure:measured": str(measured)},
            feedback=QgsProcessingFeedback(),
        )  # fmt: skip
        assert Path(results["measure:measured"].split("|")[0]) == measured
        layer = QgsVectorLayer(str(measured), "measured", "ogr")
        features = list(layer.getFeatures())
        assert features
        with rasterio.open(mask) as src:
            masked_pixels = int(np.isin(src.read(1), (1, 2, 3)).sum())
        # The optional POLYGONS output flowed into the next step, which measured each
        # polygon as the engine did.
        assert sum(f["pixels"] for f in features) == masked_pixels
        for feature in features:
            assert feature["area"] == pytest.approx(feature["area_m2"])


def _polygon_model(weights: Path) -> QgsProcessingModelAlgorithm:
    """Detect clouds with a sieve and buffer, then add geometry columns to the polygons."""
    model = detection_model("Clouds to measured polygons", weights, MIN_SIZE=3, BUFFER=1)
    measure = QgsProcessingModelChildAlgorithm("qgis:exportaddgeometrycolumns")
    measure.setChildId("measure")
    measure.addParameterSources("INPUT", [from_child("detect", "POLYGONS")])
    measure.addParameterSources("CALC_METHOD", [static(0)])  # the layer's CRS
    measure.setModelOutputs({"measured": model_output("measured", "measure", "OUTPUT")})
    model.addChildAlgorithm(measure)
    return model


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(shutil.which(QGIS_PROCESS) is None, reason="qgis_process is not installed")
def test_qgis_process_as_a_user_types_it(tmp_path, toa_band_file, tiny_weights):
    home = tmp_path / "home"
    home.mkdir()
    installed = run(
        [sys.executable, str(REPO_ROOT / "scripts" / "install_dev.py"),
         "--profile-dir", str(profile_dir(home))],
        qgis_env(home, hide_torch=False),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    out = tmp_path / "out"
    out.mkdir()
    result = run(
        [QGIS_PROCESS, "run", ALG, "--", f"INPUT={toa_band_file}", f"MODEL={tiny_weights}",
         "MIN_SIZE=3", "BUFFER=2", f"OUTPUT={out / 'mask.tif'}",
         f"MASKED_IMAGE={out / 'cloudfree.tif'}", f"POLYGONS={out / 'clouds.gpkg'}"],
        qgis_env(home, hide_torch=False),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"POLYGONS:\t{out / 'clouds.gpkg'}" in result.stdout
    assert f"MASKED_IMAGE:\t{out / 'cloudfree.tif'}" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["cloudfree.tif", "clouds.gpkg", "mask.tif"]
    with rasterio.open(out / "mask.tif") as src:
        masked_pixels = int(np.isin(src.read(1), (1, 2, 3)).sum())
    assert sum(p["pixels"] for p in _polygons(out / "clouds.gpkg")) == masked_pixels
