"""Evaluate cloud shadow by geometry (engine/physics/shadow.py); see docs/shadow_eval.md.

patches: shadow Jaccard on the Biome patches (4-band stacks, no sun angles, cloud from the
4-band model) and the ukis-csmask patches, geometry vs. the 6-band model's shadow class and
combinations, parameters out of fold; scenes: two scenes with their MTL's sun angles, QA
agreement, PNGs; sentinel2: the Sentinel-2 tile of extra_unlabelled against its SCL shadow;
timing: the stage on a synthetic 7,800² scene, time and peak memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import rasterio
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cloud_fcn_plugin.engine.physics import shadow as sh
from cloud_fcn_plugin.engine.training.crossval import fold_model

RGBN = (3, 2, 1, 4)  # red, green, blue, NIR in a blue-first stack
GRID = {"darkness": (0.02,), "ratio": (0.85, 0.75, 0.65), "similarity": (0.2, 0.3, 0.4),
        "min_contrast": (0.1, 0.15, 0.2, 0.25, 0.3), "tolerance": (0, 4, 8),
        "sweep": (8, 16, 24, 32), "max_distance_m": (1800.0, 3000.0), "buffer": (0,),
        "piece_px": (0, 64)}
POTENTIAL_KEYS, _ESTIMATE, _DIRECTIONS = ("darkness", "ratio"), sh.estimate_direction, {}


def _cached_direction(objects, potential, blocked, *rest, grid=None):
    """The direction estimate depends on the potential shadow and distance only: computed once."""
    key = (id(potential), objects.count, *rest)  # the grid is made of potential and blocked
    if key not in _DIRECTIONS:
        _DIRECTIONS[key] = _ESTIMATE(objects, potential, blocked, *rest, grid=grid)
    return _DIRECTIONS[key]



def network(image, model: str, **open_kw) -> tuple[np.ndarray, np.ndarray, dict]:
    """The engine's calls (read only): probability layers, valid, thresholds."""
    import torch

    from cloud_fcn_plugin.engine.inference.predictor import load_predictor
    from cloud_fcn_plugin.engine.inference.whole_scene import predict_layers
    from cloud_fcn_plugin.engine.models.choice import choose_model
    from cloud_fcn_plugin.engine.scene.reader import open_scene

    torch.set_num_threads(1)
    path = Path(model) if model.endswith(".safetensors") else choose_model(None, model).path
    predictor = load_predictor(path, "cpu", 4, None)
    with open_scene(image, **open_kw) as reader:
        layers, valid = predict_layers(reader, predictor)
        transform = reader.profile().get("transform")
    meta, pixel = predictor.metadata, abs(transform.a) if transform is not None else 30.0
    return layers, valid, {"names": predictor.layout.layers, "threshold": meta.threshold,
                           "shadow_threshold": getattr(meta, "shadow_threshold", 0), "pixel": pixel}


def sixband_for(patch: str, sixband: str) -> tuple[str, dict]:
    """The 6-band model to run on ``patch`` (its name in the cross-validation), and
    thresholds replacing its own.

    ``sixband``: the bundled model, or ``cv:RUN/cv``, the fold's model that held the patch
    out at the run's out-of-fold thresholds (the bundled model trained on every patch, so
    its shadow class is in-sample on all of them).
    """
    if not sixband.startswith("cv:"):
        return sixband, {}
    fold = fold_model(Path(sixband[3:]), patch)
    thresholds = {"threshold": fold.threshold}
    if fold.shadow_threshold is not None:
        thresholds["shadow_threshold"] = fold.shadow_threshold
    return str(fold.checkpoint), thresholds


def load_patches(data: Path, cache: Path, sixband: str = "sixband") -> list[dict]:
    """Bands, labels and network masks of every labelled patch (cached in ``cache``)."""
    from cloud_fcn_plugin.engine.scene.bands import SIXBAND_BANDS

    items = [(p, "biome", p.parts[-3]) for p in sorted(data.glob("l8biome_patches/*/Images/*.tif"))]
    items += [(data / f"extra_labelled/ukis_csmask_patches/{s}_img.tif", "ukis", "ukis")
              for s in ("landsat5", "sentinel2")]
    patches = []
    for image, kind, split in items:
        name = image.stem.replace("_img", "")
        with rasterio.open(image) as src:
            bands = src.read().astype(np.float32)
        mask_path = (image.parent.parent / "Masks" / image.name if kind == "biome"
                     else image.with_name(image.name.replace("_img", "_mask")))
        with rasterio.open(mask_path) as src:
            label = src.read(1)
        if kind == "biome":
            truth, labelled, water = label == 64, label != 0, np.zeros(label.shape, bool)
        else:
            truth, labelled, water = label == 0, np.ones(label.shape, bool), label == 1
        group = name.split("_")[0] if kind == "biome" else name
        stored = cache / f"{name}.npz"
        if not stored.exists():
            cloud_p, valid, meta4 = network(image, "rgbn", bands=RGBN, product="toa")
            held_out = name if kind == "biome" else f"ukis_{name}"  # the training's names
            model, thresholds = sixband_for(held_out, sixband)
            six, _, meta6 = network(image, model, product="toa", model_bands=SIXBAND_BANDS)
            meta6 |= thresholds
            np.savez_compressed(
                stored, cloud=cloud_p[0] >= meta4["threshold"], valid=valid,
                net_shadow=six[meta6["names"].index("shadow")] >= meta6["shadow_threshold"],
                net_cloud=six[0] >= meta6["threshold"])
        net = dict(np.load(stored))
        patches.append({"name": name, "group": group, "split": split, "bands": bands,
                        "truth": truth & labelled, "labelled": labelled, "water": water, **net})
    return patches


def geometry(patch: dict, setting: dict, swir: bool):
    b, valid = patch["bands"], patch["valid"] & patch["labelled"]
    key = ("pot", setting["darkness"], setting["ratio"], swir)
    if key not in patch:
        patch[key] = sh.scene_potential(
            b[3], b[4] if swir else None, valid, red=b[2], cloud=patch["cloud"],
            darkness=setting["darkness"], ratio=setting["ratio"])
    params = sh.ShadowParams(**{k: v for k, v in setting.items() if k not in POTENTIAL_KEYS})
    return sh.match_shadows(patch["cloud"], patch[key], valid, None, 30.0, params=params)


def counts(pred: np.ndarray, patch: dict) -> np.ndarray:
    lab, truth = patch["labelled"], patch["truth"]
    return np.array([(pred & truth & lab).sum(), ((pred | truth) & lab).sum(),
                     (pred & lab).sum(), lab.sum(), (pred & patch["water"]).sum(),
                     patch["water"].sum()], np.int64)


def jaccard(c: np.ndarray) -> float:
    return 100.0 * c[0] / c[1] if c[1] else float("nan")


def objective(rows: list[tuple[dict, np.ndarray]]) -> float:
    """Mean of the pooled Jaccards of the Biome and ukis patches among ``rows``."""
    pooled = [sum((c for p, c in rows if (p["split"] == "ukis") == ukis), np.zeros(6, np.int64))
              for ukis in (False, True)]
    parts = [jaccard(c) for c in pooled if c[1]]
    return float(np.mean(parts)) if parts else 0.0


def combine(geo: np.ndarray, patch: dict) -> dict[str, np.ndarray]:
    net = patch["net_shadow"] & ~patch["cloud"]
    labels, n = ndimage.label(net, structure=np.ones((3, 3)))
    touched = np.unique(labels[geo & (labels > 0)])
    agreed = np.isin(labels, touched[touched > 0])
    return {"geometry": geo, "network (6-band shadow)": net, "union": geo | net,
            "network kept where geometry agrees": agreed, "geometry ∪ agreed network": geo | agreed,
            "network on patches where geometry marks any": net if geo.any() else geo & False}


def peer_shadow(patches: list[dict], peer_python: Path, cache: Path) -> dict[str, dict]:
    """ukis-csmask's shadow class (its argmax) on the Biome patches, by model ("4b", "6b").

    Not on the ukis-csmask patches: they may be its own training data, so the data's
    README forbids scoring it with them. The peer runs in its own environment (``make
    peers``) on the same reflectance, fill 0, in its band order; its class maps are
    cached in ``cache``.
    """
    from cloud_fcn_plugin.engine.training.peers.compare import PeerRun, call_peer
    from cloud_fcn_plugin.engine.training.peers.inputs import mosaic_for_timing
    from cloud_fcn_plugin.engine.training.peers.peer import PEER_MODELS, SHADOW_CLASS

    patches = [p for p in patches if p["split"] != "ukis"]
    stored = cache / "ukis_csmask_biome_classes.npz"
    if not stored.exists():
        arrays = [np.ascontiguousarray(np.where(p["valid"], p["bands"][:6], 0.0).transpose(1, 2, 0))
                  for p in patches]
        inputs, outputs = cache / "peer_inputs.npz", cache / "peer_outputs.npz"
        np.savez(inputs, count=len(arrays), mosaic=mosaic_for_timing(arrays, 256),
                 **{str(i): a for i, a in enumerate(arrays)})
        worker = Path(__file__).resolve().parent / "compare_peers.py"
        call_peer(PeerRun(peer_python, worker), inputs, outputs)
        with np.load(outputs) as data:
            np.savez_compressed(stored, **{k: data[k] for k in data.files if k.endswith(".class")})
    with np.load(stored) as data:
        return {key: {p["name"]: data[f"{key}.{i}.class"] == SHADOW_CLASS
                      for i, p in enumerate(patches)} for key, _, _ in PEER_MODELS}


def run_patches(args) -> None:
    sh.estimate_direction = _cached_direction  # here, not on import: tests import helpers
    Path(args.cache).mkdir(parents=True, exist_ok=True)
    patches = load_patches(Path(args.data), Path(args.cache), args.sixband)
    peer = {}
    if args.peer_python:
        peer = peer_shadow(patches, Path(args.peer_python), Path(args.cache))
    base = {k: v for k, v in GRID.items() if k != "min_contrast"}
    settings = [dict(zip(base, v, strict=True)) for v in itertools.product(*base.values())]
    settings = [{**s, "min_contrast": m} for s in settings for m in GRID["min_contrast"]]
    for variant, swir in (("NIR only (4-band)", False), ("NIR + SWIR1", True)):
        scores = np.zeros((len(settings), len(patches), 6), np.int64)
        for i in range(0, len(settings), len(GRID["min_contrast"])):
            for j, p in enumerate(patches):  # one run accepting every direction, then the test
                res = geometry(p, {**settings[i], "min_contrast": -1.0}, swir)
                for k, m in enumerate(GRID["min_contrast"]):
                    ok = res.contrast is None or res.contrast >= m
                    scores[i + k, j] = counts(res.mask if ok else res.mask & False, p)
        chosen, rows = {}, {}
        for g in [*sorted({p["group"] for p in patches}), None]:
            train = [j for j, p in enumerate(patches) if p["group"] != g]
            best = max(range(len(settings)), key=lambda i, t=train: objective(
                [(patches[j], scores[i, j]) for j in t]))
            chosen[g or "(all groups: the defaults)"] = settings[best]
            for p in (p for p in patches if p["group"] == g):
                res = geometry(p, settings[best], swir)
                for name, pred in combine(res.mask, p).items():
                    rows.setdefault(name, {})[p["name"]] = (counts(pred, p), res.note)
                for key, shadow in peer.items():  # the same Biome patches, as published
                    if p["name"] in shadow:
                        rows.setdefault(f"ukis-csmask {key[0]}-band (its shadow class)", {})[
                            p["name"]] = (counts(shadow[p["name"]] & p["valid"], p), "")
        print(f"[{variant}] out-of-fold settings: {json.dumps(chosen)}", flush=True)
        report(patches, rows, variant)


def report(patches: list[dict], rows: dict, variant: str) -> None:
    sets = {"Biome all 31": lambda p: p["split"] != "ukis",
            "Biome val 8 (rgbn held out)": lambda p: p["split"] == "val",
            "ukis landsat5": lambda p: p["name"] == "landsat5",
            "ukis sentinel2": lambda p: p["name"] == "sentinel2"}
    print(f"\n### {variant}\n\n| method | " + " | ".join(sets) +
          " | precision / recall, Biome all 31 | false shadow, Biome cloud patches w/o shadow (%)"
          " | on ukis water (%) |")
    print("|---" * (len(sets) + 4) + "|")
    def pooled(per: dict, pick) -> np.ndarray | None:  # None: no patch scored
        scored = [per[p["name"]][0] for p in patches if pick(p) and p["name"] in per]
        return sum(scored, np.zeros(6, np.int64)) if scored else None

    for name, per in rows.items():
        cells = []
        for pick in sets.values():
            c = pooled(per, pick)
            cells.append("-" if c is None else f"{jaccard(c):.1f}")
        c = pooled(per, lambda p: p["split"] != "ukis")
        truth = c[1] - c[2] + c[0]  # union - marked + both
        cells.append(f"{100 * c[0] / max(c[2], 1):.1f} / {100 * c[0] / max(truth, 1):.1f}")
        c = pooled(per, lambda p: p["split"] != "ukis" and p["cloud"].any() > p["truth"].any())
        w = pooled(per, lambda p: p["split"] == "ukis")
        water = "-" if w is None else f"{100 * w[4] / max(w[5], 1):.1f}"
        cells += [f"{100 * c[2] / c[3]:.2f}", water]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nper patch (geometry):", flush=True)
    for p in patches:
        c, note = rows["geometry"][p["name"]]
        peers = "".join(f"; {name.split(' (')[0]} J {jaccard(per[p['name']][0]):.1f}"
                        for name, per in rows.items()
                        if name.startswith("ukis-csmask") and p["name"] in per)
        if p["truth"].any() or c[2]:
            print(f"  {p['name']}: J {jaccard(c):.1f}, shadow {100 * c[2] / c[3]:.1f} % "
                  f"(truth {100 * p['truth'].mean():.1f} %): {note}{peers}")


def mtl_sun(folder: Path) -> sh.SunGeometry:
    t = next(folder.glob("*_MTL.txt")).read_text()
    return sh.SunGeometry(*(float(re.search(rf"SUN_{k} = ([-\d.]+)", t).group(1))
                            for k in ("AZIMUTH", "ELEVATION")))


def run_scenes(args) -> None:
    """Both scenes with the MTL's sun angles; cloud from the 4-band model, then from the QA."""
    from cloud_fcn_plugin.engine.scene.reader import open_scene

    out = Path(args.pictures)
    out.mkdir(parents=True, exist_ok=True)
    for rel, qa_name in (("scenes/LC80200392015216LGN00_L1T_30m", "BQA"),
                         ("scenes/LC08_L2SP_008059_20191201_C2_500m", "QA_PIXEL")):
        folder = Path(args.data) / rel
        cloud_p, valid, meta = network(folder, "rgbn")
        with open_scene(folder, model_bands=(2, 3, 4, 5, 6)) as reader:
            bands, _ = reader.read_all()
        with rasterio.open(next(folder.glob(f"*_{qa_name}.TIF"))) as src:
            qa = src.read(1).astype(np.int64)
        if qa_name == "BQA":  # pre-collection: bits 14-15 cloud confidence, no shadow bit
            qa_cloud, qa_shadow = (qa >> 14) & 3 == 3, None
        else:  # Collection 2 QA_PIXEL: bit 3 cloud, bit 4 cloud shadow
            qa_cloud, qa_shadow = ((qa >> 3) & 1) == 1, (((qa >> 4) & 1) == 1) & valid
        blue, green, red, nir, swir1 = bands
        sun = mtl_sun(folder)
        for source, cloud in (("4-band model", cloud_p[0] >= meta["threshold"]),
                              (f"{qa_name} cloud", qa_cloud)):
            cloud = cloud & valid
            pot = sh.scene_potential(nir, swir1, valid, red=red, cloud=cloud)
            res = sh.match_shadows(cloud, pot, valid, sun, meta["pixel"])
            line = (f"{folder.name}, cloud from the {source}: sun {sun.azimuth_deg:.1f}°/"
                    f"{sun.elevation_deg:.1f}°, pixel {meta['pixel']:.0f} m, cloud "
                    f"{100 * cloud[valid].mean():.1f} %, shadow {100 * res.mask[valid].mean():.1f}"
                    f" %, {res.note}")
            if qa_shadow is not None:
                both = (res.mask & qa_shadow).sum()
                line += (f"; QA shadow {100 * qa_shadow[valid].mean():.1f} %, Jaccard with QA "
                         f"{100 * both / max((res.mask | qa_shadow).sum(), 1):.1f}, share of "
                         f"ours in QA shadow {100 * both / max(res.mask.sum(), 1):.1f} %")
            print(line, flush=True)
            tag = "model" if source.startswith("4") else "qa"
            picture(np.stack([red, green, blue]), valid, cloud, res.mask,
                    out / f"{folder.name[:25]}_{tag}.png")


def tile_sun(folder: Path) -> sh.SunGeometry:
    """The Sentinel-2 tile's mean sun (``MTD_TL.xml``: zenith and azimuth)."""
    text = (folder / "MTD_TL.xml").read_text()
    block = re.search(r"<Mean_Sun_Angle>(.*?)</Mean_Sun_Angle>", text, re.S).group(1)
    zenith, azimuth = (float(re.search(rf"<{k}_ANGLE[^>]*>([-\d.]+)<", block).group(1))
                       for k in ("ZENITH", "AZIMUTH"))
    return sh.SunGeometry(azimuth, 90.0 - zenith)


def run_sentinel2(args) -> None:
    """The Sentinel-2 L2A tile (large cumulus, 60 m) against its SCL shadow (class 3):
    whole objects or pieces, the tile's sun angles or the direction estimated."""
    import tempfile

    from prepare_training_data import S2_TILE, sentinel2_tile, write_image

    folder = Path(args.data) / S2_TILE
    Path(args.pictures).mkdir(parents=True, exist_ok=True)
    image, valid, profile = sentinel2_tile(folder)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tile.tif"
        write_image(path, image, profile)
        from cloud_fcn_plugin.engine.scene.bands import SIXBAND_BANDS

        layers, _, meta = network(path, "sixband", product="sr", model_bands=SIXBAND_BANDS)
    with rasterio.open(next(folder.glob("*_SCL_60m.jp2"))) as src:
        scl = src.read(1)
    valid &= scl != 0
    cloud = (layers[0] >= meta["threshold"]) & valid
    scl_cloud, scl_shadow = np.isin(scl, (8, 9)) & valid, (scl == 3) & valid
    blue, green, red, nir, swir1 = np.nan_to_num(image[:5])
    pot = sh.scene_potential(nir, swir1, valid, red=red, cloud=cloud)
    both = (cloud & scl_cloud).sum() / max((cloud | scl_cloud).sum(), 1)
    print(f"T29UNU: cloud {100 * cloud[valid].mean():.1f} % (SCL 8-9: "
          f"{100 * scl_cloud[valid].mean():.1f} %, Jaccard {100 * both:.1f}); SCL shadow "
          f"{100 * scl_shadow[valid].mean():.1f} %", flush=True)
    for piece in (0, sh.ShadowParams().piece_px):
        for label, sun in (("the tile's sun angles", tile_sun(folder)), ("estimated", None)):
            res = sh.match_shadows(cloud, pot, valid, sun, meta["pixel"],
                                   params=sh.ShadowParams(piece_px=piece))
            hit = (res.mask & scl_shadow).sum()
            jac = 100 * hit / max((res.mask | scl_shadow).sum(), 1)
            print(f"  pieces {piece or 'off'}, {label}: shadow {100 * res.mask[valid].mean():.1f} "
                  f"%, Jaccard with SCL shadow {jac:.1f}, share of ours in it "
                  f"{100 * hit / max(res.mask.sum(), 1):.0f} %; {res.note}", flush=True)
            if piece and sun is not None:
                half = np.s_[::2, ::2]  # 120 m: the picture a quarter of the size
                picture(np.stack([red[half], green[half], blue[half]]), valid[half],
                        cloud[half], res.mask[half],
                        Path(args.pictures) / "T29UNU_20221005_sentinel2.png")


def picture(rgb: np.ndarray, valid, cloud, shadow, path: Path) -> None:
    """RGB (2-98 % stretch) with cloud in white and shadow in magenta; fill black."""
    from PIL import Image
    lo, hi = np.nanpercentile(rgb[:, valid], [2, 98])
    img = (np.nan_to_num(np.clip((rgb - lo) / max(hi - lo, 1e-6), 0, 1)) * 255).astype(np.uint8)
    img = img.transpose(1, 2, 0)
    img[~valid], img[cloud], img[shadow] = 0, (255, 255, 255), (255, 0, 255)
    Image.fromarray(img).quantize(64).save(path, optimize=True)


def run_timing(args) -> None:
    """The stage on a synthetic scene: potential per strip (halo), then the matching."""
    side, rng, sun = args.side, np.random.default_rng(0), sh.SunGeometry(135.0, 50.0)
    cloud, valid = np.zeros((side, side), bool), np.ones((side, side), bool)
    n = side * side // 20000  # square cumulus of 4-50 px
    for r, c, k in zip(*rng.integers(0, side, (2, n)), rng.integers(2, 25, n), strict=True):
        cloud[max(0, r - k):r + k, max(0, c - k):c + k] = True
    d, th = 2000.0 * sun.pixels_per_metre(30.0), np.deg2rad(sun.shadow_bearing_deg)  # 2 km
    truth = np.roll(cloud, (round(-d * np.cos(th)), round(d * np.sin(th))), axis=(0, 1)) & ~cloud
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    k, strip, t_pot = args.factor, 1024, 0.0  # k: the grid of the stage, 1 or 2 (60 m)
    potential = np.zeros((-(-side // k), -(-side // k)), bool)
    for top in range(0, side, strip):  # strips as the pipeline reads them (made: not timed)
        a, b = max(0, top - sh.POTENTIAL_HALO), min(side, top + strip + sh.POTENTIAL_HALO)
        noise = np.random.default_rng(top).normal(0, 0.01, (b - a, side)).astype(np.float32)
        nir = np.where(cloud[a:b], 0.6, np.where(truth[a:b], 0.12, 0.3)).astype(np.float32) + noise
        swir, red, tick = nir * 0.7, nir * 0.4, time.perf_counter()  # not timed either
        n_, s_, r_, v_, c_ = (sh.block_mean(x, k) if k > 1 else x
                              for x in (nir, swir, red, valid[a:b], cloud[a:b]))
        part = sh.potential_shadow(n_, s_, v_ == 1, red=r_, cloud=c_ > 0, factor=8 // k,
                                   closing_px=16 // k)
        potential[top // k:(top + strip) // k] = part[(top - a) // k:(top - a + strip) // k]
        t_pot += time.perf_counter() - tick
    start = time.perf_counter() - t_pot
    res = (sh.match_shadows_coarse(cloud, potential, valid, sun, 30.0, k) if k > 1
           else sh.match_shadows(cloud, potential, valid, sun, 30.0))
    total = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    j = (res.mask & truth).sum() / max((res.mask | truth).sum(), 1)
    print(f"{side}² synthetic scene, grid 1/{k}, cloud {100 * cloud.mean():.1f} %, {res.objects} "
          f"objects: potential {t_pot:.1f} s, matching {total - t_pot:.1f} s, total {total:.1f} "
          f"s; peak RSS {before / 1024:.0f} MB before the stage (inputs), {after / 1024:.0f} MB "
          f"after; shadow Jaccard vs. the synthetic truth {100 * j:.1f}; {res.note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("patches", "scenes", "sentinel2", "timing"))
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    parser.add_argument("--cache", default="/tmp/shadow_eval_cache")
    parser.add_argument("--sixband", default="sixband",
                        help="patches: the 6-band model whose shadow class is compared: "
                             "sixband (bundled) or cv:RUN/cv (each patch by its fold's model)")
    parser.add_argument("--peer-python", default="",
                        help="patches: the Python of `make peers` (.venv-peers/bin/python): "
                             "ukis-csmask's shadow on the same Biome patches too")
    parser.add_argument("--pictures", default="docs/shadow_eval")
    parser.add_argument("--side", type=int, default=7800)
    parser.add_argument("--factor", type=int, default=1, help="timing: stage's grid, 1 or 2")
    args = parser.parse_args()
    runs = {"patches": run_patches, "scenes": run_scenes, "sentinel2": run_sentinel2,
            "timing": run_timing}
    runs[args.what](args)


if __name__ == "__main__":
    main()
