"""The comparison's report: peers.json, peers.md, and one summary line per peer model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCENE_MEGAPIXELS = 7800 * 7800 / 1e6  # a full Landsat scene, for the cost estimate


def _decision_block(markdown: str, title: str) -> list[str]:
    """The ``At threshold 0.5`` table of a report, retitled (a 0/1 map is exact at 0.5)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("### At threshold 0.5"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("### ")), len(lines))
    return [f"### {title}", *lines[start + 1 : end]]


def model_markdown(label: str, entry: dict[str, Any]) -> str:
    """Tables of one peer model in the format of the cross-validation report."""
    # Imported here: the cross-validation needs GDAL, which the peer's environment lacks.
    from ..oof_scores import report_markdown

    decision = report_markdown(entry["decision"])
    probability = report_markdown(entry["probability"])
    tables = probability.splitlines()[2:]  # the protocol line is in the note
    lines = [f"## {label}", "", entry["note"], ""]
    lines += _decision_block(decision, "At its own decision (argmax of its classes is cloud)")
    lines += ["Cloud probability (softmax share of the cloud class):", "", *tables]
    if entry.get("shadow") is not None:
        shadow = report_markdown(entry["shadow"])
        lines += ["", *_decision_block(shadow, "Cloud shadow at its own decision (argmax)")]
    return "\n".join(lines).rstrip() + "\n"


def pct(scores: dict[str, Any] | None, key: str) -> str:
    """A score in percent with one decimal; ``-`` where it is missing or NaN."""
    value = None if scores is None else scores.get(key)
    return "-" if value is None or value != value else f"{100 * value:.1f}"


def summary_markdown(models: dict[str, dict[str, Any]]) -> list[str]:
    """One row per peer model and rule, to set beside our figures in the README."""
    lines = [
        "| model | rule | Biome J | Biome P | Biome R | all J | s/MP (1 thread) | "
        "7800x7800 scene |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, entry in models.items():
        timing = entry.get("timing", {})
        per_mp = timing.get("seconds_per_megapixel")
        cost = "-" if per_mp is None else f"{per_mp:.2f}"
        scene = "-" if per_mp is None else f"{per_mp * SCENE_MEGAPIXELS / 60:.1f} min"
        rules = [
            ("argmax", entry["decision"], "at_0.5"),
            (f"p > {entry['probability']['threshold']:.3f}", entry["probability"], "at_oof"),
        ]
        if entry.get("shadow") is not None:
            rules.append(("shadow (argmax)", entry["shadow"], "at_0.5"))
        for rule, report, key in rules:
            block = report[key]
            cells = [pct(block["pooled_biome"], k) for k in ("jaccard", "precision", "recall")]
            lines.append(
                f"| {label} | {rule} | {' | '.join(cells)} | {pct(block['pooled'], 'jaccard')} "
                f"| {cost} | {scene} |"
            )
    return lines


def model_line(label: str, entry: dict[str, Any]) -> str:
    """One line of a peer model's headline figures, as the command line prints it."""
    decision = entry["decision"]["at_0.5"]
    best = entry["probability"]
    biome, pooled = decision["pooled_biome"], decision["pooled"]
    timing = entry["timing"].get("seconds_per_megapixel")
    return (
        f"{label}: Biome pooled J {pct(biome, 'jaccard')} P {pct(biome, 'precision')} "
        f"R {pct(biome, 'recall')} (argmax); all pooled J {pct(pooled, 'jaccard')}; "
        f"best threshold {best['threshold']:.3f}: Biome J "
        f"{pct(best['at_oof']['pooled_biome'], 'jaccard')}; shadow Biome J "
        f"{pct(entry['shadow']['at_0.5']['pooled_biome'], 'jaccard')} (argmax); "
        + (f"{timing:.2f} s/MP" if timing is not None else "not timed")
    )


def write_outputs(report: dict[str, Any], out: Path) -> None:
    """Write peers.json and peers.md into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    lines = [
        f"# {report['peer']} on the cross-validation patches",
        "",
        f"Input: {report['input']}. ONNX Runtime {report['onnxruntime']}, "
        f"{report['threads']} thread(s). Folds (held-out groups): "
        + "; ".join(f"{k}: {', '.join(g)}" for k, g in enumerate(report["folds"]))
        + ".",
        "",
        *summary_markdown(report["models"]),
        "",
        "J, P, R: pooled Jaccard, precision, recall (%). argmax: the peer's own decision; "
        "shadow (argmax): its cloud-shadow class against the labelled shadow (L8 Biome 64), "
        "on the pixels where shadow is known; "
        "p > t: its cloud probability at the threshold that maximises the pooled Jaccard of "
        "all these patches (chosen on them, as ours is chosen out of fold). s/MP: seconds per "
        "megapixel on one thread on a mosaic of the patches, model loading excluded; the "
        "scene column is that rate times 60.8 MP. A model that cannot run on a patch "
        "(6-band model, 4-band 38-Cloud) leaves it out of its 'all' figures.",
        "",
    ]
    lines += [model_markdown(label, entry) for label, entry in report["models"].items()]
    (out / "peers.md").write_text("\n".join(lines), encoding="utf-8")
