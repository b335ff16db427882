"""Checkpoints saved and loaded safely: safetensors weights, their metadata, a JSON sidecar."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..errors import (
    DeviceError,
    InputReadError,
    OutputNotWritableError,
    ParameterError,
    WeightsError,
)
from ..files import safe_json
from ..files.gate import SIDECAR_BYTES, read_small_json
from . import available_models, build_model
from .checkpoint_metadata import METADATA_KEY, CheckpointMetadata, _check_model_size

# A .pt/.pth file is a zip archive (torch >= 1.6) or a raw pickle stream.
_PICKLE_SIGNATURES = (b"PK\x03\x04", b"\x80")


_CHUNK = 1 << 20


# --- digests -----------------------------------------------------------------------


def tensors_sha256(tensors: Mapping[str, torch.Tensor]) -> str:
    """Return the SHA-256 of a state dict: sorted names; name, dtype, shape, raw bytes.

    Args:
        tensors: name -> tensor (any device; read as contiguous CPU bytes).
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        header = f"{name}\0{str(tensor.dtype).removeprefix('torch.')}\0{list(tensor.shape)}\0"
        digest.update(header.encode("utf-8"))
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def checkpoint_sha256(path: str | os.PathLike) -> str:
    """Return the SHA-256 of the whole checkpoint file (what the sidecar records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar_path(path: str | os.PathLike) -> Path:
    """Return the path of the JSON sidecar written next to a checkpoint."""
    return Path(path).with_suffix(".json")


# --- saving ------------------------------------------------------------------------


def _check_matches_architecture(
    tensors: Mapping[str, torch.Tensor], meta: CheckpointMetadata
) -> None:
    # Built on the meta device: no memory, no compute, only names and shapes.
    with torch.device("meta"):
        try:
            reference = build_model(meta.architecture, **meta.arch_args).state_dict()
        except ParameterError as exc:
            raise WeightsError(f"cannot save: {exc}") from None
    problem = _state_dict_mismatch(tensors, reference)
    if problem:
        raise WeightsError(
            f"cannot save: the model does not match {meta.architecture} {meta.arch_args} "
            f"({problem}); pass the metadata the model was built with."
        )


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then move the temporary file onto ``path``.

    Whatever ``write`` raises (a full disk included) leaves ``path`` as it was and no
    temporary file behind.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); a checkpoint gets the usual permissions.
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_checkpoint(
    path: str | os.PathLike, model: torch.nn.Module, metadata: CheckpointMetadata
) -> str:
    """Write ``model``'s state dict and ``metadata`` atomically, plus the JSON sidecar.

    Args:
        path: destination ``.safetensors`` file; its folder must exist.
        model: a model built by ``build_model(metadata.architecture, **metadata.arch_args)``.
        metadata: what to store with the tensors.

    Returns:
        The SHA-256 of the tensors (also stored in the metadata as ``"sha256"``).

    Raises:
        WeightsError: the model does not match the metadata's architecture.
        OutputNotWritableError: the folder does not exist or cannot be written.
    """
    path = Path(path)
    # Clone so no two entries share storage (safetensors refuses shared tensors).
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    _check_matches_architecture(tensors, metadata)
    problem = _non_finite(tensors)
    if problem:
        raise WeightsError(f"cannot save: {problem}; a model that diverged is not saved.")
    sha = tensors_sha256(tensors)
    header = {**metadata.to_json_dict(), "sha256": sha}
    sidecar = sidecar_path(path)
    try:
        # A stale sidecar would make the new checkpoint look corrupt if we stop midway.
        sidecar.unlink(missing_ok=True)
        atomic_write(
            path, lambda tmp: save_file(tensors, tmp, metadata={METADATA_KEY: json.dumps(header)})
        )
        record = {**header, "file": path.name, "file_sha256": checkpoint_sha256(path)}
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        atomic_write(sidecar, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except (OSError, SafetensorError) as exc:
        # safetensors reports a full disk as SafetensorError (StorageFull), not OSError.
        raise OutputNotWritableError(
            f"cannot write checkpoint {path}: {getattr(exc, 'strerror', None) or exc}; "
            "check the folder exists and is writable, and free disk space."
        ) from None
    return sha


# --- reading -----------------------------------------------------------------------


def _unparsable(path: Path, exc: Exception) -> WeightsError:
    """Return the error for a file safetensors cannot parse, naming pickles as such."""
    with open(path, "rb") as stream:
        head = stream.read(4)
    # Checked only after parsing failed: a valid header length can start with 0x80 too.
    if head.startswith(_PICKLE_SIGNATURES):
        return WeightsError(
            f"{path.name} is a PyTorch pickle (.pt/.pth), which is unsafe to load; "
            "convert it to .safetensors with weights.save_checkpoint."
        )
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return WeightsError(
        f"{path.name} is not a valid safetensors file ({reason}); "
        "it is truncated or corrupt: re-download or re-train it."
    )


def _check_regular_file(path: Path) -> None:
    """Refuse before opening what is not a plain file (a FIFO would block the open)."""
    if path.is_file():
        return
    if path.is_dir():
        raise WeightsError(
            f"{path} is a folder, not a checkpoint file: choose a .safetensors file in it."
        )
    if path.exists():
        raise WeightsError(
            f"{path} is not a regular file (a device, pipe or socket): choose a .safetensors "
            "checkpoint file."
        )
    raise WeightsError(
        f"checkpoint not found: {path}; check the path, train one or reinstall the plugin."
    )


def _metadata_of(path: Path, header: Mapping[str, Any]) -> CheckpointMetadata:
    """Validated metadata of a header, the errors naming the file."""
    try:
        return CheckpointMetadata.from_json_dict(header)
    except WeightsError as exc:
        raise WeightsError(f"{path.name}: {exc}") from None


def _read_header(path: Path) -> dict[str, Any]:
    """Return the parsed ``cloud_fcn`` JSON object of a checkpoint, reading no tensors."""
    _check_regular_file(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unparsable(path, exc) from None
    if raw is None:
        raise WeightsError(
            f"{path.name} has no '{METADATA_KEY}' metadata; it was not saved by this plugin: "
            "re-save it with weights.save_checkpoint."
        )
    try:
        header = safe_json.loads(raw)
    except ValueError:
        raise WeightsError(
            f"{path.name}: the '{METADATA_KEY}' metadata is not valid JSON; re-save the checkpoint."
        ) from None
    if not isinstance(header, dict):
        raise WeightsError(f"{path.name}: the metadata is not a JSON object; re-save it.")
    return header


def read_metadata(path: str | os.PathLike) -> CheckpointMetadata:
    """Return a checkpoint's metadata from its header only (cheap: no tensors are read).

    An ``.onnx`` model's metadata comes from its ``metadata_props`` (see
    :mod:`.onnx_model`; that needs onnxruntime).

    Raises:
        WeightsError: missing, not safetensors, corrupt header or invalid metadata.
        DependencyMissingError: an ``.onnx`` model without onnxruntime installed.
    """
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        from .onnx_model import read_onnx_metadata

        return read_onnx_metadata(path)
    return _metadata_of(path, _read_header(path))


def tensors_checksum(path: str | os.PathLike) -> str:
    """The SHA-256 of a checkpoint's tensors as its header records it (reads no tensors).

    Raises:
        WeightsError: not a checkpoint of this plugin, or no checksum recorded.
    """
    sha = _read_header(Path(path)).get("sha256")
    if not isinstance(sha, str):
        raise WeightsError(f"{Path(path).name} lacks its tensor sha256; re-save the checkpoint.")
    return sha


def _verify_sidecar(path: Path) -> None:
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return
    try:
        record = read_small_json(sidecar, "the checkpoint's sidecar", SIDECAR_BYTES)
    except InputReadError as exc:  # the gate's reason: too large, not a regular file
        raise WeightsError(f"sidecar {sidecar.name}: {exc} Delete it or re-save.") from None
    except (OSError, ValueError):
        raise WeightsError(
            f"sidecar {sidecar.name} is not valid JSON or is unreadable; delete it or re-save."
        ) from None
    try:
        expected = record["file_sha256"]
    except (KeyError, TypeError):
        raise WeightsError(
            f"sidecar {sidecar.name} is unreadable or lacks file_sha256; delete it or re-save."
        ) from None
    if checkpoint_sha256(path) != expected:
        raise WeightsError(
            f"{path.name} does not match the sha256 in {sidecar.name}: the file is corrupt "
            "or was modified; re-download or re-train."
        )


def _state_dict_mismatch(
    tensors: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]
) -> str:
    """Return a short description of name/shape differences, or '' when they match."""
    missing = sorted(set(reference) - set(tensors))
    unexpected = sorted(set(tensors) - set(reference))
    reshaped = [
        f"{k} {tuple(tensors[k].shape)} != {tuple(reference[k].shape)}"
        for k in sorted(set(tensors) & set(reference))
        if tensors[k].shape != reference[k].shape
    ]
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", reshaped)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            parts.append(f"{label}: {', '.join(items[:3])}{more}")
    return "; ".join(parts)


def _non_finite(tensors: Mapping[str, torch.Tensor]) -> str:
    """Name the first floating-point tensor holding NaN or infinity, or ''."""
    for name in sorted(tensors):
        tensor = tensors[name]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"tensor {name} holds NaN or infinite values"
    return ""


def _torch_device(device: str | torch.device) -> torch.device:
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'mps'.") from None
    if target.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("CUDA is not available here; use device 'cpu'.")
    if target.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("Apple MPS is not available here; use device 'cpu'.")
    return target


def load_checkpoint(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, CheckpointMetadata]:
    """Load a checkpoint safely (never unpickles), verify it and build the model.

    Args:
        path: the ``.safetensors`` file.
        device: where to put the model.

    Returns:
        The model in eval mode on ``device``, and its metadata.

    Raises:
        WeightsError: missing, unsafe, corrupt, modified or mismatched checkpoint.
        DeviceError: the device is not available.
    """
    path = Path(path)
    target = _torch_device(device)
    header = _read_header(path)
    metadata = _metadata_of(path, header)
    if metadata.architecture not in available_models():
        raise WeightsError(
            f"{path.name} uses unknown architecture {metadata.architecture!r} "
            f"(known: {', '.join(available_models())}); update the plugin."
        )
    _check_model_size(metadata, path.name)
    _verify_sidecar(path)
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"{path.name}: cannot read tensors ({exc}); the file is corrupt: re-download it."
        ) from None
    if not isinstance(header.get("sha256"), str):
        raise WeightsError(f"{path.name} lacks its tensor sha256; re-save the checkpoint.")
    if tensors_sha256(tensors) != header["sha256"]:
        raise WeightsError(
            f"{path.name}: tensor checksum mismatch: the file is corrupt or was modified; "
            "re-download or re-train."
        )
    problem = _non_finite(tensors)
    if problem:
        raise WeightsError(
            f"{path.name}: {problem}: the training run diverged; re-train it (e.g. with a "
            "lower --lr) or choose another checkpoint."
        )
    model = build_model(metadata.architecture, **metadata.arch_args)
    problem = _state_dict_mismatch(tensors, model.state_dict())
    if problem:
        raise WeightsError(
            f"{path.name}: weights do not fit {metadata.architecture} {metadata.arch_args} "
            f"({problem}); the metadata or the file is wrong: re-save or re-train."
        )
    model.load_state_dict(tensors, strict=True)
    return model.to(target).eval(), metadata
