"""classFactory, initGui and unload with a QGIS interface stand-in."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QDockWidget

import cloud_fcn_plugin

pytestmark = pytest.mark.qgis


def _provider_ids() -> list[str]:
    return [provider.id() for provider in QgsApplication.processingRegistry().providers()]


def _docks(iface) -> list[QDockWidget]:
    return [dock for dock in iface.mainWindow().findChildren(QDockWidget) if dock.parent()]


class TestLifecycle:
    def test_init_gui_adds_provider_dock_toolbar_and_menu(self, qgis_iface, no_provider):
        registry = QgsApplication.processingRegistry()
        plugin = cloud_fcn_plugin.classFactory(qgis_iface)
        plugin.initGui()
        try:
            assert "cloud_fcn" in _provider_ids()
            assert registry.algorithmById("cloud_fcn:detectclouds") is not None
            assert [a.text() for a in qgis_iface.toolbar.actions()] == ["Detect clouds and shadows"]
            assert qgis_iface.raster_menu_entries() == ["Cloud FCN > Detect clouds and shadows"]
            assert [d.windowTitle() for d in qgis_iface.docks] == ["Detect clouds and shadows"]
            assert not plugin.dock.isVisible()
        finally:
            plugin.unload()

    def test_unload_leaves_nothing_behind_and_load_again_works(self, qgis_iface, no_provider):
        for _ in range(2):
            plugin = cloud_fcn_plugin.classFactory(qgis_iface)
            plugin.initGui()
            assert "cloud_fcn" in _provider_ids()
            plugin.unload()
            QgsApplication.processEvents()
            assert "cloud_fcn" not in _provider_ids()
            assert qgis_iface.toolbar.actions() == []
            assert qgis_iface.raster_menu.actions() == []
            assert qgis_iface.docks == []
            assert _docks(qgis_iface) == []

    def test_init_processing_alone_registers_the_algorithm(self, qgis_iface, no_provider):
        # What qgis_process does: no initGui, just initProcessing.
        plugin = cloud_fcn_plugin.classFactory(None)
        plugin.initProcessing()
        plugin.initProcessing()  # idempotent
        try:
            assert _provider_ids().count("cloud_fcn") == 1
        finally:
            plugin.unload()
            assert "cloud_fcn" not in _provider_ids()

    def test_toolbar_button_shows_the_dock_on_the_active_layer(
        self, qtbot, qgis_iface, no_provider, clean_project, toa_band_file
    ):
        from qgis.core import QgsRasterLayer

        layer = QgsRasterLayer(str(toa_band_file), "Long Island", "gdal")
        clean_project.addMapLayer(layer)
        qgis_iface.setActiveLayer(layer)
        plugin = cloud_fcn_plugin.classFactory(qgis_iface)
        plugin.initGui()
        try:
            qgis_iface.mainWindow().show()
            plugin.action.trigger()
            qtbot.waitUntil(plugin.dock.isVisible)
            assert plugin.dock.layer_combo.currentLayer() is layer
            plugin.action.trigger()
            qtbot.waitUntil(lambda: not plugin.dock.isVisible())
        finally:
            plugin.unload()

