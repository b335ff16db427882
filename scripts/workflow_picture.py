#!/usr/bin/env python3
"""Picture of the finished workflow on the demo scene: the masked image and the cloud polygons.

Runs the engine on the bundled Long Island sample with a sieve, a buffer, a masked
image and cloud polygons (as ``scripts/detect.py --min-size 4 --buffer 1
--masked-image ... --polygons ...`` does), then draws the input with the polygons
outlined beside the masked image (clouds and their buffer removed, shown dark grey).

Usage: ``python scripts/workflow_picture.py [--output docs/workflow.png]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import rasterio
from osgeo import ogr

from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "resources" / "sample" / "LC80130312015295LGN00_B2-B5_toa_120m.tif"


def true_colour(stack: np.ndarray, nodata: np.ndarray) -> np.ndarray:
    """Red, green, blue of a B2-B5 TOA stack stretched from 0.02 to 0.3; nodata dark grey."""
    rgb = np.clip((stack[[2, 1, 0]].transpose(1, 2, 0) - 0.02) / 0.28, 0.0, 1.0)
    rgb[nodata] = 0.15
    return rgb


def polygon_rings(path: Path, transform) -> list[np.ndarray]:
    """Outer rings of the cloud polygons, in pixel coordinates of the scene."""
    inverse = ~transform
    rings = []
    source = ogr.Open(str(path))
    for feature in source.GetLayer(0):
        geometry = feature.GetGeometryRef()
        parts = [geometry.GetGeometryRef(i) for i in range(geometry.GetGeometryCount())]
        polygons = parts if geometry.GetGeometryName() == "MULTIPOLYGON" else [geometry]
        for polygon in polygons:
            ring = polygon.GetGeometryRef(0)
            points = np.array([inverse * ring.GetPoint_2D(i) for i in range(ring.GetPointCount())])
            rings.append(points)
    return rings


def main(argv: list[str] | None = None) -> int:
    """Run the workflow on the sample and draw the picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "workflow.png")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cloud_fcn_workflow_") as tmp:
        work = Path(tmp)
        params = DetectionParams(
            min_size=4, buffer=1, masked_image=work / "masked.tif", polygons=work / "clouds.gpkg"
        )
        result = detect_clouds(SAMPLE, work / "mask.tif", params)
        with rasterio.open(SAMPLE) as src:
            scene = src.read().astype(np.float32)
            transform = src.transform
        with rasterio.open(work / "masked.tif") as src:
            masked = src.read().astype(np.float32)
            removed = ~src.read_masks(1).astype(bool)
        rings = polygon_rings(work / "clouds.gpkg", transform)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.6))
    left.imshow(true_colour(scene, np.all(scene == 0, axis=0)))
    for ring in rings:
        left.plot(ring[:, 0], ring[:, 1], color="#ff3fd2", linewidth=0.9)
    left.set_title(f"Input and cloud polygons ({len(rings)})")
    right.imshow(true_colour(masked, removed))
    right.set_title("Masked image: clouds (sieved, buffered by 1 px) removed")
    for axis in (left, right):
        axis.set_axis_off()
    fig.suptitle(
        f"Long Island 2015-10-22, 120 m: {result.cloud_cover:.1f} % cloud, {result.model}, "
        f"--min-size 4 --buffer 1"
    )
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=100)
    print(f"Picture written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
