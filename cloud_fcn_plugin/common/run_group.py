"""One run's outputs in one layer-tree group, the newest run on top.

The panel and the toolbox (through its layer post-processors) place their outputs
alike: a group per run, named after the input and the settings that made it, inserted
at the top of the layer tree (or of Processing's results group, where the user set
one); inside it the polygons above the mask above the masked image, so vectors are
never hidden under an opaque raster. A name already in the project gets a number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qgis.core import QgsLayerTreeGroup, QgsLayerTreeNode, QgsMapLayer, QgsProject

from ..translation import tr
from .names import temporary_suffix

#: Output kinds of a run, top to bottom in its group.
#: ``qa_mask``: the product QA band's mask the panel loads beside the network's.
KIND_ORDER = ("polygons", "mask", "qa_mask", "probability", "masked_image")


def run_settings(params) -> dict[str, Any]:
    """The settings of the engine's ``DetectionParams`` besides model and threshold that
    change the mask (for names, labels and abstracts)."""
    return {
        "min_size": params.min_size,
        "buffer": params.buffer,
        "bands": params.bands,
        "tile_size": params.tile_size,
        "overlap": params.overlap,
        "weights": str(params.weights) if params.weights else None,
    }


def unique_layer_name(name: str, layer: QgsMapLayer, project: QgsProject) -> str:
    """``name``, numbered (``#2``, ``#3``...) when another layer of the project has it.

    The number goes before the temporary marker, which stays last.
    """
    base, temporary, suffix = name, "", temporary_suffix()
    if name.endswith(f" {suffix}"):
        base, temporary = name[: -len(suffix) - 1], f" {suffix}"
    taken = {other.name() for other in project.mapLayers().values() if other.id() != layer.id()}
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{base} #{number}{temporary}"
    return candidate


class RunGroup:
    """The layer-tree group holding one run's outputs (created with its first layer).

    Args:
        source_name: the input layer's name.
        label: the run's label (:func:`run_label`).
    """

    def __init__(self, source_name: str, label: str) -> None:
        self.source_name = source_name
        self.label = label
        self._group: QgsLayerTreeGroup | None = None

    @property
    def base_name(self) -> str:
        """The group's name before numbering."""
        if self.label:
            return tr("Clouds: {name} ({label})").format(name=self.source_name, label=self.label)
        return tr("Clouds: {name}").format(name=self.source_name)

    def group(self, project: QgsProject | None = None) -> QgsLayerTreeGroup | None:
        """The group once a layer is in it (``None`` before, or once the user removed it)."""
        if self._group is None:
            return None
        try:
            self._group.name()
        except RuntimeError:  # deleted with the layer tree
            self._group = None
        return self._group

    def relabel(self, label: str, project: QgsProject | None = None) -> None:
        """Rename the group for a new ``label`` (a re-thresholded run), numbered if taken."""
        self.label = label
        group = self.group(project)
        if group is not None:
            project = project or QgsProject.instance()
            group.setName("")  # its own old name is not "taken"
            group.setName(_unique_group_name(self.base_name, project.layerTreeRoot()))

    def add(self, layer: QgsMapLayer, kind: str, project: QgsProject | None = None) -> None:
        """Put ``layer`` (in the project already, or not yet) into the run's group.

        Args:
            layer: a valid output layer; it is renamed when its name is taken.
            kind: ``polygons``, ``mask`` or ``masked_image``.
            project: the project (the current one by default).
        """
        project = project or QgsProject.instance()
        root = project.layerTreeRoot()
        node = root.findLayer(layer.id())
        if project.mapLayer(layer.id()) is None:
            project.addMapLayer(layer, False)
        layer.setName(unique_layer_name(layer.name(), layer, project))
        group = self.group(project)
        parent = None
        if group is None:
            # Processing may have loaded the layer into its results group: stay in it.
            parent = node.parent() if node is not None else None
            parent = parent if isinstance(parent, QgsLayerTreeGroup) else root
            group = QgsLayerTreeGroup(_unique_group_name(self.base_name, root))
        position = _position(group, kind)
        group.insertLayer(position, layer)
        child = group.children()[position]
        child.setCustomProperty(_KIND_PROPERTY, kind)
        if parent is not None:
            parent.insertChildNode(0, group)
            # QGIS's Layers panel shows a new group collapsed: say "expanded" once more.
            group.setExpanded(False)
            group.setExpanded(True)
            self._group = group
        if node is not None:
            child.setItemVisibilityChecked(node.itemVisibilityChecked())
            node.parent().removeChildNode(node)


_KIND_PROPERTY = "cloud_fcn/output_kind"


def _position(group: QgsLayerTreeGroup, kind: str) -> int:
    """Where a layer of ``kind`` goes among the group's children (KIND_ORDER)."""
    rank = KIND_ORDER.index(kind)
    for index, child in enumerate(group.children()):
        other = child.customProperty(_KIND_PROPERTY)
        if other in KIND_ORDER and KIND_ORDER.index(other) > rank:
            return index
    return len(group.children())


def _groups(node: QgsLayerTreeNode) -> Iterator[QgsLayerTreeGroup]:
    for child in node.children():
        if isinstance(child, QgsLayerTreeGroup):
            yield child
            yield from _groups(child)


def _unique_group_name(name: str, root: QgsLayerTreeGroup) -> str:
    taken = {group.name() for group in _groups(root)}
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} #{number}"
    return candidate

