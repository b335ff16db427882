"""Turn the benchmark's result dict into a console table, Markdown and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LABELS = {
    "network": "network alone (ready tensors)",
    "engine": "engine end to end (detect.py)",
    "naive": "naive pipeline (whole scene in memory)",
}


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the main table: what, Mpx/s, relative to the network, seconds, peak RSS."""
    results = report["results"]
    network = results.get("network", {}).get("mpx_per_s")
    rows = []
    for kind, label in LABELS.items():
        result = results.get(kind)
        if result is None:
            continue
        relative = f"{result['mpx_per_s'] / network:.2f}" if network else "-"
        rows.append([
            label,
            f"{result['mpx_per_s']:.2f}",
            relative,
            f"{result['seconds']:.1f}",
            f"{result['megapixels']:.1f}",
            f"{result['peak_rss_mb']:.0f}",
            f"{result.get('other_processes_cores', 0):.2f}",
        ])  # fmt: skip
    return rows


HEADER = ["measurement", "Mpx/s", "x network", "seconds", "Mpx", "peak RSS MB", "busy cores"]


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """Return a GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _facts(report: dict[str, Any]) -> list[str]:
    machine, model, scene = report["machine"], report["model"], report["scene"]
    # The model's facts come from the network measurement; --skip network leaves them out.
    model_line = (
        f"- Model: {model['model']} ({model['parameters']:,} parameters), tile "
        f"{model['tile']} px, overlap {model['overlap']} px; weights: {report['weights']}"
        if model.get("parameters") is not None
        else f"- Weights: {report['weights']}"
    )
    return [
        f"- Command: `{report['command']}`",
        f"- Machine: {machine['cpu']}, {machine['physical_cores']} physical / "
        f"{machine['logical_cores']} logical cores, {machine['memory_gb']} GB RAM, "
        f"{machine['os']}; load average {machine['load_average_at_start']} at start, "
        f"{machine.get('load_average_at_end')} at end",
        f"- Device: {report['device']}, torch {report['torch']}, "
        f"{report['torch_threads']} torch threads, batch size {report['batch_size']}",
        model_line,
        f"- Scene: {scene['size']} uint16 Level-1 DN, 4 bands, "
        f"{scene['valid_pixels'] / 1e6:.1f} Mpx valid"
        + (f" ({100 * scene['fill_fraction']:.0f} % fill)" if "fill_fraction" in scene else ""),
    ]


def _ratio_lines(report: dict[str, Any]) -> list[str]:
    ratios = report["ratios"]
    lines = []
    network = report["results"].get("network", {})
    if network.get("pooled_mpx_per_s"):
        lines.append(
            f"- Network alone: {network['pooled_mpx_per_s']:.2f} Mpx/s with one tile per "
            f"core on {network['cpu_workers']} threads (the engine's way on a CPU), "
            f"{network['batched_mpx_per_s']:.2f} Mpx/s in batches of {report['batch_size']} "
            f"on {report['torch_threads']} torch threads; the faster is the limit"
        )
    if "engine_vs_network_valid" in ratios:
        lines.append(
            f"- Engine / network, valid pixels: **{ratios['engine_vs_network_valid']:.2f}**; "
            f"on the pixels it computes: **{ratios['engine_vs_network_computed']:.2f}** "
            f"({ratios['computed_per_valid_pixel']:.2f} pixels through the network per valid "
            "pixel: tile overlap, fill context along the footprint, mirrored margins at the "
            "raster edge, padding to the model's size multiple)"
        )
    if "engine_speedup_vs_naive" in ratios:
        lines.append(
            f"- Engine vs naive: {ratios['engine_speedup_vs_naive']:.2f}x faster, "
            f"naive needs {ratios['naive_vs_engine_memory']:.1f}x the memory"
        )
    return lines


def _extra_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    qgis = report.get("qgis")
    if qgis is not None:
        if qgis.get("ratio") is not None:
            lines.append(
                f"- QGIS Processing (`qgis_process`): {qgis['qgis_seconds']} s vs command line "
                f"{qgis['cli_seconds']} s: ratio **{qgis['ratio']:.2f}** ({qgis['note']})"
            )
            if qgis.get("run_ratio") is not None:
                lines.append(
                    f"- QGIS Processing, detection alone (each front end's reported run "
                    f"time, QGIS start-up left out): {qgis['qgis_run_seconds']} s vs "
                    f"{qgis['cli_run_seconds']} s: ratio **{qgis['run_ratio']:.2f}**"
                )
        else:
            lines.append(f"- QGIS Processing: not measured: "
                         f"{qgis.get('reason') or qgis.get('error')}")
    scaling = report.get("batch_scaling")
    if scaling is not None:
        if scaling.get("available"):
            for row in scaling["rows"]:
                lines.append(
                    f"- Batch, {row['workers']} worker(s) x {row['torch_threads']} threads: "
                    f"{row['scenes_per_minute']} scenes/min ({row['scenes']} scenes, "
                    f"{row['seconds']} s, speed-up {row.get('speedup')})"
                )
        else:
            lines.append(f"- Batch scaling: not measured: {scaling['reason']}")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """Return the whole Markdown report."""
    parts = [
        "## Benchmark",
        "",
        markdown_table(HEADER, table_rows(report)),
        "",
        "Mpx/s counts valid (non-fill) input pixels for the engine and the naive "
        "pipeline, and tile pixels for the network alone. Busy cores: CPU used by other "
        "processes during the measurement (a shared machine).",
        "",
        *_ratio_lines(report),
        *_extra_lines(report),
        *_facts(report),
        "",
    ]
    return "\n".join(parts)


def print_table(report: dict[str, Any]) -> None:
    """Print the table and the ratios to the console."""
    rows = [HEADER, *table_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for line in _ratio_lines(report) + _extra_lines(report):
        print(line.replace("**", ""))


def write_reports(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write ``benchmark.json`` and ``benchmark.md`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "benchmark.json", folder / "benchmark.md"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return [json_path, md_path]
