"""Fixtures for plugin tests in a real headless QGIS (modelled on pytest-qgis).

One ``QgsApplication`` per session, with its own throw-away profile so nothing
touches the developer's QGIS settings, Processing initialised, and the plugin's
provider registered. Widgets are driven with pytest-qt's ``qtbot``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
if QGIS_PLUGINS not in sys.path:
    sys.path.append(QGIS_PLUGINS)  # QGIS's own `processing` package

qgis_core = pytest.importorskip("qgis.core", reason="QGIS Python bindings are not installed")

from qgis.core import QgsApplication, QgsProject  # noqa: E402

from tests.plugin.qgis_iface import IfaceStandIn  # noqa: E402

TOA_BAND = "LC80130312015295LGN00_B4_toa.tif"
TINY_TILE = 128
_PROVIDERS: list = []


@pytest.fixture(scope="session")
def qgis_app(tmp_path_factory) -> Iterator[QgsApplication]:
    """The session's QGIS application (GUI enabled, offscreen), with a temporary profile."""
    profile = tmp_path_factory.mktemp("qgis_profile")
    app = QgsApplication.instance()
    if app is None:
        app = QgsApplication([], True, str(profile))
        app.initQgis()
    yield app
    QgsProject.instance().clear()


@pytest.fixture(scope="session")
def qapp(qgis_app):
    """Make pytest-qt use the QGIS application instead of creating a QApplication."""
    return qgis_app


@pytest.fixture(scope="session")
def processing_initialized(qgis_app) -> None:
    """QGIS Processing with its native and GDAL providers."""
    from processing.core.Processing import Processing

    Processing.initialize()


def ensure_provider():
    """Register the plugin's provider unless it already is; return it."""
    from cloud_fcn_plugin.processing.provider import CloudFcnProvider

    registry = QgsApplication.processingRegistry()
    if registry.providerById("cloud_fcn") is None:
        provider = CloudFcnProvider()
        # The Python object must outlive the registration, as a plugin's self.provider does.
        _PROVIDERS.append(provider)
        registry.addProvider(provider)
    return registry.providerById("cloud_fcn")


@pytest.fixture()
def qgis_processing(processing_initialized):
    """Processing with the ``cloud_fcn`` provider registered."""
    return ensure_provider()


@pytest.fixture()
def no_provider(processing_initialized) -> Iterator[None]:
    """Processing without our provider, as before the plugin loads; restored afterwards."""
    registry = QgsApplication.processingRegistry()
    provider = registry.providerById("cloud_fcn")
    if provider is not None:
        registry.removeProvider(provider)
    yield
    ensure_provider()


@pytest.fixture()
def qgis_iface(qgis_app) -> Iterator[IfaceStandIn]:
    """A fresh interface stand-in; the project is cleared afterwards."""
    iface = IfaceStandIn()
    yield iface
    QgsProject.instance().removeAllMapLayers()
    iface.mainWindow().close()
    iface.mainWindow().deleteLater()


@pytest.fixture()
def clean_project(qgis_app) -> Iterator[QgsProject]:
    """The project instance, emptied after the test."""
    project = QgsProject.instance()
    yield project
    project.removeAllMapLayers()


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    """A checkpoint whose answer is known: cloud where the mean reflectance exceeds 0.3.

    Small tiles make runs fast and give cancellation several tiles to stop between.
    """
    torch = pytest.importorskip("torch")
    from cloud_fcn_plugin.engine.models import build_model
    from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
    from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint

    model = build_model("pixel_linear")
    with torch.no_grad():
        model.linear.weight.fill_(5.0)
        model.linear.bias.fill_(-6.0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    meta = CheckpointMetadata(
        "pixel_linear", {"in_channels": 4}, threshold=0.5, tile_size=TINY_TILE, overlap=16
    )
    save_checkpoint(path, model, meta)
    return path


@pytest.fixture(scope="session")
def toa_band_file(scene_dirs) -> Path:
    """One band file of the Long Island TOA product (the engine reads its folder)."""
    return scene_dirs["toa_120m"] / TOA_BAND


@pytest.fixture(scope="session")
def toa_stack(tmp_path_factory, scene_dirs) -> Path:
    """A 4-band B2-B5 GeoTIFF stack of the Long Island scene, without band descriptions."""
    rasterio = pytest.importorskip("rasterio")
    folder = scene_dirs["toa_120m"]
    files = [folder / f"LC80130312015295LGN00_B{band}_toa.tif" for band in (2, 3, 4, 5)]
    path = tmp_path_factory.mktemp("stack") / "longisland_B2-B5_toa.tif"
    with rasterio.open(files[0]) as first:
        profile = first.profile | {"count": 4, "driver": "GTiff"}
    with rasterio.open(path, "w", **profile) as out:
        for index, file in enumerate(files, start=1):
            with rasterio.open(file) as src:
                out.write(src.read(1), index)
    return path
