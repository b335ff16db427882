"""The product's own QA band (CFMask), decoded into the mask's codes.

Every Landsat 8/9 product ships a bit-packed quality band. Three layouts exist:

* Collection 2 ``QA_PIXEL`` (Level-1 and Level-2): bit 0 fill, bit 1 dilated cloud,
  bit 2 cirrus, bit 3 cloud, bit 4 cloud shadow.
* Collection 1 ``BQA``: bit 0 fill, bit 4 cloud, bits 5-6 cloud confidence, bits 7-8
  cloud-shadow confidence, bits 9-10 snow/ice confidence, bits 11-12 cirrus confidence
  (USGS "Landsat Quality Assessment" tools, ``lookup_dict.py``).
* Pre-collection ``BQA`` (LC8 products named like ``LC80200392015216LGN00``): bit 0
  designated fill, bits 4-5 water, 10-11 snow/ice, 12-13 cirrus and 14-15 cloud
  confidence; it has no cloud-shadow field (Landsat 8 Data Users Handbook v1, 5.4).

Two-bit confidences read 0 not determined, 1 low, 2 medium, 3 high; only high counts.

Decoded (first rule that holds wins): fill -> 255; cloud -> 1 (thick cloud); cirrus ->
2 (thin cloud); shadow -> 3; else 0 (clear). C2: cloud is bit 1 or bit 3, cirrus bit 2,
shadow bit 4. C1: cloud is high cloud confidence, cirrus high cirrus confidence,
shadow high shadow confidence. Pre-collection: the same without shadow.

The band is read window by window (:func:`iter_qa_strips`), so memory does not grow
with the scene, and decoding is a handful of integer operations per pixel.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..classes import CLEAR, CLOUD_SHADOW, NODATA, THICK_CLOUD, THIN_CLOUD
from ..errors import BandMismatchError, CanceledError, CloudFcnError, UnsupportedDataError
from ..files.gdal_read import open_raster, reading
from ..inference.decision import ClassCounts
from ..params import IsCanceled, Progress
from .bands import BAND_FILE_PATTERN
from .mtl import MtlMetadata
from .products import product_folder_of

C2, C1, PRE_COLLECTION = "c2", "c1", "pre"
#: Human names of the layouts, for messages.
FLAVOUR_NAMES = {
    C2: "Collection 2 QA_PIXEL",
    C1: "Collection 1 BQA",
    PRE_COLLECTION: "pre-collection BQA",
}
_QA_PIXEL = re.compile(r"_QA_PIXEL\.tiff?$", re.IGNORECASE)
_BQA = re.compile(r"_BQA\.tiff?$", re.IGNORECASE)
_C1_NAME = re.compile(r"^L[COTE]0\d_L1[A-Z]{2}_\d{6}_\d{8}_\d{8}_01_(T1|T2|RT)_", re.IGNORECASE)
_PRE_NAME = re.compile(r"^L[COTE]8\d{13}[A-Z]{3}\d{2}_", re.IGNORECASE)
_MTL = re.compile(r"_MTL\.txt$", re.IGNORECASE)
_ROWS = 512  # rows per window when streaming the band

#: The sentence said wherever the QA band is asked for and the input has none.
NO_QA_BAND = (
    "{name} has no product QA band (QA_PIXEL or BQA): the product QA band can only be "
    "decoded from a Landsat product folder or its MTL file; choose a network model instead."
)



@dataclass(frozen=True)
class QaBand:
    """A product's QA band file and its bit layout.

    Attributes:
        path: the ``*_QA_PIXEL.TIF`` or ``*_BQA.TIF`` file.
        flavour: ``"c2"``, ``"c1"`` or ``"pre"``.
    """

    path: Path
    flavour: str

    @property
    def label(self) -> str:
        """``"Collection 1 BQA"`` and the like."""
        return FLAVOUR_NAMES[self.flavour]


def _bits(qa: np.ndarray, first: int, count: int = 1) -> np.ndarray:
    return (qa >> first) & ((1 << count) - 1)


def decode_qa(qa: np.ndarray, flavour: str) -> np.ndarray:
    """Return the uint8 mask codes of a QA array (see the module docstring for the rules).

    The rules are applied once to all 65,536 values of a 16-bit QA band; decoding is
    then one table look-up per pixel (about 15 times faster than the bit tests).

    Args:
        qa: the QA band's integer values (16 bits), any shape.
        flavour: ``"c2"``, ``"c1"`` or ``"pre"``.
    """
    return _lookup_table(flavour)[qa.astype(np.uint16, copy=False)]


@functools.cache
def _lookup_table(flavour: str) -> np.ndarray:
    """The mask code of every 16-bit QA value under ``flavour``'s rules."""
    table = _decode_bits(np.arange(1 << 16, dtype=np.uint32).astype(np.uint16), flavour)
    table.flags.writeable = False
    return table


def _decode_bits(qa: np.ndarray, flavour: str) -> np.ndarray:
    """The rules of the module docstring, bit by bit."""
    if flavour == C2:
        cloud = (_bits(qa, 1) | _bits(qa, 3)).astype(bool)
        cirrus = _bits(qa, 2).astype(bool)
        shadow = _bits(qa, 4).astype(bool)
    elif flavour == C1:
        cloud = _bits(qa, 5, 2) == 3
        cirrus = _bits(qa, 11, 2) == 3
        shadow = _bits(qa, 7, 2) == 3
    elif flavour == PRE_COLLECTION:
        cloud = _bits(qa, 14, 2) == 3
        cirrus = _bits(qa, 12, 2) == 3
        shadow = None
    else:
        raise ValueError(f"unknown QA layout {flavour!r}: use c2, c1 or pre")
    mask = np.full(qa.shape, CLEAR, np.uint8)
    if shadow is not None:
        mask[shadow] = CLOUD_SHADOW
    mask[cirrus] = THIN_CLOUD
    mask[cloud] = THICK_CLOUD
    mask[_bits(qa, 0).astype(bool)] = NODATA
    return mask


def _product_folder(input_path: Path) -> Path | None:
    """The product folder an input belongs to: the folder, an MTL's or a band file's."""
    if input_path.is_dir():
        return input_path
    if _MTL.search(input_path.name):
        return input_path.parent
    return product_folder_of(input_path)


def _collection_of(mtl: MtlMetadata | None, qa_file: Path) -> str:
    """Tell a Collection 1 BQA from a pre-collection one: the product's MTL first, else the name."""
    if mtl is not None:
        return PRE_COLLECTION if mtl.collection == 0 else C1
    if _PRE_NAME.search(qa_file.name):
        return PRE_COLLECTION
    if _C1_NAME.search(qa_file.name):
        return C1
    raise UnsupportedDataError(
        f"{qa_file.name}: cannot tell a Collection 1 BQA from a pre-collection one (no MTL "
        "file, and the name is neither LC08_L1TP_..._01_T1_BQA.TIF nor "
        "LC8...LGN00_BQA.TIF): put the product's MTL file beside it."
    )


def find_qa_band(input_path: str | Path) -> QaBand | None:
    """The QA band of a Landsat product (given as its folder, its MTL or one of its bands).

    The QA band belongs to its scene: the one the product's MTL names
    (``FILE_NAME_QUALITY_L1_PIXEL``, ``FILE_NAME_BAND_QUALITY``), else the one named with
    the product's ID (from the MTL, or from the band file given); a folder of several
    products given as the folder is refused. The band found is checked
    (:func:`check_qa_band`): 16-bit unsigned integers, on the grid of the product's bands.

    Returns:
        The band and its layout, or None when the input is not a product folder or
        its product has no QA band there.

    Raises:
        UnsupportedDataError: a BQA whose collection cannot be told, several products and
            no way to tell which is meant, or a QA band that is not 16-bit integers.
        BandMismatchError: the QA band is not on the grid of the product's bands.
        InputReadError, MetadataError: the QA band or the MTL cannot be read.
    """
    path = Path(input_path).expanduser()
    folder = _product_folder(path) if path.exists() else None
    if folder is None:
        return None
    mtl = _product_mtl(path, folder)
    file = _qa_file(path, folder, mtl)
    if file is None:
        return None
    qa = QaBand(file, C2 if _QA_PIXEL.search(file.name) else _collection_of(mtl, file))
    check_qa_band(qa, folder, mtl)
    return qa


def _product_mtl(path: Path, folder: Path) -> MtlMetadata | None:
    """The MTL of the product meant: the one given, the band file's, or the folder's only one."""
    from .mtl import parse_mtl

    if _MTL.search(path.name) and not path.is_dir():
        return parse_mtl(path)
    mtls = sorted(f for f in folder.iterdir() if _MTL.search(f.name))
    if not path.is_dir():  # a band file: its own product's MTL
        mtls = [m for m in mtls if path.name.lower().startswith(_stem(m).lower() + "_")] or mtls
    if not mtls:
        return None
    if len(mtls) > 1:
        raise UnsupportedDataError(
            f"{folder.name} holds {len(mtls)} products ({', '.join(m.name for m in mtls[:3])}): "
            "give the MTL file of the one you mean, or keep each product in its own folder."
        )
    return parse_mtl(mtls[0])


def _stem(mtl: Path) -> str:
    return _MTL.sub("", mtl.name)


def _qa_file(path: Path, folder: Path, mtl: MtlMetadata | None) -> Path | None:
    """The QA band file of the product meant (see :func:`find_qa_band`), None when absent."""
    files = sorted(f for f in folder.iterdir() if _QA_PIXEL.search(f.name) or _BQA.search(f.name))
    files = [f for f in files if f.is_file()]
    files.sort(key=lambda f: _QA_PIXEL.search(f.name) is None)  # QA_PIXEL before BQA
    if mtl is not None and mtl.qa_file:
        named = [f for f in files if f.name.lower() == mtl.qa_file.lower()]
        return named[0] if named else None
    if mtl is not None:
        prefix = mtl.product_id.lower() + "_"
        return next((f for f in files if f.name.lower().startswith(prefix)), None)
    if not path.is_dir():  # a band file without an MTL: the QA band named like it
        match = BAND_FILE_PATTERN.search(path.name)
        prefix = path.name[: match.start()].lower() if match else ""
        files = [f for f in files if prefix and f.name.lower().startswith(prefix + "_")]
    products = {_QA_PIXEL.sub("", _BQA.sub("", f.name)).lower() for f in files}
    if len(products) > 1:
        raise UnsupportedDataError(
            f"{folder.name} holds the QA bands of {len(products)} products: give the MTL file "
            "of the one you mean, or keep each product in its own folder."
        )
    return files[0] if files else None


def check_qa_band(qa: QaBand, folder: Path, mtl: MtlMetadata | None) -> None:
    """A QA band is 16-bit unsigned integers on the grid (size, transform, CRS) of its bands.

    Raises:
        UnsupportedDataError: it holds another type (floating point, 32-bit integers).
        BandMismatchError: it is not on the grid of the product's band files.
        InputReadError: it cannot be read.
    """
    from .products import product_band_files

    with open_raster(qa.path) as dataset, reading(qa.path):
        dtype, grid = dataset.dtypes[0], _grid(dataset)
    if dtype != "uint16":
        raise UnsupportedDataError(
            f"{qa.path.name} holds {dtype} values, not the 16-bit unsigned integers of a "
            f"{qa.label}: replace it with the product's own QA band."
        )
    try:
        bands = product_band_files(folder, mtl)
    except CloudFcnError:  # bands missing: the run that needs them says so
        bands = None
    if not bands:
        return
    with open_raster(bands[0]) as dataset, reading(bands[0]):
        band_grid = _grid(dataset)
    if grid != band_grid:
        raise BandMismatchError(
            f"{qa.path.name} ({grid[0]}x{grid[1]}) is not on the grid of the product's bands "
            f"({bands[0].name}, {band_grid[0]}x{band_grid[1]}): it belongs to another scene "
            "or was cut; replace it with the product's own QA band."
        )


def _grid(dataset: object) -> tuple:
    return (
        dataset.width, dataset.height, tuple(dataset.transform), dataset.crs  # type: ignore[attr-defined]
    )


def require_qa_band(input_path: str | Path) -> QaBand:
    """Like :func:`find_qa_band`, raising one clear line when there is none.

    Raises:
        UnsupportedDataError: the input has no QA band.
    """
    qa = find_qa_band(input_path)
    if qa is None:
        raise UnsupportedDataError(NO_QA_BAND.format(name=Path(input_path).name))
    return qa


@dataclass(frozen=True)
class QaStrip:
    """Decoded rows of the QA band.

    Attributes:
        row_off: first row in the band.
        mask: uint8 codes (0-3, 255 fill).
    """

    row_off: int
    mask: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """True where the band has data."""
        return self.mask != NODATA


def iter_qa_strips(
    qa: QaBand,
    progress: Progress | None = None,
    is_canceled: IsCanceled | None = None,
    rows: int = _ROWS,
) -> Iterator[QaStrip]:
    """Yield the decoded QA band top to bottom, ``rows`` rows at a time.

    Raises:
        CanceledError: ``is_canceled()`` returned true between two windows.
    """
    from rasterio.windows import Window

    with open_raster(qa.path) as dataset:
        height, width = dataset.height, dataset.width
        for row in range(0, height, rows):
            if is_canceled is not None and is_canceled():
                raise CanceledError("Canceled by the user: no output was written.")
            window = Window(0, row, width, min(rows, height - row))
            with reading(qa.path):  # a truncated QA band: one line, not a rasterio error
                values = dataset.read(1, window=window)
            yield QaStrip(row, decode_qa(values, qa.flavour))
            if progress is not None:
                progress(100.0 * min(row + rows, height) / height)


def qa_counts(qa: QaBand) -> ClassCounts:
    """Pixels of each class in the decoded QA band (fill not counted)."""
    counts = ClassCounts()
    for strip in iter_qa_strips(qa):
        counts.add(strip.mask)
    return counts


@dataclass(frozen=True)
class QaComparison:
    """The product QA band's cloud cover beside a network mask's.

    Attributes:
        band: the QA band compared with.
        qa: its class counts.
        mask: the network mask's class counts (as written).
    """

    band: QaBand
    qa: ClassCounts
    mask: ClassCounts

    #: Cloud covers differ strongly: at least this many percentage points apart...
    POINTS: ClassVar[float] = 5.0
    #: ...and one at least this many times the other.
    RATIO: ClassVar[float] = 1.5

    @property
    def differs(self) -> bool:
        """Whether the two cloud covers differ strongly (see ``POINTS`` and ``RATIO``)."""
        ours, theirs = self.mask.cloud_cover, self.qa.cloud_cover
        low, high = sorted((ours, theirs))
        return high - low >= self.POINTS and high >= self.RATIO * low

    @property
    def empty(self) -> bool:
        """Whether the QA band has no valid pixel (all fill): it says nothing of the mask."""
        return self.qa.valid == 0

    def summary(self) -> str:
        """``"The product's QA band (Collection 1 BQA) flags 14.9 % cloud, this mask 3.7 %."``"""
        if self.empty:
            return (
                f"The product's QA band ({self.band.label}, {self.band.path.name}) is all "
                "fill (no valid pixel): it cannot be compared with this mask."
            )
        return (
            f"The product's QA band ({self.band.label}) flags {self.qa.cloud_cover:.1f} % "
            f"cloud and {self.qa.shadow_cover:.1f} % shadow, this mask "
            f"{self.mask.cloud_cover:.1f} % cloud and {self.mask.shadow_cover:.1f} % shadow."
        )

    def warning(self) -> str | None:
        """The warning to show when the covers differ strongly, else None."""
        if self.empty or not self.differs:
            return None
        return (
            f"The product's QA band flags {self.qa.cloud_cover:.1f} % cloud, this mask "
            f"{self.mask.cloud_cover:.1f} %: check the mask; the probability layer shows "
            "where the network hesitated."
        )


def agreement(mask: np.ndarray, other: np.ndarray) -> float:
    """Percent of the pixels valid in both masks that hold the same code."""
    both = (mask != NODATA) & (other != NODATA)
    total = int(np.count_nonzero(both))
    return 100.0 * int(np.count_nonzero((mask == other) & both)) / total if total else 0.0
