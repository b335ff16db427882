"""Labelled patch collections on disk: 38-Cloud/95-Cloud, L8 Biome patches, image+mask pairs.

Each layout is turned into a list of :class:`PatchSpec`; a spec opens its image
with the engine's own reader (:func:`cloud_fcn_plugin.engine.scene.reader.open_scene`),
so training sees exactly the reflectance scaling inference applies, and decodes
its mask into a cloud target and a validity mask. Lists from several layouts
are simply concatenated to mix datasets.

Layouts:

* ``38cloud``: ``train_{red,green,blue,nir,gt}/<band>_<patch>.TIF`` and
  ``training_patches_38-Cloud.csv`` (95-Cloud: ``training_patches_95-Cloud.csv``);
  optionally only the patches of a ``*nonempty*.csv`` list. Level-1 DN without MTL.
  The test split (``test_*`` folders) has no per-patch truth.
* ``biome``: ``Images/*.tif`` (8 bands: B2, B3, B4, B5, B6, B7, B9, B10; TOA) and
  ``Masks/*.tif`` (64 shadow, 128 clear, 192 thin cloud, 255 cloud, 0 fill).
* ``pairs``: ``IMAGES_DIR`` and ``MASKS_DIR`` with files of the same stem.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputNotFoundError, InputReadError, ParameterError
from ..files.gate import LIST_BYTES, read_small_text
from ..files.gdal_read import open_raster, reading
from ..scene.bands import MODEL_BANDS
from ..scene.reader import SceneReader, open_scene
from .augment import Patch

CLOUD38_BANDS = ("red", "green", "blue", "nir")
BIOME_BANDS = (3, 2, 1, 4)
LAYOUTS = ("38cloud", "biome", "pairs")
_RASTER_SUFFIXES = (".tif", ".tiff")
_PATCH_NAME = re.compile(r"^patch_(\d+)_(\d+)_by_(\d+)_(.+)$")


@dataclass(frozen=True)
class MaskCoding:
    """How a label raster encodes cloud, fill, and (where labelled) shadow and thin cloud.

    Attributes:
        cloud: values that mean cloud; ``None`` means every non-zero value not in ``fill``.
        fill: values that mean no label (ignored by loss and metrics).
        shadow: values that mean cloud shadow; ``None`` when the source does not label
            shadow (then only its cloud pixels are known not to be shadow).
        thin: values among ``cloud`` that mean thin cloud (the others are thick);
            ``None`` when the source does not tell thick from thin.
        soft: the mask holds a teacher's cloud share, not classes: value ``v`` in
            ``1 .. soft + 1`` means ``(v - 1) / soft`` and 0 means no label (``cloud``,
            ``fill``, ``shadow`` and ``thin`` are then not used). Training learns the
            share itself; metrics count a share of at least one half as cloud.
    """

    cloud: tuple[int, ...] | None = None
    fill: tuple[int, ...] = ()
    shadow: tuple[int, ...] | None = None
    thin: tuple[int, ...] | None = None
    soft: int | None = None

    def decode(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(cloud bool, labelled bool)`` for a label raster."""
        if self.soft is not None:
            share, labelled = self.decode_share(mask)
            return (share >= 0.5) & labelled, labelled
        labelled = ~np.isin(mask, self.fill) if self.fill else np.ones(mask.shape, bool)
        if self.cloud is None:
            return (mask != 0) & labelled, labelled
        return np.isin(mask, self.cloud), labelled

    def decode_share(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(cloud share float32 in 0..1, labelled bool)``: the training target."""
        if self.soft is None:
            cloud, labelled = self.decode(mask)
            return cloud.astype(np.float32), labelled
        labelled = mask != 0
        share = (mask.astype(np.float32) - 1.0) / np.float32(self.soft)
        return np.clip(np.where(labelled, share, 0.0), 0.0, 1.0).astype(np.float32), labelled

    def decode_classes(self, mask: np.ndarray) -> np.ndarray:
        """Shadow and thin-cloud targets with where each is known: float32 (4, H, W).

        Channels: shadow, shadow known, thin (share of the cloud that is thin), thin
        known. A class the source does not label is unknown there, never "not that
        class": 38-Cloud's clear pixels may be shadow, so they teach nothing about it.
        """
        cloud, labelled = self.decode(mask)
        if self.shadow is None:
            shadow, shadow_known = np.zeros(mask.shape, bool), cloud & labelled
        else:
            shadow, shadow_known = np.isin(mask, self.shadow) & labelled, labelled
        if self.thin is None:
            thin, thin_known = np.zeros(mask.shape, bool), np.zeros(mask.shape, bool)
        else:
            thin, thin_known = np.isin(mask, self.thin) & cloud, cloud & labelled
        return np.stack([shadow, shadow_known, thin, thin_known]).astype(np.float32)


CLOUD38_CODING = MaskCoding(cloud=None, fill=())
BIOME_CODING = MaskCoding(cloud=(192, 255), fill=(0,), shadow=(64,), thin=(192,))


@dataclass(frozen=True)
class PatchSpec:
    """Where one labelled patch lives and how to read it.

    Attributes:
        name: patch name (unique within a dataset), used in reports.
        image: multi-band raster, or ``None`` when ``band_files`` is given.
        band_files: red, green, blue, NIR single-band rasters (38-Cloud).
        mask: label raster, or ``None`` when the truth is elsewhere (38-Cloud test).
        bands: 1-based red, green, blue, NIR indices in ``image``.
        product: product level passed to the reader (``l1``, ``toa``, ``sr``, ``auto``).
        coding: how the mask encodes cloud and fill.
        dataset: short label of the collection the patch came from.
        model_bands: Landsat band numbers to read (default red, green, blue, NIR;
            :data:`~cloud_fcn_plugin.engine.scene.bands.FULLBAND_BANDS` for the full-band model).
    """

    name: str
    image: Path | None = None
    band_files: tuple[Path, Path, Path, Path] | None = None
    mask: Path | None = None
    bands: tuple[int, int, int, int] | None = None
    product: str = "auto"
    coding: MaskCoding = field(default_factory=MaskCoding)
    dataset: str = ""
    model_bands: tuple[int, ...] = MODEL_BANDS

    def open_reader(self) -> SceneReader:
        """Open the image with the engine's reader (the inference code path)."""
        if self.band_files is not None:
            return open_scene(band_files=self.band_files, product=self.product)
        if self.model_bands != MODEL_BANDS:
            return open_scene(self.image, product=self.product, model_bands=self.model_bands)
        return open_scene(self.image, bands=self.bands, product=self.product)

    def read_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(cloud bool, labelled bool)`` from the mask raster."""
        return self.coding.decode(self._read_mask())

    def read_class_truth(self) -> np.ndarray:
        """Shadow and thin-cloud targets and where they are known (see ``decode_classes``)."""
        return self.coding.decode_classes(self._read_mask())

    def _read_mask(self) -> np.ndarray:
        if self.mask is None:
            raise ParameterError(f"Patch {self.name} has no per-patch ground truth.")
        return read_band(self.mask)

    def load(self) -> Patch:
        """Read reflectance, target and validity into memory."""
        with self.open_reader() as reader:
            reflectance, valid = reader.read_all()
            product = reader.product
            thermal = tuple(t.index for t in reader.scaling.thermal)
        cloud, labelled = self.coding.decode_share(self._read_mask())
        if cloud.shape != valid.shape:
            raise InputReadError(
                f"Mask {self.mask} is {cloud.shape[1]}x{cloud.shape[0]} but its image is "
                f"{valid.shape[1]}x{valid.shape[0]}: pair each image with its own mask."
            )
        valid = valid & labelled
        reflectance = np.where(valid, reflectance, 0.0).astype(np.float32)
        classes = self.read_class_truth() * valid
        return Patch(reflectance, cloud * valid, valid, product, thermal, classes)


def read_band(path: Path) -> np.ndarray:
    """Read the first band of a raster (a label), through the engine's file gate.

    Raises:
        InputNotFoundError, InputReadError: one line naming the file (a FIFO, a system
            file, a truncated raster), as for any input of a run.
    """
    with open_raster(path) as src, reading(path):
        return src.read(1)


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise InputNotFoundError(f"{what} folder {path} does not exist: check the dataset path.")
    return path


def _rasters(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in _RASTER_SUFFIXES}


def read_patch_list(csv_path: Path) -> list[str]:
    """Patch names listed in a 38-Cloud/95-Cloud CSV (one column, header ``name``)."""
    text = read_small_text(csv_path, "the patch list", LIST_BYTES)
    rows = [row[0].strip() for row in csv.reader(io.StringIO(text)) if row and row[0].strip()]
    return [r for r in rows if r.lower() != "name"]


def _find_csv(root: Path, split: str, nonempty: bool) -> Path:
    prefix = "training" if split == "train" else "test"
    candidates = sorted(root.glob(f"{prefix}_patches_*.csv"))
    chosen = [c for c in candidates if ("nonempty" in c.name.lower()) == nonempty]
    if not chosen:
        kind = "non-empty patch list" if nonempty else "patch list"
        raise InputNotFoundError(
            f"No {kind} {prefix}_patches_*.csv in {root}: point at the 38-Cloud/95-Cloud "
            f"{split} folder."
        )
    return chosen[0]


def cloud38_patches(
    root: str | Path,
    split: str = "train",
    nonempty: bool = False,
    csv_path: str | Path | None = None,
) -> list[PatchSpec]:
    """List the patches of a 38-Cloud or 95-Cloud folder.

    Args:
        root: folder holding ``train_red/`` ... (or ``test_red/`` ...) and the CSV.
        split: ``train`` or ``test`` (the test split has no per-patch truth).
        nonempty: use the ``*nonempty*.csv`` list (patches with some valid pixels).
        csv_path: explicit patch list, overriding the one found in ``root``.
    """
    root = Path(root)
    if split not in ("train", "test"):
        raise ParameterError(f"38-Cloud split must be train or test, got {split!r}.")
    listing = Path(csv_path) if csv_path else _find_csv(root, split, nonempty)
    folders = {b: _require_dir(root / f"{split}_{b}", f"38-Cloud {b}") for b in CLOUD38_BANDS}
    gt_dir = root / f"{split}_gt"
    specs = []
    for name in read_patch_list(listing):
        files = tuple(folders[b] / f"{b}_{name}.TIF" for b in CLOUD38_BANDS)
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise InputNotFoundError(
                f"Patch {name} listed in {listing.name} lacks {missing[0]}: "
                "download the complete dataset or fix the list."
            )
        gt = gt_dir / f"gt_{name}.TIF"
        specs.append(
            PatchSpec(
                name=name,
                band_files=files,  # type: ignore[arg-type]
                mask=gt if gt.is_file() else None,
                product="l1",
                coding=CLOUD38_CODING,
                dataset="38cloud",
            )
        )
    return specs


def biome_patches(root: str | Path) -> list[PatchSpec]:
    """List the patches of an L8 Biome patch folder (``Images/`` and ``Masks/``)."""
    root = Path(root)
    images = _rasters(_require_dir(root / "Images", "Biome Images"))
    masks = _rasters(_require_dir(root / "Masks", "Biome Masks"))
    return [
        PatchSpec(
            name=stem,
            image=path,
            mask=masks.get(stem),
            bands=BIOME_BANDS,
            product="toa",
            coding=BIOME_CODING,
            dataset="biome",
        )
        for stem, path in images.items()
    ]


def image_mask_pairs(
    images: str | Path,
    masks: str | Path,
    bands: tuple[int, int, int, int] | None = None,
    product: str = "auto",
    coding: MaskCoding = CLOUD38_CODING,
) -> list[PatchSpec]:
    """Pair images and masks of the same file stem from two folders.

    Args:
        images: folder of image rasters.
        masks: folder of label rasters (same stems; a ``gt_``/``mask_`` prefix is allowed).
        bands: 1-based red, green, blue, NIR indices; ``None`` lets the reader guess.
        product: product level of the images (``auto`` infers it).
        coding: how the masks encode cloud and fill.
    """
    image_files = _rasters(_require_dir(Path(images), "Image"))
    mask_files = _rasters(_require_dir(Path(masks), "Mask"))
    by_stem = {re.sub(r"^(gt|mask)_", "", stem): path for stem, path in mask_files.items()}
    specs = []
    for stem, path in image_files.items():
        mask = mask_files.get(stem) or by_stem.get(stem)
        if mask is None:
            raise InputNotFoundError(
                f"Image {path.name} has no mask named {stem}.tif in {masks}: "
                "give each image a mask with the same file name."
            )
        specs.append(
            PatchSpec(
                stem,
                image=path,
                mask=mask,
                bands=bands,
                product=product,
                coding=coding,
                dataset="pairs",
            )
        )
    return specs


def detect_layout(root: Path) -> str:
    """Guess the layout of a dataset folder from its sub-folders."""
    if (root / "train_red").is_dir() or (root / "test_red").is_dir():
        return "38cloud"
    if (root / "Images").is_dir() and (root / "Masks").is_dir():
        return "biome"
    raise ParameterError(
        f"Cannot tell the layout of {root}: prefix it with 38cloud:, biome: or "
        "pairs:IMAGES_DIR,MASKS_DIR."
    )


def from_spec(
    text: str,
    *,
    nonempty: bool = False,
    bands: tuple[int, int, int, int] | None = None,
    product: str = "auto",
    coding: MaskCoding = CLOUD38_CODING,
) -> list[PatchSpec]:
    """Turn a command-line dataset string into patch specs.

    Forms: ``PATH`` (layout guessed), ``38cloud:PATH``, ``biome:PATH``,
    ``pairs:IMAGES_DIR,MASKS_DIR``. ``bands``, ``product`` and ``coding`` apply
    to ``pairs`` only; ``nonempty`` to ``38cloud`` only.
    """
    layout, sep, rest = text.partition(":")
    if not sep or layout not in LAYOUTS:
        layout, rest = detect_layout(Path(text)), text
    if layout == "38cloud":
        return cloud38_patches(rest, "train", nonempty=nonempty)
    if layout == "biome":
        return biome_patches(rest)
    images, comma, masks = rest.partition(",")
    if not comma:
        raise ParameterError(f"Write pairs datasets as pairs:IMAGES_DIR,MASKS_DIR, got {text!r}.")
    return image_mask_pairs(images, masks, bands=bands, product=product, coding=coding)


def labelled(specs: Sequence[PatchSpec]) -> list[PatchSpec]:
    """Keep only the patches that have a per-patch mask."""
    return [s for s in specs if s.mask is not None]


# ----------------------------------------------------------- 38-Cloud test scenes


@dataclass(frozen=True)
class PatchPosition:
    """Where a 38-Cloud patch sits in its scene (1-based row and column)."""

    number: int
    row: int
    col: int
    scene_id: str


def parse_patch_name(name: str) -> PatchPosition:
    """Parse ``patch_<n>_<row>_by_<col>_<scene id>``.

    Raises:
        ParameterError: the name does not follow the 38-Cloud convention.
    """
    match = _PATCH_NAME.match(name)
    if not match:
        raise ParameterError(
            f"Patch name {name!r} is not patch_<n>_<row>_by_<col>_<scene id>: "
            "keep the 38-Cloud file names."
        )
    number, row, col, scene = match.groups()
    return PatchPosition(int(number), int(row), int(col), scene)


def group_by_scene(specs: Sequence[PatchSpec]) -> dict[str, list[tuple[PatchPosition, PatchSpec]]]:
    """Group 38-Cloud patches by scene id, in patch order."""
    scenes: dict[str, list[tuple[PatchPosition, PatchSpec]]] = {}
    for spec in specs:
        position = parse_patch_name(spec.name)
        scenes.setdefault(position.scene_id, []).append((position, spec))
    for members in scenes.values():
        members.sort(key=lambda item: item[0].number)
    return scenes


def assemble_scene(
    patches: Sequence[tuple[PatchPosition, np.ndarray]],
    scene_shape: tuple[int, int],
    patch_size: int = 384,
) -> np.ndarray:
    """Place patch arrays on the scene grid and remove the padding, as 38-Cloud does.

    The patches tile a zero-padded scene from the top-left corner; the grid is
    cut to the last row and column present, then the padding is removed equally
    on both sides of each axis to match the ground truth's shape (the official
    evaluation's ``unzeropad``).

    Args:
        patches: ``(position, array (patch_size, patch_size))`` pairs.
        scene_shape: ``(height, width)`` of the scene's ground truth.
        patch_size: patch edge (384 in 38-Cloud and 95-Cloud).
    """
    rows = max(p.row for p, _ in patches)
    cols = max(p.col for p, _ in patches)
    first = patches[0][1]
    canvas = np.zeros((rows * patch_size, cols * patch_size), dtype=first.dtype)
    for position, array in patches:
        top, left = (position.row - 1) * patch_size, (position.col - 1) * patch_size
        canvas[top : top + patch_size, left : left + patch_size] = array
    height, width = scene_shape
    if height > canvas.shape[0] or width > canvas.shape[1]:
        raise ParameterError(
            f"The patches cover {canvas.shape[1]}x{canvas.shape[0]} pixels, less than the "
            f"{width}x{height} ground truth: some patches of the scene are missing."
        )
    dy, dx = (canvas.shape[0] - height) // 2, (canvas.shape[1] - width) // 2
    return canvas[dy : dy + height, dx : dx + width]


def cloud38_scene_truth(root: str | Path, scene_id: str) -> Path:
    """Path of ``Entire_scene_gts/edited_corrected_gts_<scene id>.TIF``."""
    path = Path(root) / "Entire_scene_gts" / f"edited_corrected_gts_{scene_id}.TIF"
    if not path.is_file():
        raise InputNotFoundError(
            f"Scene ground truth {path} is missing: download Entire_scene_gts of 38-Cloud."
        )
    return path
