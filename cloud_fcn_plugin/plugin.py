"""Plugin lifecycle: Processing provider, toolbar button, Raster menu entry and dock."""

from __future__ import annotations

import contextlib

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon

from . import deps
from .compat import QAction
from .engine.files.resources import resource_path
from .translation import PluginTranslator, tr

MENU = "Cloud FCN"


class CloudFcnPlugin:
    """What QGIS loads: ``initProcessing`` alone for qgis_process, ``initGui`` in the desktop."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.provider = None
        self.action: QAction | None = None
        self.dock = None
        # Before anything imports torch, so a PyTorch installed by the panel is found.
        deps.add_deps_to_path()
        # Here rather than in initGui: qgis_process loads the provider without a GUI.
        self.translator = PluginTranslator()
        self.translator.install()

    def initProcessing(self) -> None:
        """Register the ``cloud_fcn`` provider (once)."""
        if self.provider is not None:
            return
        from .processing.provider import CloudFcnProvider

        provider = CloudFcnProvider()
        # On failure (a provider with this id exists already) QGIS deletes the object.
        if QgsApplication.processingRegistry().addProvider(provider):
            self.provider = provider

    def initGui(self) -> None:
        """Add the provider, the dock (hidden), the toolbar button and the menu entry."""
        self.initProcessing()
        from .gui.dock import DetectCloudsDock

        self.dock = DetectCloudsDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.iface.currentLayerChanged.connect(self.dock.follow_layer)
        self.action = QAction(
            QIcon(str(resource_path("icons", "cloud_fcn.svg"))),
            tr("Detect clouds and shadows"),
            self.iface.mainWindow(),
        )
        self.action.setObjectName("CloudFcnDetectCloudsAction")
        self.action.setToolTip(tr("Detect clouds and cloud shadows in a Landsat 8/9 raster layer"))
        self.action.setCheckable(True)
        self.action.toggled.connect(self._show_dock)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(MENU, self.action)

    def _show_dock(self, visible: bool) -> None:
        if visible:
            self.dock.follow_layer(self.iface.activeLayer())
        self.dock.setVisible(visible)
        if visible:
            self.dock.raise_()

    def unload(self) -> None:
        """Remove everything initGui and initProcessing added."""
        if self.action is not None:
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.shutdown()
            with contextlib.suppress(TypeError):  # already disconnected
                self.iface.currentLayerChanged.disconnect(self.dock.follow_layer)
            self.iface.removeDockWidget(self.dock)
            self.dock.setParent(None)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        self.translator.remove()
