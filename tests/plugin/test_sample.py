"""The bundled demo scene as a new user meets it (issue 18, items 9 and 14)."""

from __future__ import annotations

import shutil

import pytest

from tests.plugin.qgis_subprocess import REPO_ROOT

pytestmark = pytest.mark.qgis

SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


@pytest.fixture()
def sample(tmp_path):
    """A copy of the sample with its default style: QGIS writes .aux.xml beside what it reads."""
    for source in (SAMPLE, SAMPLE.with_suffix(".qml")):
        shutil.copy(source, tmp_path / source.name)
    return tmp_path / SAMPLE.name


class Recorder:
    """A Processing feedback that keeps the warnings it is given."""

    @staticmethod
    def create():
        from qgis.core import QgsProcessingFeedback

        class _Recorder(QgsProcessingFeedback):
            def __init__(self):
                super().__init__()
                self.warnings: list[str] = []

            def pushWarning(self, warning):
                self.warnings.append(warning)
                super().pushWarning(warning)

        return _Recorder()


def test_the_sample_opens_in_true_colour(qgis_app, sample):
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(sample), "sample")  # as QGIS opens a file: default style too
    assert layer.isValid()
    renderer = layer.renderer()
    assert renderer.type() == "multibandcolor"
    channels = (renderer.redBand(), renderer.greenBand(), renderer.blueBand())
    names = [layer.dataProvider().generateBandName(band) for band in channels]
    descriptions = [layer.bandName(band) for band in channels]
    assert channels == (3, 2, 1), names
    assert [text.split(": ")[-1] for text in descriptions] == ["B4 red", "B3 green", "B2 blue"]
    for enhancement in (renderer.redContrastEnhancement(), renderer.blueContrastEnhancement()):
        assert 0.0 <= enhancement.minimumValue() < enhancement.maximumValue() < 1.0


def test_the_demo_runs_without_a_warning(qgis_processing, sample, tmp_path):
    from qgis import processing

    feedback = Recorder.create()
    results = processing.run(
        "cloud_fcn:detectclouds", {"INPUT": str(sample), "OUTPUT": str(tmp_path / "mask.tif")},
        feedback=feedback,
    )
    assert feedback.warnings == []
    assert "TOA reflectance, from the file name" in feedback.textLog()  # a note in the log
    # 5.66 in float32, 5.63 in bfloat16 (CPUs with AMX, see engine/models/bfloat16.py).
    assert 5.62 <= results["CLOUD_COVER"] <= 5.67
