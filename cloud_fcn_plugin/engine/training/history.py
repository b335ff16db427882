"""The per-epoch log of a run: its console line, ``history.csv`` and ``curves.png``."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..models.checkpoints import atomic_write

HISTORY_FIELDS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "val_loss",
    "val_jaccard",
    "val_precision",
    "val_recall",
    "val_specificity",
    "val_overall_accuracy",
    "val_calibrated_jaccard",
    "val_calibrated_threshold",
    "seconds",
)


def _format_row(row: dict[str, Any]) -> str:
    parts = [f"epoch {row['epoch']}", f"loss {row['train_loss']:.4f}"]
    if "val_jaccard" in row:
        parts += [
            f"val loss {row['val_loss']:.4f}",
            f"val Jaccard {row['val_jaccard']:.4f}",
            f"OA {row['val_overall_accuracy']:.4f}",
            f"calibrated Jaccard {row['val_calibrated_jaccard']:.4f}"
            f" at {row['val_calibrated_threshold']:.2f}",
        ]
    parts += [f"lr {row['lr']:.2e}", f"{row['seconds']:.0f} s"]
    return ", ".join(parts)


def write_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Rewrite the per-epoch CSV log (whole file, so a resumed run stays consistent)."""

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for row in history:
                writer.writerow(
                    {k: ("" if row.get(k) is None else row.get(k)) for k in HISTORY_FIELDS}
                )

    # Whole or not at all, like the checkpoints: a full disk leaves the previous log.
    atomic_write(path, write)


def _column(history: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [math.nan if row.get(key) is None else float(row[key]) for row in history]


def plot_history(path: Path, history: Sequence[dict[str, Any]]) -> None:
    """Plot training/validation loss and validation Jaccard per epoch to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [row["train_loss"] for row in history], label="train")
    if any(row.get("val_loss") is not None for row in history):
        left.plot(epochs, _column(history, "val_loss"), label="validation")
        right.plot(epochs, _column(history, "val_jaccard"), label="at threshold 0.5")
        right.plot(epochs, _column(history, "val_calibrated_jaccard"), label="best threshold")
        right.legend()
    left.set(xlabel="epoch", ylabel="loss", title="Loss")
    left.legend()
    right.set(xlabel="epoch", ylabel="Jaccard", title="Validation Jaccard (pooled)")
    right.grid(alpha=0.3)
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    finally:
        plt.close(fig)
