"""A stand-in for ``QgisInterface`` implementing what the plugin calls (as pytest-qgis does)."""

from __future__ import annotations

from qgis.core import QgsMapLayer, QgsProject
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import QMainWindow, QMenu, QToolBar, QVBoxLayout, QWidget


class IfaceStandIn(QObject):
    """Main window with a canvas, message bar, plugin toolbar and Raster menu."""

    currentLayerChanged = pyqtSignal(object)  # noqa: N815 - QgisInterface's name

    def __init__(self) -> None:
        super().__init__()
        self._main = QMainWindow()
        central = QWidget()
        layout = QVBoxLayout(central)
        self._bar = QgsMessageBar()
        self._canvas = QgsMapCanvas()
        layout.addWidget(self._bar)
        layout.addWidget(self._canvas)
        self._main.setCentralWidget(central)
        self.toolbar = QToolBar("Plugins")
        self._main.addToolBar(self.toolbar)
        self.raster_menu = QMenu("&Raster")
        self._main.menuBar().addMenu(self.raster_menu)
        self.docks: list = []
        self._active: QgsMapLayer | None = None

    def mainWindow(self) -> QMainWindow:
        return self._main

    def messageBar(self) -> QgsMessageBar:
        return self._bar

    def mapCanvas(self) -> QgsMapCanvas:
        return self._canvas

    def activeLayer(self) -> QgsMapLayer | None:
        return self._active

    def setActiveLayer(self, layer: QgsMapLayer | None) -> bool:
        self._active = layer
        self.currentLayerChanged.emit(layer)
        return True

    def addDockWidget(self, area, dock) -> None:
        self._main.addDockWidget(area, dock)
        self.docks.append(dock)

    def removeDockWidget(self, dock) -> None:
        self._main.removeDockWidget(dock)
        self.docks.remove(dock)

    def addToolBarIcon(self, action) -> int:
        self.toolbar.addAction(action)
        return 0

    def removeToolBarIcon(self, action) -> None:
        self.toolbar.removeAction(action)

    def _submenu(self, name: str, create: bool) -> QMenu | None:
        for action in self.raster_menu.actions():
            if action.menu() is not None and action.text() == name:
                return action.menu()
        return self.raster_menu.addMenu(name) if create else None

    def addPluginToRasterMenu(self, name: str, action) -> None:
        self._submenu(name, create=True).addAction(action)

    def removePluginRasterMenu(self, name: str, action) -> None:
        menu = self._submenu(name, create=False)
        if menu is None:
            return
        menu.removeAction(action)
        if not menu.actions():
            self.raster_menu.removeAction(menu.menuAction())

    def raster_menu_entries(self) -> list[str]:
        """Return "Submenu > Entry" texts of the Raster menu (for assertions)."""
        return [
            f"{top.text()} > {entry.text()}"
            for top in self.raster_menu.actions()
            if top.menu() is not None
            for entry in top.menu().actions()
        ]

    def project(self) -> QgsProject:
        return QgsProject.instance()
