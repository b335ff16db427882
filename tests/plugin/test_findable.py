"""The tool is found by what it does, in English and French (review defect 6, 5's "ombre").

The review searched the Processing toolbox for "shadow", "cloud shadow" and "ombre" and
found nothing: the tool was "Detect clouds" with no shadow tag. Here QGIS's own toolbox
model and filter (what the search box drives) are asked, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from qgis.core import QgsApplication

from cloud_fcn_plugin import translation

pytestmark = pytest.mark.qgis

ALG = "cloud_fcn:detectclouds"
SEARCHES = ("shadow", "cloud shadow", "ombre", "ombre de nuage", "nuage", "masque", "cloud mask",
            "landsat", "detect clouds and shadows")


@pytest.fixture(params=["en", "fr"])
def language(request, qgis_app) -> Iterator[str]:
    translator = translation.PluginTranslator()
    if request.param == "fr" and translator.install("fr") is None:
        pytest.skip("cloud_fcn_fr.qm is not compiled: `make i18n`")
    yield request.param
    translator.remove()


def _found(search: str) -> set[str]:
    """Algorithm ids the toolbox lists for ``search`` (QGIS's own toolbox filter)."""
    from qgis.gui import QgsProcessingToolboxProxyModel

    model = QgsProcessingToolboxProxyModel(None, QgsApplication.processingRegistry())
    model.setFilterString(search)
    found, rows = set(), [model.index(row, 0) for row in range(model.rowCount())]
    while rows:
        index = rows.pop()
        algorithm = model.toolboxModel().algorithmForIndex(model.mapToSource(index))
        if algorithm is not None:
            found.add(algorithm.id())
        rows += [model.index(row, 0, index) for row in range(model.rowCount(index))]
    return found


@pytest.mark.parametrize("search", SEARCHES)
def test_the_toolbox_finds_the_tool(language, qgis_processing, search):
    if language == "fr" and search == "detect clouds and shadows":
        search = "détecter les nuages et les ombres"
    assert ALG in _found(search)


def test_its_name_says_clouds_and_shadows(language, qgis_processing):
    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    assert algorithm.name() == "detectclouds"  # the id models and scripts use stays
    assert algorithm.displayName() == {
        "en": "Detect clouds and shadows", "fr": "Détecter les nuages et les ombres",
    }[language]
