"""Where the panel's outputs go in the project's layer tree."""

from __future__ import annotations

from qgis.core import QgsMapLayer, QgsProject


def add_above(layer: QgsMapLayer, source_id: str) -> None:
    """Add ``layer`` to the project just above the layer it was computed from."""
    project = QgsProject.instance()
    project.addMapLayer(layer, False)
    root = project.layerTreeRoot()
    node = root.findLayer(source_id)
    if node is None:
        root.insertLayer(0, layer)
        return
    parent = node.parent()
    parent.insertLayer(parent.children().index(node), layer)
