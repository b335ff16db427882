#!/usr/bin/env python3
"""Turn the extra shared data into ``pairs:`` training sets, with ukis-csmask as a teacher.

Writes two kinds of image/mask pairs into ``--out`` (``images/``, ``masks/``), both in
the L8 Biome mask coding (255 cloud, 128 clear, 64 cloud shadow, 0 no label), so that
``scripts/train.py --train pairs:OUT/images,OUT/masks --pairs-cloud-values 192,255
--pairs-fill-values 0`` reads them beside the Biome patches:

* the hand-labelled ukis-csmask patches (Landsat 5 TM and Sentinel-2, blue..SWIR2 TOA):
  their labels recoded (4 cloud, 0 shadow, 1 water and 3 land clear); the images
  rewritten with band descriptions ``B2``..``B7`` so the reader finds the bands;
* whole Collection 2 Level-2 scenes (``scenes/LC08_L2SP_*``; Greenland's ice sheet
  among them) labelled by the teacher: ukis-csmask's 4-band and 6-band Level-2 models
  run in their own environment (``make peers``), never a dependency of the plugin. A
  pixel is labelled only where both models give it the same class and their mean
  share of the blended softmax is at least ``--confidence``; the rest is left
  unlabelled. The two disagree where it matters: on the Greenland ice sheet the 6-band
  model calls 63 % of the valid pixels cloud and the 4-band one 0.7 %, so only what
  both call clear (the bright, high-NDSI ice) or both call cloud is taught. The images are surface
  reflectance as float32 (``2.75e-5 * DN - 0.2``), what the engine reads from a
  Level-2 product.

With ``--soft`` the masks hold the teacher's cloud share instead (issue 22's soft
scores): the mean of the 4-band and 6-band models' shares, each averaged over the eight
flips and quarter turns of the image (every view predicted, then turned back), written
as ``1 + 200 * share`` (0: no data), for ``train.py --pairs-soft 200``. The Sentinel-2
Level-2A tile (``extra_unlabelled/s2_l2a_T29UNU_60m``: B02, B03, B04, B8A, B11, B12
as surface reflectance) is labelled too, and the hand-labelled patches are written as
shares of 0 and 1 (their shadow and water count as not cloud).

The Gulf-coast Level-1 product and the Long Island scenes are never touched: they are
the whole-scene checks. Example::

    make peers   # once: ukis-csmask in .venv-peers
    .venv/bin/python scripts/prepare_training_data.py --out runs/data
    .venv/bin/python scripts/prepare_training_data.py --soft --out runs/data_soft
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATA_DIR = Path(os.environ.get("CLOUD_FCN_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_PEER_PYTHON = REPO_ROOT / ".venv-peers" / "bin" / "python"
BAND_DESCRIPTIONS = ("B2", "B3", "B4", "B5", "B6", "B7")
PEER_BANDS = ("blue", "green", "red", "nir", "swir16", "swir22")
CLOUD, CLEAR, SHADOW, UNLABELLED = 255, 128, 64, 0
# ukis-csmask patch labels -> Biome coding; its classes are 0 clear, 1 cloud, 2 shadow.
UKIS_LABELS = {0: SHADOW, 1: CLEAR, 3: CLEAR, 4: CLOUD}
TEACHER_CLASSES = (CLEAR, CLOUD, SHADOW)
SR_SCALE, SR_OFFSET = 2.75e-5, -0.2
#: Soft masks: ``1 + SOFT_SCALE * share``, 0 no data (``train.py --pairs-soft 200``).
SOFT_SCALE = 200
S2_TILE = "extra_unlabelled/s2_l2a_T29UNU_60m"
#: Sentinel-2 bands standing in for Landsat B2-B7, and their L2A scaling (0: no data).
S2_BANDS = ("B02", "B03", "B04", "B8A", "B11", "B12")
S2_OFFSET, S2_SCALE = 1000.0, 1e-4


def write_pair(out: Path, stem: str, image: np.ndarray, mask: np.ndarray, profile: dict) -> None:
    """Write ``images/STEM.tif`` (float32, band descriptions) and ``masks/STEM.tif``."""
    import rasterio  # here: the peers' environment, which runs this file too, has none
    write_image(out / "images" / f"{stem}.tif", image, profile)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    meta = _grid_meta(image, profile)
    with rasterio.open(out / "masks" / f"{stem}.tif", "w", count=1, dtype="uint8", **meta) as dst:
        dst.write(mask[np.newaxis])


def write_image(path: Path, image: np.ndarray, profile: dict) -> None:
    """Write a (6, H, W) image as float32 GeoTIFF, NaN fill, bands described B2..B7."""
    import rasterio
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path, "w", count=image.shape[0], dtype="float32", nodata=float("nan"),
        **_grid_meta(image, profile),
    ) as dst:
        dst.write(image.astype(np.float32))
        for index, name in enumerate(BAND_DESCRIPTIONS, start=1):
            dst.set_band_description(index, name)


def _grid_meta(image: np.ndarray, profile: dict) -> dict:
    return {
        "driver": "GTiff",
        "height": image.shape[1],
        "width": image.shape[2],
        "crs": profile.get("crs"),
        "transform": profile.get("transform"),
        "compress": "deflate",
    }


def soft_mask(share: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A cloud share (0..1) as a soft mask: ``1 + 200 * share``, 0 where not valid."""
    coded = 1 + np.rint(np.clip(share, 0.0, 1.0) * SOFT_SCALE)
    return np.where(valid, coded, 0).astype(np.uint8)


def ukis_patches(out: Path, soft: bool = False) -> None:
    """The two hand-labelled ukis-csmask patches, recoded (as shares 0 and 1 if ``soft``)."""
    import rasterio
    folder = DATA_DIR / "extra_labelled" / "ukis_csmask_patches"
    for sensor in ("landsat5", "sentinel2"):
        with rasterio.open(folder / f"{sensor}_img.tif") as src:
            image = src.read().astype(np.float32)
        with rasterio.open(folder / f"{sensor}_mask.tif") as src:
            labels = src.read(1)
        mask = np.zeros(labels.shape, np.uint8)
        for value, code in UKIS_LABELS.items():
            mask[labels == value] = code
        mask[~np.isfinite(image).all(axis=0)] = UNLABELLED
        cloud, shadow = np.mean(mask == CLOUD), np.mean(mask == SHADOW)
        print(f"ukis_{sensor}: {cloud:.1%} cloud, {shadow:.1%} shadow")
        if soft:
            mask = soft_mask((mask == CLOUD).astype(np.float32), mask != UNLABELLED)
        write_pair(out, f"ukis_{sensor}", image, mask, {})


def level2_scene(folder: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Surface reflectance B2-B7 (float32, NaN fill) and the validity of a Level-2 scene."""
    paths = [_one(folder, f"*_SR_B{band}.TIF") for band in range(2, 8)]
    return _reflectance_stack(paths, lambda dn: dn * SR_SCALE + SR_OFFSET)


def sentinel2_tile(folder: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """The Sentinel-2 L2A tile's six bands as surface reflectance (NaN fill), validity."""
    paths = [_one(folder, f"*_{band}_60m.jp2") for band in S2_BANDS]
    return _reflectance_stack(
        paths, lambda dn: (dn.astype(np.float32) - S2_OFFSET) * S2_SCALE
    )  # fmt: skip


def _one(folder: Path, pattern: str) -> Path:
    """The one file of ``folder`` that matches ``pattern`` (ValueError if not one)."""
    (path,) = folder.glob(pattern)
    return path


def _reflectance_stack(paths: list[Path], scale) -> tuple[np.ndarray, np.ndarray, dict]:
    """Single-band files as one float32 stack (``scale``: DN to reflectance, 0: NaN), the
    pixels valid in every band, and the grid of the last."""
    import rasterio
    planes, profile = [], {}
    for path in paths:
        with rasterio.open(path) as src:
            dn = src.read(1)
            profile = {"crs": src.crs, "transform": src.transform}
        planes.append(np.where(dn == 0, np.nan, scale(dn)).astype(np.float32))
    image = np.stack(planes)
    return image, np.isfinite(image).all(axis=0), profile


def run_teacher(
    peer_python: Path, images: dict[str, np.ndarray], views: int = 1
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The 4-band and 6-band teachers' class shares (H, W, 3) for each (6, H, W) image,
    averaged over the first ``views`` of the eight flips and quarter turns."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs, outputs = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inputs, **{k: np.nan_to_num(v).transpose(1, 2, 0) for k, v in images.items()})
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        subprocess.run(
            [str(peer_python), __file__, "--peer", str(inputs), str(outputs), str(views)],
            check=True, env=env,
        )  # fmt: skip
        with np.load(outputs, allow_pickle=False) as data:
            return {k: (data[f"{k}.4"], data[f"{k}.6"]) for k in images}


def dihedral(image: np.ndarray, view: int, inverse: bool = False) -> np.ndarray:
    """View ``view`` (0-7: a quarter-turn count, then a flip) of an (H, W, ...) array."""
    turns, flip = view % 4, view >= 4
    if inverse:
        image = image[:, ::-1] if flip else image
        return np.rot90(image, -turns, axes=(0, 1))
    image = np.rot90(image, turns, axes=(0, 1))
    return image[:, ::-1] if flip else image


def peer_main(inputs: Path, outputs: Path, views: int = 1) -> None:
    """Run in the peers' environment: ukis-csmask's Level-2 4- and 6-band models on each image.

    Writes ``KEY.4`` and ``KEY.6``: each model's blended class shares (H, W, 3), the
    mean over the first ``views`` of the eight flips and quarter turns.
    """
    import ukis_csmask.mask as peer

    captured: dict[str, np.ndarray] = {}
    untile = peer.untile_array

    def keep_scores(*args: object, **kwargs: object) -> np.ndarray:
        captured["scores"] = untile(*args, **kwargs)
        return captured["scores"]

    peer.untile_array = keep_scores
    results = {}
    with np.load(inputs, allow_pickle=False) as data:
        for key in data.files:
            for bands in (4, 6):
                mean = 0.0
                for view in range(views):
                    peer.CSmask(
                        np.ascontiguousarray(dihedral(data[key][..., :bands], view), np.float32),
                        list(PEER_BANDS[:bands]), product_level="l2a", intra_op_num_threads=1,
                        inter_op_num_threads=1, providers=["CPUExecutionProvider"],
                    )
                    scores = captured.pop("scores")
                    total = scores.sum(axis=-1, keepdims=True)
                    shares = np.divide(scores, total, out=np.zeros_like(scores), where=total > 0)
                    mean = mean + dihedral(shares, view, inverse=True) / views
                results[f"{key}.{bands}"] = np.ascontiguousarray(mean)
    np.savez(outputs, **results)


def teacher_mask(
    shares: tuple[np.ndarray, np.ndarray], valid: np.ndarray, confidence: float
) -> np.ndarray:
    """Biome-coded labels where both teachers agree with a mean share of ``confidence``."""
    four, six = shares
    best = four.argmax(axis=-1)
    mean = (four + six) / 2
    sure = (best == six.argmax(axis=-1)) & (mean.max(axis=-1) >= confidence) & valid
    mask = np.zeros(valid.shape, np.uint8)
    for index, code in enumerate(TEACHER_CLASSES):
        mask[sure & (best == index)] = code
    return mask


def teacher_scenes(out: Path, peer_python: Path, confidence: float, soft: bool = False) -> None:
    """The Level-2 scenes (and with ``soft`` the Sentinel-2 tile) labelled by the teacher."""
    folders = sorted((DATA_DIR / "scenes").glob("LC08_L2SP_*"))
    scenes = {f.name: level2_scene(f) for f in folders}
    if soft:
        scenes[Path(S2_TILE).name] = sentinel2_tile(DATA_DIR / S2_TILE)
    images = {name: image for name, (image, _, _) in scenes.items()}
    shares = run_teacher(peer_python, images, views=8 if soft else 1)
    for name, (image, valid, profile) in scenes.items():
        if soft:
            four, six = shares[name]
            mask = soft_mask((four[..., 1] + six[..., 1]) / 2, valid)
            write_pair(out, f"teacher_{name}", image, mask, profile)
            share = (mask[valid].astype(np.float32) - 1) / SOFT_SCALE
            print(f"teacher_{name}: mean cloud share {share.mean():.1%}, "
                  f"uncertain (0.2-0.8) {np.mean((share > 0.2) & (share < 0.8)):.1%}")
            continue
        mask = teacher_mask(shares[name], valid, confidence)
        write_pair(out, f"teacher_{name}", image, mask, profile)
        labelled = max(int(np.count_nonzero(mask)), 1)
        cloud, shadow = np.sum(mask == CLOUD) / labelled, np.sum(mask == SHADOW) / labelled
        print(
            f"teacher_{name}: labelled {labelled / max(valid.sum(), 1):.0%} of the valid pixels; "
            f"cloud {cloud:.1%}, shadow {shadow:.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--peer"]:
        peer_main(Path(argv[1]), Path(argv[2]), int(argv[3]) if len(argv) > 3 else 1)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for images/ and masks/")
    parser.add_argument("--peer-python", type=Path, default=DEFAULT_PEER_PYTHON)
    parser.add_argument("--confidence", type=float, default=0.8, help="teacher share to label")
    parser.add_argument("--no-teacher", action="store_true", help="only the hand-labelled patches")
    parser.add_argument("--soft", action="store_true",
                        help="masks of cloud shares over 8 views, the Sentinel-2 tile too")
    args = parser.parse_args(argv)
    ukis_patches(args.out, soft=args.soft)
    if not args.no_teacher:
        if not args.peer_python.exists():
            print(f"error: {args.peer_python} not found: run `make peers` first.", file=sys.stderr)
            return 1
        teacher_scenes(args.out, args.peer_python, args.confidence, soft=args.soft)
    return 0


if __name__ == "__main__":
    sys.exit(main())
