"""Build a realistic full-size Landsat 8 Level-1 test scene for the benchmark.

The scene is a tiled, compressed GeoTIFF with 4 uint16 bands in Landsat order B2,
B3, B4, B5 (or 6, B2-B7, for a model that reads SWIR), like a stack of real Level-1
band files. Its content is a mosaic of real patches from ``../shared/data`` (the
38-Cloud patch in DN as it is, 4-band scenes only; the L8 Biome patches, TOA
reflectance, turned back into DN with ``DN = (TOA + 0.1) / 2e-5``),
randomly rotated and flipped, so clouds, snow, water and cities all appear. Around it
lies fill (0): the footprint is a square tilted by 13 degrees that covers about two
thirds of the grid, as in a WRS-2 scene. The file is written strip by strip, so a
7,800 x 7,800 scene needs only a few tens of megabytes of memory to build.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

PATCH = 256  # side of the mosaic pieces
BLOCK = 256  # GeoTIFF block side, as in USGS Landsat Collection 2 COGs
#: Internal overviews of a Collection 2 COG band file (LSDS-1388): halvings down to
#: a few hundred pixels.
OVERVIEW_FACTORS = (2, 4, 8, 16)
TILT_DEG = 13.0  # WRS-2 scenes are tilted by about this much at mid latitudes
FOOTPRINT_SIDE = 0.8  # footprint side as a fraction of the grid side: ~36 % fill
L1_GAIN, L1_OFFSET = 2.0e-5, -0.1
CLOUD38_BANDS = ("blue", "green", "red", "nir")  # B2, B3, B4, B5


@dataclass(frozen=True)
class SceneInfo:
    """What was built: the file, its size and how many pixels are valid."""

    path: Path
    size: int
    valid_pixels: int
    patches: int

    @property
    def fill_fraction(self) -> float:
        """Share of the grid that is fill around the footprint."""
        return 1.0 - self.valid_pixels / self.size**2


def _quiet_open(path: Path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path)


def _cloud38_patches(data_dir: Path) -> list[np.ndarray]:
    """The 38-Cloud patch (DN) as four overlapping 256 x 256 crops."""
    root = data_dir / "38cloud_sample" / "38-Cloud_training"
    red_files = sorted((root / "train_red").glob("red_*.TIF"))
    crops = []
    for red_file in red_files:
        suffix = red_file.name[len("red_") :]
        bands = []
        for band in CLOUD38_BANDS:
            with _quiet_open(root / f"train_{band}" / f"{band}_{suffix}") as dataset:
                bands.append(dataset.read(1))
        stack = np.stack(bands).astype(np.uint16)
        side = stack.shape[1]
        for row in (0, side - PATCH):
            for col in (0, side - PATCH):
                crops.append(stack[:, row : row + PATCH, col : col + PATCH].copy())
    return crops


def _biome_patches(data_dir: Path, bands: int = 4) -> list[np.ndarray]:
    """L8 Biome patches without fill, turned from TOA reflectance into Level-1 DN."""
    patches = []
    for image in sorted((data_dir / "l8biome_patches").glob("*/Images/*.tif")):
        mask_file = image.parent.parent / "Masks" / image.name
        with _quiet_open(image) as dataset:
            toa = dataset.read(list(range(1, bands + 1)))[:, :PATCH, :PATCH]
        if mask_file.is_file():
            with _quiet_open(mask_file) as dataset:
                if (dataset.read(1) == 0).any():
                    continue  # fill belongs around the footprint only
        dn = np.rint((toa.astype(np.float64) - L1_OFFSET) / L1_GAIN)
        patches.append(np.clip(dn, 1, 65535).astype(np.uint16))
    return patches


def load_patches(data_dir: Path, bands: int = 4) -> list[np.ndarray]:
    """Return the real patches (bands, 256, 256) uint16 DN used to tile the scene.

    Args:
        data_dir: the shared real-data folder.
        bands: 4 (B2-B5) or 6 (B2-B7: only the L8 Biome patches have SWIR).

    Raises:
        FileNotFoundError: no patch was found under ``data_dir``.
    """
    cloud38 = _cloud38_patches(data_dir) if bands == 4 else []
    patches = cloud38 + _biome_patches(data_dir, bands)
    if not patches:
        raise FileNotFoundError(
            f"No 38-Cloud or L8 Biome patches under {data_dir}: pass --data ../shared/data."
        )
    return patches


def footprint(rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
    """Return True inside the tilted square footprint for pixel centres (rows x cols)."""
    centre = size / 2.0
    half = FOOTPRINT_SIDE * size / 2.0
    cos, sin = math.cos(math.radians(TILT_DEG)), math.sin(math.radians(TILT_DEG))
    y = rows[:, None] + 0.5 - centre
    x = cols[None, :] + 0.5 - centre
    return (np.abs(x * cos + y * sin) < half) & (np.abs(y * cos - x * sin) < half)


def _mosaic_strip(
    patches: list[np.ndarray], choice: np.ndarray, turns: np.ndarray, grid_row: int, width: int
) -> np.ndarray:
    """Return one strip (bands, 256, width) of patches, each rotated and maybe flipped."""
    strip = np.empty((patches[0].shape[0], PATCH, choice.shape[1] * PATCH), np.uint16)
    for grid_col in range(choice.shape[1]):
        patch = patches[choice[grid_row, grid_col]]
        turn = turns[grid_row, grid_col]
        piece = np.rot90(patch, k=turn % 4, axes=(1, 2))
        if turn >= 4:
            piece = piece[:, :, ::-1]
        strip[:, :, grid_col * PATCH : (grid_col + 1) * PATCH] = piece
    return strip[:, :, :width]


def build_scene(
    path: Path, size: int, data_dir: Path, seed: int = 0, bands: int = 4
) -> SceneInfo:
    """Write a ``size`` x ``size`` Level-1 DN scene to ``path`` strip by strip.

    Args:
        path: GeoTIFF to create (replaced if it exists).
        size: rows and columns.
        data_dir: the shared real-data folder.
        seed: makes the mosaic reproducible.
        bands: 4 (B2-B5) or 6 (B2-B7).
    """
    patches = load_patches(data_dir, bands)
    rng = np.random.default_rng(seed)
    cells = math.ceil(size / PATCH)
    choice = rng.integers(0, len(patches), (cells, cells))
    turns = rng.integers(0, 8, (cells, cells))
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": bands, "dtype": "uint16",
        "crs": CRS.from_epsg(32617), "transform": from_origin(300000.0, 4400000.0, 30.0, 30.0),
        "nodata": 0, "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK,
        "compress": "DEFLATE", "predictor": 2, "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    valid_pixels = 0
    cols = np.arange(size)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.descriptions = tuple(f"B{band}" for band in range(2, 2 + bands))
        for grid_row in range(cells):
            row_off = grid_row * PATCH
            height = min(PATCH, size - row_off)
            strip = _mosaic_strip(patches, choice, turns, grid_row, size)[:, :height]
            inside = footprint(np.arange(row_off, row_off + height), cols, size)
            strip[:, ~inside] = 0
            valid_pixels += int(np.count_nonzero(inside))
            dataset.write(strip, window=rasterio.windows.Window(0, row_off, size, height))
    return SceneInfo(path=path, size=size, valid_pixels=valid_pixels, patches=len(patches))


# The Biome patches' 8 bands, in their order, as Level-1 band files (B10 last).
PRODUCT_BANDS = (2, 3, 4, 5, 6, 7, 9, 10)
PRODUCT_ID = "LC80170332020153LGN00"
#: Sun elevation and azimuth (degrees) of the benchmark product: path 17 row 33 on 1 June.
SUN = (65.0, 127.0)
MTL_TEMPLATE = Path("scenes/LC80200392015216LGN00_L1T_30m/LC80200392015216LGN00_MTL.txt")
#: The shared Level-2 scene whose MTL :func:`build_level2_product` takes.
LEVEL2_MTL_FOLDER = Path("scenes/LC08_L2SP_005009_20150710_C2_500m")


def _mtl_constant(text: str, key: str) -> float:
    found = re.search(rf"{key} = ([0-9.E+-]+)", text)
    if found is None:
        raise ValueError(f"The MTL template lacks {key}.")
    return float(found.group(1))


def _full_biome_patches(data_dir: Path) -> list[np.ndarray]:
    """The L8 Biome patches without fill (8, 256, 256): TOA reflectance of B2-B7 and B9,
    B10 in kelvin."""
    patches = []
    for image in sorted((data_dir / "l8biome_patches").glob("*/Images/*.tif")):
        mask_file = image.parent.parent / "Masks" / image.name
        with _quiet_open(mask_file) as dataset:
            if (dataset.read(1) == 0).any():
                continue
        with _quiet_open(image) as dataset:
            patches.append(dataset.read()[:, :PATCH, :PATCH].astype(np.float64))
    if not patches:
        raise FileNotFoundError(f"No L8 Biome patches under {data_dir}: pass --data.")
    return patches


def _biome_product_patches(data_dir: Path, template: str) -> list[np.ndarray]:
    """The L8 Biome patches without fill as Level-1 DN of B2-B7, B9 and B10 (8, 256, 256).

    As ``../shared/tools/biome_products.py`` writes them: reflective bands with the
    standard 2e-5 / -0.1 rescaling (:func:`build_product` scales the MTL's to match its
    sun elevation), B10 from
    kelvin back to DN with the template's K1, K2 and radiance rescaling.
    """
    k1, k2 = _mtl_constant(template, "K1_CONSTANT_BAND_10"), _mtl_constant(
        template, "K2_CONSTANT_BAND_10"
    )
    mult = _mtl_constant(template, "RADIANCE_MULT_BAND_10")
    add = _mtl_constant(template, "RADIANCE_ADD_BAND_10")
    patches = []
    for values in _full_biome_patches(data_dir):
        dn = np.empty(values.shape, np.uint16)
        dn[:7] = np.clip(np.rint((values[:7] - L1_OFFSET) / L1_GAIN), 1, 65535)
        kelvin = np.maximum(values[7], 150.0)
        radiance = k1 / (np.exp(k2 / kelvin) - 1.0)
        dn[7] = np.clip(np.rint((radiance - add) / mult), 1, 65535)
        patches.append(dn)
    return patches


def _sized_mtl(mtl: str, size: int) -> str:
    """An MTL's text with the benchmark's sun (:data:`SUN`) and a ``size`` x ``size`` grid."""
    elevation, azimuth = SUN
    mtl = re.sub(r"SUN_ELEVATION = [0-9.]+", f"SUN_ELEVATION = {elevation:.8f}", mtl)
    mtl = re.sub(r"SUN_AZIMUTH = [-0-9.]+", f"SUN_AZIMUTH = {azimuth:.8f}", mtl)
    for key in ("REFLECTIVE_LINES", "REFLECTIVE_SAMPLES", "THERMAL_LINES", "THERMAL_SAMPLES"):
        mtl = re.sub(rf"{key} = \d+", f"{key} = {size}", mtl)
    return mtl


def build_product(
    folder: Path, size: int, data_dir: Path, seed: int = 0, overviews: bool = True
) -> SceneInfo:
    """Write a ``size`` x ``size`` Level-1 product folder (B2-B7, B9, B10 and an MTL).

    The band files are tiled (256 px blocks), DEFLATE-compressed uint16 GeoTIFFs with
    internal overviews (averaged; ``overviews=False``: none, as in Collection 1), as in
    a USGS Collection 2 product; their content is the same kind of mosaic of real L8
    Biome patches as :func:`build_scene`, inside the same tilted footprint. The MTL is
    the shared 30 m product's with this product's ID and a June morning sun at 40° N
    (:data:`SUN`), so the shadow stage casts along the sun as on a real product; its
    reflectance rescaling is multiplied by sin(elevation), so the engine's
    ``(MULT * DN + ADD) / sin(elevation)`` gives back the patches' TOA reflectance.
    Written strip by strip.
    """
    template = (data_dir / MTL_TEMPLATE).read_text()
    mtl = _sized_mtl(template.replace("LC80200392015216LGN00", PRODUCT_ID), size)
    sine = math.sin(math.radians(SUN[0]))
    mtl = re.sub(
        r"(REFLECTANCE_(?:MULT|ADD)_BAND_\d+) = ([-0-9.E+]+)",
        lambda m: f"{m.group(1)} = {float(m.group(2)) * sine:.10E}",
        mtl,
    )
    patches = _biome_product_patches(data_dir, template)
    names = [f"{PRODUCT_ID}_B{band}.TIF" for band in PRODUCT_BANDS]
    return _write_product(folder, size, patches, names, (f"{PRODUCT_ID}_MTL.txt", mtl), seed,
                          overviews)  # fmt: skip


def build_level2_product(folder: Path, size: int, data_dir: Path, seed: int = 0) -> SceneInfo:
    """Write a ``size`` x ``size`` Level-2 product folder (SR_B2-SR_B7, ST_B10 and an MTL).

    The same mosaic as :func:`build_product`, as ``scripts/biome_level2_products.py``
    writes the patches (TOA taken as surface reflectance, brightness temperature as
    surface temperature, Collection 2 scaling), with the MTL of the shared Level-2 scene
    ``005009`` given this size and :data:`SUN`.
    """
    from biome_level2_products import SR_OFFSET, SR_SCALE, ST_OFFSET, ST_SCALE

    template = next((data_dir / LEVEL2_MTL_FOLDER).glob("*_MTL.txt"))
    product_id = template.name.removesuffix("_MTL.txt")
    mtl = _sized_mtl(template.read_text(), size)
    patches = []
    for values in _full_biome_patches(data_dir):
        dn = np.empty((7, PATCH, PATCH), np.uint16)
        dn[:6] = np.clip(np.rint((values[:6] - SR_OFFSET) / SR_SCALE), 1, 65535)
        dn[6] = np.clip(np.rint((values[7] - ST_OFFSET) / ST_SCALE), 1, 65535)
        patches.append(dn)
    names = [f"{product_id}_SR_B{band}.TIF" for band in range(2, 8)]
    names.append(f"{product_id}_ST_B10.TIF")
    return _write_product(folder, size, patches, names, (template.name, mtl), seed, True)


def _write_product(
    folder: Path,
    size: int,
    patches: list[np.ndarray],
    names: list[str],
    mtl: tuple[str, str],
    seed: int,
    overviews: bool,
) -> SceneInfo:
    """Write the mosaic of ``patches`` (one band file per name) and the MTL, strip by strip."""
    rng = np.random.default_rng(seed)
    cells = math.ceil(size / PATCH)
    choice = rng.integers(0, len(patches), (cells, cells))
    turns = rng.integers(0, 8, (cells, cells))
    folder.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint16",
        "crs": CRS.from_epsg(32617), "transform": from_origin(300000.0, 4400000.0, 30.0, 30.0),
        "nodata": 0, "tiled": True, "blockxsize": BLOCK, "blockysize": BLOCK,
        "compress": "DEFLATE", "predictor": 2, "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    valid_pixels = 0
    cols = np.arange(size)
    datasets = [rasterio.open(folder / name, "w", **profile) for name in names]
    try:
        for grid_row in range(cells):
            row_off = grid_row * PATCH
            height = min(PATCH, size - row_off)
            strip = _mosaic_strip(patches, choice, turns, grid_row, size)[:, :height]
            inside = footprint(np.arange(row_off, row_off + height), cols, size)
            strip[:, ~inside] = 0
            valid_pixels += int(np.count_nonzero(inside))
            window = rasterio.windows.Window(0, row_off, size, height)
            for dataset, band in zip(datasets, strip, strict=True):
                dataset.write(band, 1, window=window)
        for dataset in datasets if overviews else ():
            dataset.build_overviews(list(OVERVIEW_FACTORS), rasterio.enums.Resampling.average)
    finally:
        for dataset in datasets:
            dataset.close()
    (folder / mtl[0]).write_text(mtl[1])
    return SceneInfo(path=folder, size=size, valid_pixels=valid_pixels, patches=len(patches))
