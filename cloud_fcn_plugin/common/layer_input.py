"""What the engine should read for a QGIS raster layer, and which bands to use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..engine.scene.bands import BAND_FILE_PATTERN
from ..translation import tr
from .choices import DEFAULT_STACK_BANDS


@dataclass(frozen=True)
class LayerInput:
    """The engine input derived from a layer.

    Attributes:
        path: file or Landsat product folder the engine reads.
        is_product: ``True`` when ``path`` is a product folder found from one band file,
            so bands are picked by file name and band indices do not apply.
        bands: 1-based (red, green, blue, NIR) guess for a multi-band raster, or ``None``.
        level: detected product level code (``l1``, ``toa``, ``sr``) or ``None``.
        level_reason: one sentence telling why that level was detected.
        band_files: (red, green, blue, NIR) files found in a product folder, else ``None``.
    """

    path: Path
    is_product: bool
    bands: tuple[int, int, int, int] | None
    level: str | None
    level_reason: str
    band_files: tuple[Path, ...] | None = None


def layer_file(layer) -> Path:
    """Return the file behind a GDAL raster layer, without URI options."""
    from qgis.core import QgsProviderRegistry

    source = layer.source()
    parts = QgsProviderRegistry.instance().decodeUri(layer.providerType(), source)
    return Path(parts.get("path") or source.split("|")[0])


def is_band_file(path: Path) -> bool:
    """Tell whether ``path`` names one band file of a Landsat product."""
    return bool(BAND_FILE_PATTERN.search(path.name))


def engine_path(path: Path) -> tuple[Path, bool]:
    """Return what the engine reads for a raster file and whether it is a product folder.

    A user loads one band file of a product (``*_B4.TIF``) into QGIS; the engine
    needs the folder to find the red, green, blue and NIR files beside it. Only a
    single-band file on its siblings' grid counts: a stack named ``mystack_B4.tif``
    beside band files is read as the stack it is.
    """
    if is_band_file(path):
        from ..engine.scene.reader import product_folder_of

        folder = product_folder_of(path)
        if folder is not None:
            return folder, True
    return path, False


def describe_input(path: Path, band_count: int | None = None) -> LayerInput:
    """Inspect ``path`` (a raster file) and return what to hand to the engine.

    Args:
        path: the layer's file.
        band_count: band count known from QGIS, used when the engine cannot inspect the file.
    """
    target, is_product = engine_path(path)
    bands: tuple[int, int, int, int] | None = None
    band_files: tuple[Path, ...] | None = None
    level: str | None = None
    reason = tr("Product level unknown: it will be detected when the run starts.")
    try:
        from ..engine.scene.reader import inspect_input

        info = inspect_input(target)
    except Exception as exc:  # a guess only: the run itself reports real errors
        first = str(exc).splitlines()[0] if str(exc) else str(exc)
        reason = tr("Could not inspect the input: {reason}").format(reason=first)
        info = None
    if info is not None:
        bands = tuple(info.default_bands) if info.default_bands else None
        level = info.level
        reason = info.level_reason
        band_count = info.band_count
        band_files = tuple(info.band_files) if is_product and info.band_files else None
    if not is_product and bands is None and band_count == 4:
        bands = DEFAULT_STACK_BANDS
    return LayerInput(
        target, is_product, None if is_product else bands, level, reason, band_files
    )


def describe_layer(layer) -> LayerInput:
    """Return :func:`describe_input` for a QGIS raster layer."""
    return describe_input(layer_file(layer), layer.bandCount())


def resolve_bands(
    chosen: tuple[int | None, int | None, int | None, int | None], guess: LayerInput
) -> tuple[int, int, int, int] | None:
    """Decide the bands of a run from the band parameters.

    A band the user set is used as given (3, 2, 1, 4 included); an unset one (``None``)
    follows what the layer itself says (band descriptions, Landsat file names), else the
    B2-B5 stack order. Product folders find their band files by name.
    """
    if guess.is_product:
        return None
    fallback = guess.bands or DEFAULT_STACK_BANDS
    return tuple(
        band if band else default for band, default in zip(chosen, fallback, strict=True)
    )
