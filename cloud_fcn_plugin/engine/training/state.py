"""Loop state saved beside a checkpoint so that a resumed run continues exactly.

Optimizer tensors (and any extra tensors) go to ``<name>.state.safetensors``,
everything else to ``<name>.state.json``: nothing is pickled.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..errors import WeightsError

STATE_VERSION = 1


def state_paths(checkpoint: Path) -> tuple[Path, Path]:
    """Files holding the loop state that goes with a checkpoint."""
    stem = checkpoint.with_suffix("")
    return stem.with_name(stem.name + ".state.safetensors"), stem.with_name(
        stem.name + ".state.json"
    )


def save_train_state(
    checkpoint: Path,
    optimizer: torch.optim.Optimizer,
    loop: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write optimizer (and ``extra``) tensors to safetensors and everything else to JSON."""
    tensors = {f"extra.{k}": v.detach().cpu().contiguous() for k, v in (extra or {}).items()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    groups = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items()}
        for group in optimizer.state_dict()["param_groups"]
    ]
    tensor_path, json_path = state_paths(checkpoint)
    save_file(tensors, str(tensor_path))
    payload = {"version": STATE_VERSION, "param_groups": groups, "scalars": scalars, **loop}
    json_path.write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")


def load_train_state(
    checkpoint: Path, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore the optimizer; return the loop state and the extra tensors saved with it."""
    tensor_path, json_path = state_paths(checkpoint)
    if not tensor_path.is_file() or not json_path.is_file():
        raise WeightsError(
            f"Cannot resume from {checkpoint}: {tensor_path.name} and {json_path.name} must sit "
            "beside it (resume from the last.safetensors of a run)."
        )
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    if payload.get("version") != STATE_VERSION:
        raise WeightsError(f"{json_path} has an unknown state version: start a new run.")
    state: dict[int, dict[str, Any]] = {}
    extra: dict[str, torch.Tensor] = {}
    for name, tensor in load_file(str(tensor_path)).items():
        kind, rest = name.split(".", 1)
        if kind == "extra":
            extra[rest] = tensor
            continue
        index, key = rest.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in payload["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    return payload, extra
