"""The toolbox places a run's outputs as the panel does (issue 18, items 2-4).

``cloud_fcn:detectclouds`` run as the algorithm dialog runs it (outputs flagged to
load, then Processing's ``handleAlgorithmResults``): one layer-tree group per run,
newest on top, polygons above the mask above the masked image, names numbered when
taken, and the masked image drawn in true colour from its band descriptions.
"""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProject,
)

pytestmark = [pytest.mark.qgis, pytest.mark.data]

ALG = "cloud_fcn:detectclouds"


@pytest.fixture()
def tree(clean_project):
    root = clean_project.layerTreeRoot()
    root.removeAllChildren()
    yield root
    root.removeAllChildren()


def _run_as_the_dialog(parameters: dict, project: QgsProject) -> dict:
    from processing.gui.Postprocessing import handleAlgorithmResults
    from processing.tools import dataobjects

    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    feedback = QgsProcessingFeedback()
    context = dataobjects.createContext(feedback)
    parameters = dict(parameters)
    for key in ("OUTPUT", "MASKED_IMAGE", "POLYGONS"):
        if key in parameters:
            parameters[key] = QgsProcessingOutputLayerDefinition(parameters[key], project)
    results, ok = alg.run(parameters, context, feedback)
    assert ok, feedback.textLog()
    handleAlgorithmResults(alg, context, feedback, False, parameters)
    return results


@pytest.mark.slow
def test_toolbox_runs_are_groups_newest_on_top(
    qgis_processing, clean_project, tree, toa_band_file, tiny_weights
):
    base = {"INPUT": str(toa_band_file), "MODEL": str(tiny_weights), "OUTPUT": "TEMPORARY_OUTPUT"}
    _run_as_the_dialog(base, clean_project)
    _run_as_the_dialog({**base, "THRESHOLD": 0.6, "MIN_SIZE": 2, "BUFFER": 1,
                        "MASKED_IMAGE": "TEMPORARY_OUTPUT", "POLYGONS": "TEMPORARY_OUTPUT"},
                       clean_project)
    _run_as_the_dialog(base, clean_project)  # an identical rerun
    stem = "LC80130312015295LGN00_B4_toa"
    assert [child.name() for child in tree.children()] == [
        f"Clouds: {stem} (tiny.safetensors, 0.500) #2",
        f"Clouds: {stem} (tiny.safetensors, 0.600, sieve 2 px, buffer 1 px)",
        f"Clouds: {stem} (tiny.safetensors, 0.500)",
    ]
    workflow = tree.children()[1]
    assert [node.layer().name() for node in workflow.findLayers()] == [
        f"{stem} cloud polygons [temporary]",
        f"{stem} clouds (tiny.safetensors, 0.600, sieve 2 px, buffer 1 px) [temporary]",
        f"{stem} without clouds [temporary]",
    ]
    newest = tree.children()[0].findLayers()[0].layer()
    assert newest.name() == f"{stem} clouds (tiny.safetensors, 0.500) #2 [temporary]"
    mask = workflow.findLayers()[1].layer()
    abstract = mask.metadata().abstract()
    assert "smallest cloud 2 px" in abstract and "buffer 1 px" in abstract
    # The product's masked image names its bands (B1 coastal ... B9 cirrus): B4, B3, B2.
    renderer = workflow.findLayers()[2].layer().renderer()
    assert renderer.type() == "multibandcolor"
    assert (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) == (4, 3, 2)
    names = [layer.name() for layer in clean_project.mapLayers().values()]
    assert len(set(names)) == len(names) == 5


@pytest.mark.slow
def test_toolbox_results_group_setting_is_kept(
    qgis_processing, clean_project, tree, toa_band_file, tiny_weights
):
    """Where the user has Processing load results into a group, the run's group goes in it."""
    from processing.core.ProcessingConfig import ProcessingConfig

    ProcessingConfig.setSettingValue(ProcessingConfig.RESULTS_GROUP_NAME, "Results")
    try:
        _run_as_the_dialog({"INPUT": str(toa_band_file), "MODEL": str(tiny_weights),
                            "OUTPUT": "TEMPORARY_OUTPUT"}, clean_project)
    finally:
        ProcessingConfig.setSettingValue(ProcessingConfig.RESULTS_GROUP_NAME, "")
    (results,) = tree.children()
    assert results.name() == "Results"
    (run,) = results.children()
    assert run.name().startswith("Clouds: ") and len(run.findLayers()) == 1
