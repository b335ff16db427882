"""The batch report: one row per scene, the table printed at the end, the report file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CloudFcnError
from ..files.atomic import write_text_file

if TYPE_CHECKING:
    from .jobs import Job

STATUSES = ("ok", "failed", "skipped", "canceled")


@dataclass
class SceneReport:
    """The outcome of one scene, one row of the batch report.

    ``cloud_cover`` is thick + thin cloud; the ``*_cover`` columns give every class of
    the mask, and ``qa_*`` the product QA band's covers where the input has one (percent
    of the valid pixels).
    """

    input: str
    output: str
    status: str
    cloud_cover: float | None = None
    valid_pixels: int | None = None
    seconds: float = 0.0
    worker: str = ""
    error: str = ""
    clear_cover: float | None = None
    thick_cloud_cover: float | None = None
    thin_cloud_cover: float | None = None
    shadow_cover: float | None = None
    qa_cloud_cover: float | None = None
    qa_shadow_cover: float | None = None
    #: The tile size the mask was made with (it changes the mask; see ``settings_tag``).
    tile_size: int | None = None

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
    header = (
        f"{'status':<8} {'cloud %':>8} {'thick %':>8} {'thin %':>7} {'shadow %':>8} "
        f"{'QA cloud %':>10} {'valid px':>11} {'seconds':>8}  scene"
    )
    lines = [header, "-" * len(header)]
    for report in reports:
        covers = " ".join(
            f"{_percent(value):>{width}}"
            for value, width in (
                (report.cloud_cover, 8), (report.thick_cloud_cover, 8),
                (report.thin_cloud_cover, 7), (report.shadow_cover, 8),
                (report.qa_cloud_cover, 10),
            )
        )  # fmt: skip
        valid = "" if report.valid_pixels is None else f"{report.valid_pixels:,}"
        line = f"{report.status:<8} {covers} {valid:>11} {report.seconds:>8.1f}  {report.input}"
        if report.error:
            line += f"\n{'':<75}-> {report.error}"
        lines.append(line)
    lines.append(summary_line(reports))
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def summary_line(reports: Sequence[SceneReport]) -> str:
    """Return e.g. ``"5 scenes: 3 ok, 1 skipped, 1 failed"``."""
    counts = [f"{sum(r.status == s for r in reports)} {s}" for s in STATUSES]
    shown = [c for c in counts if not c.startswith("0 ")]
    return f"{len(reports)} scenes: " + ", ".join(shown)


def write_report(reports: Sequence[SceneReport], path: str | Path) -> Path:
    """Write the report as JSON (``.json``) or CSV (any other suffix), atomically.

    Like every output it goes to a temporary file beside it, synced and renamed, so a
    full disk leaves any previous report whole. CSV cells that a spreadsheet would run
    as a formula (starting with ``= + - @``, a tab or a carriage return) get a leading
    apostrophe.

    Raises:
        OutputNotWritableError: the report cannot be written.
    """
    path = Path(path).expanduser().absolute()
    rows = [asdict(report) for report in reports]
    if path.suffix.lower() == ".json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        stream = io.StringIO(newline="")
        writer = csv.DictWriter(stream, [f.name for f in fields(SceneReport)])
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
        text = stream.getvalue()
    write_text_file(path, text, overwrite=True)
    return path


#: What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def is_read_error(error: BaseException) -> bool:
    # A band file cut short passes the header checks and fails mid-read in GDAL.
    return type(error).__module__.startswith("rasterio")
