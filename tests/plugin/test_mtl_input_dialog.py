"""A product's MTL as INPUT in QGIS's own algorithm and batch dialogs (review defect 7).

The review saw "Could not load selected layer/table. Dependent bands could not be
populated" 3 to 11 times per run when INPUT was a ``*_MTL.txt``: QGIS's band widgets load
their parent INPUT as a raster layer, and an MTL is none. For a product the band rows do
not apply (the band files are found by name), so they must stay empty, quietly.
"""

from __future__ import annotations

import pytest
from qgis.core import QgsProject, QgsRasterLayer

pytestmark = [pytest.mark.qgis, pytest.mark.data]

ALG = "cloud_fcn:detectclouds"
PRODUCT = "scenes/LC80200392015216LGN00_L1T_30m"
MTL = f"{PRODUCT}/LC80200392015216LGN00_MTL.txt"
BANDS = ("RED", "GREEN", "BLUE", "NIR")


def _bar(dialog) -> list[str]:
    return [item.text() for item in dialog.messageBar().items()]


def test_the_dialog_takes_an_mtl_quietly(qtbot, qgis_processing, clean_project, data_dir,
                                         toa_stack):
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    dialog = AlgorithmDialog(algorithm, False, None)
    qtbot.addWidget(dialog)
    panel = dialog.mainWidget()
    for source in (data_dir / MTL, data_dir / PRODUCT, data_dir / MTL):
        panel.setParameters({"INPUT": str(source)})
        qtbot.wait(50)
    assert not [text for text in _bar(dialog) if "Could not load" in text], _bar(dialog)
    parameters = dialog.createProcessingParameters()
    # The algorithm reads a product through its red band file (typed_values.py).
    assert parameters["INPUT"] == str(data_dir / PRODUCT / "LC80200392015216LGN00_B4.TIF")
    assert all(parameters.get(key) in (None, "") for key in BANDS), parameters
    # A raster stack still fills the band rows from the layer, as QGIS's own widgets do.
    stack = QgsRasterLayer(str(toa_stack), "stack", "gdal")
    QgsProject.instance().addMapLayer(stack)
    panel.setParameters({"INPUT": stack.id(), "RED": 3, "NIR": 4})
    parameters = dialog.createProcessingParameters()
    assert (parameters["RED"], parameters["NIR"]) == (3, 4)
    assert not [text for text in _bar(dialog) if "Could not load" in text], _bar(dialog)


def test_batch_rows_take_an_mtl_quietly(qtbot, qgis_processing, clean_project, data_dir):
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    dialog = BatchAlgorithmDialog(algorithm, None)
    qtbot.addWidget(dialog)
    panel = dialog.mainWidget()
    for _row in range(3):
        panel.addRow()
    for row in range(panel.batchRowCount()):
        panel.wrappers[row][0].setParameterValue(str(data_dir / MTL), panel.processing_context)
    qtbot.wait(50)
    assert not [text for text in _bar(dialog) if "Could not load" in text], _bar(dialog)
