"""The batch report: one row per scene, the table printed at the end, the report file."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CloudFcnError

if TYPE_CHECKING:
    from .batch_scene import Job

STATUSES = ("ok", "failed", "skipped", "canceled")


@dataclass
class SceneReport:
    """The outcome of one scene, one row of the batch report."""

    input: str
    output: str
    status: str
    cloud_cover: float | None = None
    valid_pixels: int | None = None
    seconds: float = 0.0
    worker: str = ""
    error: str = ""

    @classmethod
    def for_job(cls, job: Job, status: str, error: str = "", **values: Any) -> SceneReport:
        """Build a report for ``job``."""
        return cls(str(job.input), str(job.output), status, error=error, **values)


def one_line(error: BaseException) -> str:
    """The error as one line; engine errors already say what to do, others get their type."""
    text = " ".join(str(error).split())
    if isinstance(error, CloudFcnError):
        return text or type(error).__name__
    if is_read_error(error):
        return f"cannot read the input, it is damaged or incomplete: replace it ({text})"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def format_table(reports: Sequence[SceneReport]) -> str:
    """Return the plain-text summary table printed at the end of a batch."""
    header = f"{'status':<8} {'cloud %':>8} {'valid px':>11} {'seconds':>8}  scene"
    lines = [header, "-" * len(header)]
    for report in reports:
        cover = "" if report.cloud_cover is None else f"{report.cloud_cover:.2f}"
        valid = "" if report.valid_pixels is None else f"{report.valid_pixels:,}"
        line = f"{report.status:<8} {cover:>8} {valid:>11} {report.seconds:>8.1f}  {report.input}"
        if report.error:
            line += f"\n{'':<39}-> {report.error}"
        lines.append(line)
    lines.append(summary_line(reports))
    return "\n".join(lines)


def summary_line(reports: Sequence[SceneReport]) -> str:
    """Return e.g. ``"5 scenes: 3 ok, 1 skipped, 1 failed"``."""
    counts = [f"{sum(r.status == s for r in reports)} {s}" for s in STATUSES]
    shown = [c for c in counts if not c.startswith("0 ")]
    return f"{len(reports)} scenes: " + ", ".join(shown)


def write_report(reports: Sequence[SceneReport], path: str | Path) -> Path:
    """Write the report as JSON (``.json``) or CSV (any other suffix)."""
    path = Path(path).expanduser()
    rows = [asdict(report) for report in reports]
    try:
        if path.suffix.lower() == ".json":
            path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        else:
            with path.open("w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, [f.name for f in fields(SceneReport)])
                writer.writeheader()
                writer.writerows(rows)
    except OSError as error:
        from .errors import OutputNotWritableError

        raise OutputNotWritableError(f"Cannot write the report {path}: {error}.") from error
    return path


def is_read_error(error: BaseException) -> bool:
    # A band file cut short passes the header checks and fails mid-read in GDAL.
    return type(error).__module__.startswith("rasterio")
