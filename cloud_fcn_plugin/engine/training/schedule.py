"""The learning rate schedule: warm-up then cosine, constant, or lowered on plateaus."""

from __future__ import annotations

import math
from typing import Any

from .config import TrainConfig
from .jsonsafe import _finite


class LrSchedule:
    """Learning rate as a function of the step (cosine) or of validation (plateau).

    Its state is plain JSON, so resuming never unpickles anything.
    """

    def __init__(self, config: TrainConfig, steps_per_epoch: int) -> None:
        """Set up from the recipe."""
        self.kind = config.schedule
        self.base_lr = config.lr
        self.total = max(1, config.epochs * steps_per_epoch)
        self.warmup = min(self.total // 2, config.warmup_epochs * steps_per_epoch)
        self.plateau_lr = config.lr
        self.plateau_best = -math.inf
        self.plateau_bad = 0
        self.plateau_patience = config.plateau_patience
        self.plateau_factor = config.plateau_factor

    def lr_at(self, step: int) -> float:
        """Learning rate of optimisation step ``step`` (0-based)."""
        if self.kind == "plateau":
            return self.plateau_lr
        if self.kind == "constant":
            return self.base_lr
        if step < self.warmup:
            return self.base_lr * (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        floor = 0.01 * self.base_lr
        return floor + (self.base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def epoch_end(self, score: float) -> None:
        """Lower the plateau learning rate after ``plateau_patience`` epochs without progress."""
        if self.kind != "plateau" or math.isnan(score):
            return
        if score > self.plateau_best + 1e-4:
            self.plateau_best, self.plateau_bad = score, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad >= self.plateau_patience:
                self.plateau_lr *= self.plateau_factor
                self.plateau_bad = 0

    def state_dict(self) -> dict[str, Any]:
        """JSON state."""
        return {"lr": self.plateau_lr, "best": _finite(self.plateau_best), "bad": self.plateau_bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the JSON state."""
        self.plateau_lr = float(state["lr"])
        self.plateau_best = -math.inf if state["best"] is None else float(state["best"])
        self.plateau_bad = int(state["bad"])
