"""Cloud polygons: one polygon per cloud patch, in a layer of a GeoPackage.

``gdal.Polygonize`` (4-connected) makes one polygon per cloud patch, in the input's
CRS, with ``pixels`` and its area (``area_m2`` for a projected CRS in metres or feet,
else ``area`` in squared map units). The layer is ``clouds`` unless another name is
given (Processing's ``ogr:dbname='F.gpkg' table="T"`` destination). A GeoPackage is a
database: the layer is written into an existing one, never the file replaced.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from osgeo import gdal, ogr

from ..classes import CLASS_CODES, CODE_NAMES, DEFAULT_MASKED_CODES
from ..errors import OutputExistsError, OutputNotWritableError, ParameterError
from ..files.atomic import AtomicOutput, discard_temporary, new_temporary, rename_temporary
from ..files.gdal_calls import GdalCall, gdal_call, raise_if_canceled
from ..params import POLYGON_LAYER
from ..timing import timed
from .checks import VECTOR_SUFFIXES, check_output_path
from .raster import MASK_NODATA

Fraction = Callable[[float], None]
IsCanceled = Callable[[], bool]



class AtomicPolygonWriter(AtomicOutput):
    """Writes cloud polygons to a layer of a GeoPackage that appears only when complete.

    The polygons go to a hidden temporary GeoPackage in the destination folder, read
    back and synced by :meth:`finish`. :meth:`commit` then renames it into place when
    there is no GeoPackage there yet; into an existing one it copies the layer in one
    SQLite transaction (see :func:`replace_layer`), so the file's other layers stay,
    a program that holds it open (``-wal``/``-shm``) sees a consistent database, and a
    failure leaves the old content. Leaving the ``with`` block without committing
    deletes the temporary file.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        layer: str = POLYGON_LAYER,
        protected: Sequence[str | Path] = (),
    ) -> None:
        self.path = check_output_path(
            path, overwrite, suffixes=VECTOR_SUFFIXES, protected=protected
        )
        if not layer or not layer.strip():
            raise ParameterError("The polygon layer needs a name, e.g. clouds.")
        self.layer = layer
        self.overwrite = overwrite
        self.temp_path = new_temporary(self.path, suffix=".gpkg")
        # The GeoPackage driver creates its file itself; the name stays reserved and tracked.
        self.temp_path.unlink()
        self.count: int | None = None
        self.area_field = "area_m2"
        self._update: _LayerUpdate | None = None
        self._committed = self._finished = False

    @timed("post-processing")
    def write(
        self,
        mask_path: Path,
        *,
        masked_codes: Iterable[int] = DEFAULT_MASKED_CODES,
        progress: Fraction | None = None,
        is_canceled: IsCanceled | None = None,
    ) -> int:
        """Polygonize the masked classes of a finished mask; return the number of polygons.

        Each polygon is one 4-connected patch of one class; its ``class`` field holds
        the mask code (1 thick cloud, 2 thin cloud, 3 cloud shadow) and ``class_name``
        the name.
        """
        mask = gdal.Open(str(mask_path))
        if mask is None:
            raise OutputNotWritableError(f"Cannot read back the mask {mask_path}: check the disk.")
        clouds_only = f"/vsimem/cloud_fcn_{uuid.uuid4().hex}.vrt"
        clouds = band = target = layer = None
        try:
            gdal.FileFromMemBuffer(clouds_only, _masked_only_vrt(mask_path, mask, masked_codes))
            clouds = gdal.Open(clouds_only)
            band = clouds.GetRasterBand(1)
            srs = mask.GetSpatialRef()
            pixel_area = _pixel_area(mask.GetGeoTransform())
            units = _square_metres_per_unit(srs)
            self.area_field = "area_m2" if units is not None else "area"
            with gdal_call("Writing the cloud polygons", self.path, is_canceled) as codes:
                target = ogr.GetDriverByName("GPKG").CreateDataSource(str(self.temp_path))
                if target is None:
                    raise OutputNotWritableError(
                        f"Cannot create a GeoPackage in {self.path.parent}: choose another folder."
                    )
                layer = target.CreateLayer(self.layer, srs, ogr.wkbPolygon)
                layer.CreateField(ogr.FieldDefn("class", ogr.OFTInteger))
                layer.CreateField(ogr.FieldDefn("class_name", ogr.OFTString))
                layer.CreateField(ogr.FieldDefn("pixels", ogr.OFTInteger64))
                layer.CreateField(ogr.FieldDefn(self.area_field, ogr.OFTReal))
                codes.append(layer.StartTransaction())
                codes.append(
                    gdal.Polygonize(
                        band, band, layer, 0, [], callback=codes.callback(progress)
                    )
                )
                raise_if_canceled(is_canceled)
                fids = [feature.GetFID() for feature in layer]
                for fid in fids:
                    feature = layer.GetFeature(fid)
                    area = feature.GetGeometryRef().GetArea()
                    feature.SetField("class_name", CODE_NAMES.get(feature.GetField("class"), ""))
                    feature.SetField("pixels", round(area / pixel_area))
                    feature.SetField(self.area_field, area * (units or 1.0))
                    codes.append(layer.SetFeature(feature))
                codes.append(layer.CommitTransaction())
                layer = None
                target = None  # closes and writes the file
            self.count = len(fids)
            return self.count
        except BaseException:
            layer = target = None  # closed before its file is removed
            self.abort()
            raise
        finally:
            clouds = band = None
            mask = None
            gdal.Unlink(clouds_only)

    def finish(self) -> None:
        """Read the GeoPackage back and sync it to disk, without renaming it."""
        if self._committed or self._finished:
            return
        try:
            gdal.PushErrorHandler("CPLQuietErrorHandler")
            try:
                dataset = ogr.Open(str(self.temp_path))
                layer = dataset.GetLayerByName(self.layer) if dataset is not None else None
                found = layer.GetFeatureCount() if layer is not None else -1
                layer = dataset = None
            finally:
                gdal.PopErrorHandler()
            if found != self.count:
                raise OutputNotWritableError(
                    f"Writing {self.path} failed, the GeoPackage written reads back with "
                    f"{found} of {self.count} polygons: free disk space or choose another folder."
                )
            fd = os.open(self.temp_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            # Before any output is renamed: the layer is written into an existing
            # GeoPackage now, in a transaction left open (its write lock held), so that a
            # file locked by another program fails here and nothing at all is replaced.
            self._update = _prepare_destination(
                self.temp_path, self.path, self.layer, self.overwrite
            )
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def commit(self) -> Path:
        """Finish the GeoPackage and put its layer in place; return the final path.

        Raises:
            OutputExistsError: the destination appeared meanwhile without ``overwrite``.
            OutputNotWritableError: the layer could not be written into it.
        """
        if self._committed:
            return self.path
        self.finish()
        try:
            if self._update is not None:
                self._update.commit()
                self._update = None
                discard_temporary(self.temp_path)
            else:
                _refuse_stale_journals(self.path)
                if _is_sqlite(self.path):  # a database appeared meanwhile: never replaced
                    raise _locked(self.path, "it appeared while computing")
                rename_temporary(self.temp_path, self.path, self.overwrite)
        except BaseException:
            self.abort()
            raise
        self._committed = True
        return self.path

    #: Commit this output before the files that are only renamed: it is the one whose
    #: commit can fail for a reason other than the disk (see :class:`_LayerUpdate`).
    commits_first = True

    def abort(self) -> None:
        """Drop the temporary GeoPackage; the destination stays as it was."""
        update, self._update = getattr(self, "_update", None), None
        if update is not None:
            update.rollback()
        discard_temporary(self.temp_path)


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _is_sqlite(path: Path) -> bool:
    """Whether a file is an SQLite database (a GeoPackage is one), by its header bytes.

    Whether GDAL can open it now says nothing: a database locked by another program
    does not open, and must still never be replaced by a new file.
    """
    try:
        with open(path, "rb") as stream:
            return stream.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def _locked(path: Path, reason: str) -> OutputNotWritableError:
    if "locked" in reason.lower() or "busy" in reason.lower():
        reason = "its database is locked"
    return OutputNotWritableError(
        f"{path} is locked by another program, or cannot be updated ({reason}): close it "
        "there (in QGIS, remove its layers or stop editing) and run again; no output was "
        "replaced."
    )


def _prepare_destination(
    source: Path, target: Path, layer: str, overwrite: bool
) -> _LayerUpdate | None:
    """Decide how the layer reaches ``target`` before anything is renamed.

    Returns:
        The open update of an existing database (see :class:`_LayerUpdate`), or None
        when the temporary file is to be renamed into place (no file there, or a file
        that is not a database).

    Raises:
        OutputExistsError: a database is there and ``overwrite`` is False.
        OutputNotWritableError: the database is locked by another program or cannot be
            opened for update; nothing was changed.
    """
    if not os.path.lexists(target) or not _is_sqlite(target):
        _refuse_stale_journals(target)
        return None
    if not overwrite:
        raise OutputExistsError(
            f"{target} appeared while computing: pass --overwrite or choose another name."
        )
    return _LayerUpdate(source, target, layer)


class _LayerUpdate:
    """The layer copied into an existing GeoPackage in one open SQLite transaction.

    Made when the outputs are prepared (the transaction then holds the database's
    write lock, and a database held by another program fails at once); committed with
    the outputs, or rolled back. Only that layer is dropped and written again, as
    QGIS's own algorithms and ``ogr2ogr -update -overwrite -nln`` do; the rest of the
    file is left alone, and other connections (a GIS with the file open in WAL mode) see
    the old layer or the new one.

    Raises:
        OutputNotWritableError: the database is locked by another program or cannot be
            updated; it is unchanged.
    """

    def __init__(self, source: Path, target: Path, layer: str) -> None:
        self.target = target
        self._dataset: Any = None
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        gdal.ErrorReset()
        try:
            source_data = ogr.Open(str(source))
            dataset = gdal.OpenEx(str(target), gdal.OF_VECTOR | gdal.OF_UPDATE, ["GPKG"])
            if source_data is None or dataset is None:
                raise _locked(target, _gdal_reason("it does not open as a GeoPackage"))
            self._dataset = dataset
            call = GdalCall(None)
            if dataset.StartTransaction() != 0:
                raise _locked(target, _gdal_reason("no transaction"))
            _copy_layer(source_data.GetLayerByName(layer), dataset, layer, call)
            if gdal.GetLastErrorType() >= gdal.CE_Failure or any(call.codes):
                raise _locked(target, _gdal_reason("the layer could not be written"))
        except BaseException:
            self.rollback()
            raise
        finally:
            source_data = None
            gdal.PopErrorHandler()

    def commit(self) -> None:
        """Commit the transaction; the new layer is in place.

        Raises:
            OutputNotWritableError: the commit failed (another program took the file
                meanwhile, a full disk); the database is as it was.
        """
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        gdal.ErrorReset()
        try:
            if self._dataset.CommitTransaction() != 0 or (
                gdal.GetLastErrorType() >= gdal.CE_Failure
            ):
                raise _locked(self.target, _gdal_reason("the commit failed"))
            self._dataset.FlushCache()
            self._dataset = None  # closes it
        except BaseException:
            self.rollback()
            raise
        finally:
            gdal.PopErrorHandler()

    def rollback(self) -> None:
        """Roll the transaction back and close the database (safe to call twice)."""
        dataset, self._dataset = self._dataset, None
        if dataset is not None:
            gdal.PushErrorHandler("CPLQuietErrorHandler")
            try:
                dataset.RollbackTransaction()
            finally:
                # After a rollback GDAL's close may log that it cannot re-create triggers
                # the rollback restored: the file is as it was.
                dataset = None
                gdal.PopErrorHandler()


def _gdal_reason(default: str) -> str:
    return " ".join(gdal.GetLastErrorMsg().split())[:160] or default


def replace_layer(source: Path, target: Path, layer: str) -> None:
    """Copy the layer ``layer`` of ``source`` into the GeoPackage ``target``, replacing it.

    Raises:
        OutputNotWritableError: the layer could not be written (the file is locked by
            another program); ``target`` is unchanged.
    """
    _LayerUpdate(source, target, layer).commit()


def _copy_layer(source: Any, dataset: Any, name: str, call: GdalCall) -> None:
    """Drop ``name`` from ``dataset`` (inside its transaction) and copy ``source`` there."""
    for index in range(dataset.GetLayerCount()):
        if dataset.GetLayer(index).GetName() == name:
            if dataset.DeleteLayer(index) != 0:  # SQLITE_BUSY: another program writes it
                raise _locked(Path(dataset.GetDescription()), _gdal_reason("cannot drop " + name))
            break
    target = dataset.CreateLayer(name, source.GetSpatialRef(), source.GetGeomType())
    if target is None:
        reason = gdal.GetLastErrorMsg()
        if "lock" in reason.lower() or "busy" in reason.lower():
            raise _locked(Path(dataset.GetDescription()), "its database is locked")
        raise OutputNotWritableError(f"Cannot create the layer {name}: choose another name.")
    definition = source.GetLayerDefn()
    for index in range(definition.GetFieldCount()):
        call.append(target.CreateField(definition.GetFieldDefn(index)))
    for feature in source:
        copy = ogr.Feature(target.GetLayerDefn())
        copy.SetFrom(feature)
        call.append(target.CreateFeature(copy))


def _refuse_stale_journals(path: Path) -> None:
    """A file that is no GeoPackage is replaced whole, unless SQLite files lie beside it.

    A ``-wal`` or ``-shm`` beside it means another program may hold a database of that
    name open: SQLite would apply its journal to the new file (it would then read as
    the old database).
    """
    for suffix in ("-wal", "-shm", "-journal"):
        journal = path.with_name(path.name + suffix)
        if os.path.lexists(journal):
            raise OutputNotWritableError(
                f"{journal.name} lies beside {path.name}, which is not a GeoPackage: another "
                "program may hold a database of that name open; close it, delete "
                f"{journal.name}, or choose another name."
            )


def _masked_only_vrt(mask_path: Path, mask: Any, masked_codes: Iterable[int]) -> str:
    """A VRT of the mask that keeps the masked codes and reads 0 elsewhere (nodata included)."""

    def text(value: str) -> str:
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    source = text(str(mask_path))
    georeference = "<GeoTransform>{}</GeoTransform>".format(
        ", ".join(repr(v) for v in mask.GetGeoTransform())
    )
    if mask.GetProjection():
        georeference = f"<SRS>{text(mask.GetProjection())}</SRS>" + georeference
    return (
        f'<VRTDataset rasterXSize="{mask.RasterXSize}" rasterYSize="{mask.RasterYSize}">'
        f"{georeference}"
        '<VRTRasterBand dataType="Byte" band="1"><ComplexSource>'
        f'<SourceFilename relativeToVRT="0">{source}</SourceFilename>'
        "<SourceBand>1</SourceBand>"
        f"<LUT>{_lookup_table(masked_codes)}</LUT>"
        "</ComplexSource></VRTRasterBand></VRTDataset>"
    )


def _lookup_table(masked_codes: Iterable[int]) -> str:
    """A VRT LUT keeping ``masked_codes`` and zeroing the rest.

    GDAL interpolates linearly between LUT entries, so every integer code gets its own
    entry, and 4 and 255 pin everything above the codes to 0.
    """
    masked = set(masked_codes)
    entries = [f"{code}:{code if code in masked else 0}" for code in CLASS_CODES]
    return ",".join([*entries, f"{max(CLASS_CODES) + 1}:0", f"{MASK_NODATA}:0"])


def _pixel_area(geotransform: tuple[float, ...]) -> float:
    """Area of one pixel in squared map units (1 when not georeferenced)."""
    _, a, b, _, d, e = geotransform
    return abs(a * e - b * d) or 1.0


def _square_metres_per_unit(srs: Any) -> float | None:
    """Square metres per squared map unit of a projected CRS; None otherwise."""
    if srs is None or not srs.IsProjected():
        return None
    metres = srs.GetLinearUnits()
    return metres * metres if metres > 0 else None
