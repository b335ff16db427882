"""Cloud polygons written by layer, as QGIS writes GeoPackages (issue 17: C3, C5, M2)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from osgeo import ogr

from cloud_fcn_plugin.engine.errors import CanceledError, OutputExistsError, ParameterError
from cloud_fcn_plugin.engine.outputs.polygons import POLYGON_LAYER, AtomicPolygonWriter
from tests.engine.outputs.masks import grid, write_mask

PIXEL = 30.0
AUDIT = Path(__file__).resolve().parents[3].parent / "shared" / "audit" / "gpkg_wal.py"


def mask(tmp_path: Path, clouds: int) -> Path:
    """A mask with ``clouds`` separate one-pixel clouds."""
    row = " ".join("# ." for _ in range(clouds))
    return write_mask(tmp_path / f"mask{clouds}.tif", grid(f"{row}\n{'. ' * 2 * clouds}"))


def layers(path: Path) -> dict[str, int]:
    dataset = ogr.Open(str(path))
    found = {}
    for index in range(dataset.GetLayerCount()):
        layer = dataset.GetLayer(index)
        found[layer.GetName()] = layer.GetFeatureCount()
    return found


def write(path: Path, mask_path: Path, **options) -> int:
    with AtomicPolygonWriter(path, **options) as writer:
        count = writer.write(mask_path)
        writer.finish()
        writer.commit()
    return count


@pytest.fixture
def keep(tmp_path: Path) -> Path:
    """A GeoPackage holding the user's layers ``roads`` and ``fields``, and old clouds."""
    path = tmp_path / "keep.gpkg"
    write(path, mask(tmp_path, 2))
    dataset = ogr.Open(str(path), update=1)
    for name in ("roads", "fields"):
        layer = dataset.CreateLayer(name, None, ogr.wkbPoint)
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetGeometry(ogr.CreateGeometryFromWkt("POINT (1 2)"))
        layer.CreateFeature(feature)
    dataset = None
    return path


class TestPolygons:
    def test_one_polygon_per_patch_with_pixels_and_square_metres(self, tmp_path):
        mask = write_mask(tmp_path / "mask.tif", grid("""
            # # # . . .
            # # # . # .
            . . . . # #
            x x . . . .
        """))  # fmt: skip
        out = tmp_path / "clouds.gpkg"
        with AtomicPolygonWriter(out) as writer:
            assert writer.write(mask) == 2
            assert not out.exists()
            writer.commit()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clouds.gpkg", "mask.tif"]
        dataset = ogr.Open(str(out))
        layer = dataset.GetLayerByName(POLYGON_LAYER)
        assert layer.GetSpatialRef().GetAuthorityCode(None) == "32618"
        found = sorted(
            (f.GetField("pixels"), f.GetField("area_m2"), f.GetGeometryRef().GetEnvelope())
            for f in layer
        )
        x0, y0 = 600000.0, 4500000.0
        assert found == [
            (3, 3 * PIXEL**2, (x0 + 4 * PIXEL, x0 + 6 * PIXEL, y0 - 3 * PIXEL, y0 - PIXEL)),
            (6, 6 * PIXEL**2, (x0, x0 + 3 * PIXEL, y0 - 2 * PIXEL, y0)),
        ]

    def test_wrong_extension_is_refused(self, tmp_path):
        with pytest.raises(ParameterError, match="GeoPackage"):
            AtomicPolygonWriter(tmp_path / "clouds.shp")


class TestByLayer:
    def test_replacing_our_layer_keeps_the_others(self, tmp_path: Path, keep: Path) -> None:
        """M2: ``--polygons keep.gpkg --overwrite`` destroyed ``roads`` and ``fields``."""
        assert write(keep, mask(tmp_path, 3), overwrite=True) == 3
        assert layers(keep) == {POLYGON_LAYER: 3, "roads": 1, "fields": 1}
        assert sorted(p.name for p in tmp_path.iterdir() if ".partial-" in p.name) == []

    def test_a_named_layer_is_added_beside_the_others(self, tmp_path: Path, keep: Path) -> None:
        """C3: Processing's ``ogr:dbname='keep.gpkg' table="clouds_new"`` kept only ``clouds``."""
        write(keep, mask(tmp_path, 4), overwrite=True, layer="clouds_new")
        assert layers(keep) == {POLYGON_LAYER: 2, "clouds_new": 4, "roads": 1, "fields": 1}

    def test_an_existing_file_is_still_refused_without_overwrite(
        self, tmp_path: Path, keep: Path
    ) -> None:
        with pytest.raises(OutputExistsError):
            AtomicPolygonWriter(keep)

    def test_a_canceled_run_leaves_every_layer_as_it_was(self, tmp_path: Path, keep: Path) -> None:
        before = layers(keep)
        with pytest.raises(CanceledError), AtomicPolygonWriter(keep, overwrite=True) as writer:
            writer.write(mask(tmp_path, 5), is_canceled=lambda: True)
        assert layers(keep) == before

    def test_a_file_that_is_no_geopackage_is_replaced_whole(self, tmp_path: Path) -> None:
        path = tmp_path / "old.gpkg"
        path.write_text("old")
        write(path, mask(tmp_path, 1), overwrite=True)
        assert layers(path) == {POLYGON_LAYER: 1}


class TestHeldOpen:
    @pytest.mark.skipif(not AUDIT.is_file(), reason="the audit's gpkg_wal.py is not in ../shared")
    def test_a_geopackage_another_program_holds_in_wal_mode(self, tmp_path: Path) -> None:
        """C5: os.replace put the new file under the holder's -wal: it read as the old one."""
        path = tmp_path / "c.gpkg"
        write(path, mask(tmp_path, 20))
        holder = subprocess.Popen(
            [sys.executable, str(AUDIT), "hold", str(path), "30"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "holding"
            assert (tmp_path / "c.gpkg-wal").exists()
            write(path, mask(tmp_path, 7), overwrite=True)
        finally:
            holder.kill()
            holder.wait()
        time.sleep(0.1)
        check = subprocess.run([sys.executable, str(AUDIT), "check", str(path)],
                               capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert "integrity: ['ok']" in check
        assert "clouds polygons: 7" in check and "'notes'" in check


HOLDER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[2], isolation_level=None)
if sys.argv[1] == "walwriter":
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("BEGIN IMMEDIATE")
    c.execute("CREATE TABLE IF NOT EXISTS notes(x)")
else:
    c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(120)
"""


class TestOutputsCommitTogether:
    """A GeoPackage another program holds: refused before any output is renamed (N-C5, N-H6)."""

    @pytest.mark.parametrize("mode", ["exclusive", "walwriter"])
    def test_a_locked_geopackage_replaces_nothing(
        self, tmp_path: Path, keep: Path, mode: str
    ) -> None:
        from cloud_fcn_plugin.engine.errors import OutputNotWritableError
        from cloud_fcn_plugin.engine.params import DetectionParams
        from cloud_fcn_plugin.engine.pipeline import detect_clouds
        from tests.onnx_models import SAMPLE

        output = tmp_path / "m.tif"
        detect_clouds(SAMPLE, output, DetectionParams(threshold=0.9))
        mask_before = output.read_bytes()
        layers_before = layers(keep)
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, mode, str(keep)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert holder.stdout.readline().strip() == "locked"
            params = DetectionParams(polygons=keep, overwrite=True)
            with pytest.raises(OutputNotWritableError, match="locked by another program") as error:
                detect_clouds(SAMPLE, output, params)
            assert "\n" not in str(error.value) and "choose another name" not in str(error.value)
        finally:
            holder.kill()
            holder.wait()
        assert output.read_bytes() == mask_before  # the mask was not replaced either
        assert layers(keep) == layers_before  # roads and fields are still there
        assert [p.name for p in tmp_path.iterdir() if ".partial-" in p.name] == []

    def test_the_geopackage_is_committed_before_any_rename(self) -> None:
        from cloud_fcn_plugin.engine.outputs.raster import AtomicRasterWriter

        assert AtomicPolygonWriter.commits_first
        assert not getattr(AtomicRasterWriter, "commits_first", False)

    def test_a_database_that_does_not_open_is_never_replaced(self, tmp_path: Path) -> None:
        """A file with SQLite's header is a database, whether GDAL opens it now or not."""
        from cloud_fcn_plugin.engine.errors import OutputNotWritableError

        path = tmp_path / "odd.gpkg"
        path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
        before = path.read_bytes()
        with pytest.raises(OutputNotWritableError, match="locked by another program"):
            write(path, mask(tmp_path, 1), overwrite=True)
        assert path.read_bytes() == before
