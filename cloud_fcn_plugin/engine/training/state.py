"""Loop state saved beside a checkpoint so that a resumed run continues exactly.

Optimizer tensors (and any extra tensors) go to ``<name>.state.safetensors``,
everything else to ``<name>.state.json``: nothing is pickled. Both are written to a
temporary file and renamed, as the checkpoint is, so a full disk leaves the previous
state whole; the JSON records the step of the checkpoint it goes with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import OutputNotWritableError, WeightsError
from ..files.gate import STATE_BYTES, read_small_json
from ..models.checkpoints import atomic_write

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
    payload = {"version": STATE_VERSION, "param_groups": groups, "scalars": scalars, **loop}
    text = json.dumps(payload, indent=1, allow_nan=False)
    try:
        atomic_write(tensor_path, lambda tmp: save_file(tensors, tmp))
        atomic_write(json_path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except (OSError, SafetensorError) as exc:
        raise OutputNotWritableError(
            f"cannot write the training state beside {checkpoint}: "
            f"{getattr(exc, 'strerror', None) or exc}; check free disk space."
        ) from None


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
    try:
        payload = read_small_json(json_path, "the training state", STATE_BYTES)
        if not isinstance(payload, dict) or payload.get("version") != STATE_VERSION:
            raise WeightsError(f"{json_path} has an unknown state version: start a new run.")
        state, extra = _optimizer_state(load_file(str(tensor_path)), payload["scalars"])
        optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    except WeightsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, SafetensorError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WeightsError(
            f"The training state beside {checkpoint} is damaged ({reason}): resume from a "
            "copy of the run made before, or start anew with --overwrite."
        ) from None
    return payload, extra


def _optimizer_state(
    tensors: dict[str, torch.Tensor], scalars: dict[str, dict[str, Any]]
) -> tuple[dict[int, dict[str, Any]], dict[str, torch.Tensor]]:
    """Optimizer state per parameter index, and the extra tensors, from the saved files."""
    state: dict[int, dict[str, Any]] = {}
    extra: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        kind, rest = name.split(".", 1)
        if kind == "extra":
            extra[rest] = tensor
            continue
        index, key = rest.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in scalars.items():
        state.setdefault(int(index), {}).update(values)
    return state, extra
