"""The network's mask held against the product's QA band, scene by scene.

For each Landsat product folder: run the network (``detect_clouds``) and decode the QA
band (``--model qa``) into two masks on the same grid, then give the cover of each
class in both, how often they agree, and a picture of the two side by side.
``scripts/compare_qa.py`` runs it over the shared whole scenes and writes the README table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from ..classes import CLASS_CODES, CLOUD_CODES, CLOUD_SHADOW, CODE_NAMES, NODATA
from ..inference.decision import ClassCounts
from ..params import QA_MODEL, DetectionParams
from ..scene.qa_band import PRE_COLLECTION, agreement, require_qa_band


@dataclass(frozen=True)
class SceneComparison:
    """The network's mask and the QA band's on one scene.

    Attributes:
        scene: the product folder's name.
        qa_label: which QA layout was decoded (``Collection 1 BQA``...).
        model: the network that ran.
        network: class counts of the network's mask.
        qa: class counts of the decoded QA band.
        class_agreement: percent of the pixels valid in both with the same code.
        cloud_agreement: percent of them both call cloud (thick or thin), or both not.
        cloud_jaccard: intersection over union of the two cloud masks, percent.
        picture: the side-by-side PNG, if one was written.
        shadow_jaccard: the same for cloud shadow; None where the QA layout has no
            shadow field (pre-collection BQA).
    """

    scene: str
    qa_label: str
    model: str
    network: ClassCounts
    qa: ClassCounts
    class_agreement: float
    cloud_agreement: float
    cloud_jaccard: float
    picture: Path | None = None
    shadow_jaccard: float | None = None


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        return dataset.read(1)


def _scores(ours: np.ndarray, theirs: np.ndarray, codes) -> tuple[float, float]:
    """Percent of the pixels valid in both that both call ``codes`` or both not, and the
    Jaccard of the two ``codes`` masks (100 where neither has any)."""
    both = (ours != NODATA) & (theirs != NODATA)
    a, b = np.isin(ours, codes) & both, np.isin(theirs, codes) & both
    total = int(np.count_nonzero(both))
    same = 100.0 * int(np.count_nonzero((a == b) & both)) / total if total else 0.0
    union = int(np.count_nonzero(a | b))
    jaccard = 100.0 * int(np.count_nonzero(a & b)) / union if union else 100.0
    return same, jaccard


def compare_scene(
    folder: str | Path,
    workdir: str | Path,
    params: DetectionParams | None = None,
    picture: str | Path | None = None,
    **run: Any,
) -> SceneComparison:
    """Run the network and decode the QA band of one product folder; compare the masks.

    Args:
        folder: the Landsat product folder (it must hold QA_PIXEL or BQA).
        workdir: where the two masks are written (``<scene>_network.tif``, ``_qa.tif``).
        params: the network run's parameters (the bundled automatic model by default).
        picture: PNG path for the side-by-side picture, None for none.
        run: more keywords of the network's ``detect_clouds`` (an already loaded
            ``predictor`` and its ``model``).

    Raises:
        UnsupportedDataError: the folder has no QA band.
        CloudFcnError: the network run failed.
    """
    from ..pipeline import detect_clouds

    folder, workdir = Path(folder), Path(workdir)
    qa_band = require_qa_band(folder)
    params = params or DetectionParams()
    network_path = workdir / f"{folder.name}_network.tif"
    qa_path = workdir / f"{folder.name}_qa.tif"
    network_params = DetectionParams(**{**params.__dict__, "overwrite": True})
    result = detect_clouds(folder, network_path, network_params, **run)
    qa_params = DetectionParams(model=QA_MODEL, overwrite=True)
    detect_clouds(folder, qa_path, qa_params)
    ours, theirs = _read(network_path), _read(qa_path)
    network, qa = ClassCounts(), ClassCounts()
    network.add(ours)
    qa.add(theirs)
    same, jaccard = _scores(ours, theirs, CLOUD_CODES)
    # A pre-collection BQA has no shadow field: its "no shadow" is no answer.
    has_shadow = qa_band.flavour != PRE_COLLECTION
    shadow = _scores(ours, theirs, (CLOUD_SHADOW,))[1] if has_shadow else None
    written = None
    if picture is not None:
        written = side_by_side(
            ours, theirs, Path(picture), folder.name, result.model, qa_band.label
        )
    return SceneComparison(
        folder.name, qa_band.label, result.model, network, qa, agreement(ours, theirs), same,
        jaccard, written, shadow,
    )


#: Picture colours: the QGIS style's (resources/styles/cloud_mask.qml), opaque, clear
#: dark grey and no data white.
PICTURE_COLOURS = {
    0: (60, 60, 60), 1: (255, 43, 214), 2: (255, 168, 239), 3: (30, 80, 255),
    NODATA: (255, 255, 255),
}  # fmt: skip


def _colours(mask: np.ndarray) -> np.ndarray:
    """An RGB picture of a mask in :data:`PICTURE_COLOURS`."""
    rgb = np.zeros((*mask.shape, 3), np.uint8)
    for code, colour in PICTURE_COLOURS.items():
        rgb[mask == code] = colour
    return rgb


def side_by_side(
    ours: np.ndarray, theirs: np.ndarray, path: Path, scene: str, model: str, qa_label: str
) -> Path:
    """Write a small PNG: the network's mask left, the QA band's right, with a legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    figure, axes = plt.subplots(1, 2, figsize=(8, 4.4), dpi=80)
    for axis, mask, title in ((axes[0], ours, model), (axes[1], theirs, qa_label)):
        axis.imshow(_colours(mask), interpolation="nearest")
        axis.set_title(title, fontsize=10)
        axis.set_axis_off()
    handles = [
        Patch(color=np.array(_colours(np.array([[code]], np.uint8))[0, 0]) / 255, label=name)
        for code, name in CODE_NAMES.items()
    ]
    figure.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    figure.suptitle(scene, fontsize=10)
    figure.tight_layout(rect=(0, 0.07, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def markdown_table(rows: Iterable[SceneComparison], picture_base: Path | None = None) -> str:
    """The README table: cover of each class by the network and the QA band, and agreement."""
    names = [CODE_NAMES[c] for c in CLASS_CODES if c]
    header = (
        "| scene | QA band | "
        + " | ".join(f"{n} % (network / QA)" for n in names)
        + " | cloud agreement % | cloud Jaccard % | shadow Jaccard % | class agreement % "
        "| picture |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        covers = " | ".join(
            f"{row.network.cover((c,)):.1f} / {row.qa.cover((c,)):.1f}" for c in CLASS_CODES if c
        )
        picture = ""
        if row.picture is not None:
            link = row.picture if picture_base is None else row.picture.relative_to(picture_base)
            picture = f"[png]({link.as_posix()})"
        lines.append(
            f"| {row.scene} | {row.qa_label} | {covers} | {row.cloud_agreement:.1f} | "
            f"{row.cloud_jaccard:.1f} | {_shadow_text(row)} | {row.class_agreement:.1f} | "
            f"{picture} |"
        )
    return "\n".join(lines)


def _shadow_text(row: SceneComparison) -> str:
    """The shadow Jaccard, or why there is none."""
    return "no shadow field" if row.shadow_jaccard is None else f"{row.shadow_jaccard:.1f}"


def text_report(row: SceneComparison) -> str:
    """A few lines for the terminal: each class's cover in both masks, and agreement."""
    covers = ", ".join(
        f"{CODE_NAMES[c]} {row.network.cover((c,)):.1f} / {row.qa.cover((c,)):.1f} %"
        for c in CLASS_CODES
    )
    return (
        f"{row.scene} ({row.model} / {row.qa_label}): {covers}; cloud agreement "
        f"{row.cloud_agreement:.1f} %, cloud Jaccard {row.cloud_jaccard:.1f} %, shadow "
        f"Jaccard {_shadow_text(row)}{'' if row.shadow_jaccard is None else ' %'}, class "
        f"agreement {row.class_agreement:.1f} %"
    )
