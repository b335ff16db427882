"""Checkpoints: one ``.safetensors`` file plus a human-readable ``.json`` sidecar.

The safetensors header holds one metadata key, ``"cloud_fcn"``: a JSON object with
the architecture, its arguments, the band order and normalisation, the calibrated
threshold, tiling defaults, provenance, metrics, and ``"sha256"``: a digest of the
tensors (sorted names; name, dtype, shape and raw bytes of each). The sidecar
``<stem>.json`` repeats that object and adds ``"file_sha256"``, the digest of the
whole file, so a changed header is caught too.

Nothing here unpickles: safetensors stores raw little-endian tensor bytes only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from . import safe_json
from .bands import LANDSAT_BAND_NAMES, THERMAL_BAND, band_number_from_text
from .classes import CLOUD_ONLY, validate_channel_classes
from .errors import DeviceError, OutputNotWritableError, ParameterError, WeightsError
from .models import available_models, build_model
from .params import MAX_TILE_SIZE

METADATA_KEY = "cloud_fcn"
FORMAT_VERSION = 1
DEFAULT_BANDS = ("red", "green", "blue", "nir")

# A .pt/.pth file is a zip archive (torch >= 1.6) or a raw pickle stream.
_PICKLE_SIGNATURES = (b"PK\x03\x04", b"\x80")
_CHUNK = 1 << 20
#: Bounds on what a checkpoint header may ask for, checked before anything is built: a
#: header is data from anywhere, and ``width`` 1000 once allocated 13.8 GB. The largest
#: model in use (``cloudnet``, width 1) has 36 million parameters.
MAX_WIDTH = 4.0
MAX_IN_CHANNELS = 16
MAX_PARAMETERS = 200_000_000
#: What normalisation statistics a trained model can have, per kind of band: reflectance
#: (means 0.04-0.46, stds 0.06-0.31 in the bundled models) and brightness temperature
#: in kelvin (272 and 23). A std of 1e-30 or a mean of 1e30 saturates every pixel.
_STATISTICS = {
    "reflectance": {"mean": (-1.0, 2.0), "min_std": 1e-3, "max_std": 10.0},
    "temperature": {"mean": (150.0, 400.0), "min_std": 1e-2, "max_std": 100.0},
}
#: The panchromatic band is on a 15 m grid, the others on 30 m: no model reads it.
_UNREADABLE_BANDS = {8}


@dataclass(frozen=True)
class CheckpointMetadata:
    """Everything needed to rebuild a model and run it as it was trained.

    Attributes:
        architecture: registry name, see ``available_models()``.
        arch_args: ``build_model`` arguments, e.g. ``{"width": 1.0, "in_channels": 4}``.
        bands: band names in the order the model expects them.
        mean: per-band mean applied to reflectance: ``(x - mean) / std``.
        std: per-band standard deviation (> 0).
        threshold: calibrated default decision threshold on the probability.
        tile_size: default tile size in pixels.
        overlap: default tile overlap in pixels.
        provenance: how it was made (command, data, date, git commit, epochs...).
        metrics: validation metrics.
        format_version: version of this metadata layout.
        classes: the model's output channels, in order (``engine.classes``):
            ``("cloud",)`` for one sigmoid channel (what checkpoints without the field
            hold), or softmaxed channels such as
            ``("clear", "thick_cloud", "thin_cloud", "cloud_shadow")``.
        shadow_threshold: decision threshold on the shadow probability, in (0, 1).
    """

    architecture: str
    arch_args: dict = field(default_factory=dict)
    bands: tuple[str, ...] = DEFAULT_BANDS
    mean: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    threshold: float = 0.5
    tile_size: int = 384
    overlap: int = 32
    provenance: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    classes: tuple[str, ...] = CLOUD_ONLY
    shadow_threshold: float = 0.5

    def __post_init__(self) -> None:
        # Normalise JSON lists to tuples and ints to floats so equality is by value.
        set_ = object.__setattr__
        set_(self, "bands", tuple(self.bands))
        set_(self, "classes", validate_channel_classes(self.classes))
        set_(self, "mean", _float_tuple("mean", self.mean))
        set_(self, "std", _float_tuple("std", self.std))
        for name in ("arch_args", "provenance", "metrics"):
            value = getattr(self, name)
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise ParameterError(f"{name} must be a JSON object, got {value!r}.")
            set_(self, name, dict(value))
        _validate(self)

    def to_json_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (tuples become lists)."""
        data = asdict(self)
        for key in ("bands", "mean", "std", "classes"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> CheckpointMetadata:
        """Build and validate metadata read from a checkpoint.

        Raises:
            WeightsError: a field is missing, unknown or invalid.
        """
        if not isinstance(data, Mapping):
            raise WeightsError("checkpoint metadata is not a JSON object; re-save the checkpoint.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"sha256"})
        if unknown:
            raise WeightsError(
                f"checkpoint metadata has unknown field(s) {', '.join(unknown)}; "
                "it was written by another version: update the plugin or re-save it."
            )
        missing = sorted({"architecture", "arch_args"} - set(data))
        if missing:
            raise WeightsError(
                f"checkpoint metadata lacks {', '.join(missing)}; re-save the checkpoint."
            )
        version = data.get("format_version", FORMAT_VERSION)
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise WeightsError(
                f"checkpoint format version {version} is newer than {FORMAT_VERSION}; "
                "update the plugin."
            )
        try:
            return cls(**{key: data[key] for key in known if key in data})
        except (ParameterError, TypeError, ValueError) as exc:
            raise WeightsError(f"invalid checkpoint metadata: {exc}") from None


def _float_tuple(name: str, values: Iterable[Any]) -> tuple[float, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ParameterError(f"{name} must be a list of numbers, got {values!r}.")
    values = tuple(values)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ParameterError(f"{name} must be a list of numbers, got {list(values)!r}.")
    return tuple(float(v) for v in values)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(meta: CheckpointMetadata) -> None:
    """Raise ParameterError with a one-line fix for the first invalid field."""
    if not isinstance(meta.architecture, str) or not meta.architecture:
        raise ParameterError("architecture must be a registry name, e.g. 'cloudfcn_lite'.")
    if not meta.bands or not all(isinstance(b, str) and b for b in meta.bands):
        raise ParameterError(f"bands must be non-empty band names, got {meta.bands!r}.")
    for name in ("mean", "std"):
        values = getattr(meta, name)
        if len(values) != len(meta.bands):
            raise ParameterError(
                f"{name} has {len(values)} values for {len(meta.bands)} bands; give one per band."
            )
        if not all(math.isfinite(v) for v in values):
            raise ParameterError(f"{name} must be finite, got {list(values)}.")
    if not all(v > 0 for v in meta.std):
        raise ParameterError(f"std must be > 0 for every band, got {list(meta.std)}.")
    _validate_bands(meta.bands)
    _validate_statistics(meta)
    if isinstance(meta.threshold, bool) or not isinstance(meta.threshold, int | float):
        raise ParameterError(f"threshold must be a number, got {meta.threshold!r}.")
    if not 0.0 <= meta.threshold <= 1.0:
        raise ParameterError(f"threshold must be within [0, 1], got {meta.threshold}.")
    if not 0.0 < meta.threshold < 1.0:
        # 0 calls every pixel cloud and 1 none: no calibration gives either.
        raise ParameterError(
            f"threshold must be strictly inside (0, 1), got {meta.threshold}: no calibrated "
            "model has it; re-save the checkpoint with its calibrated threshold."
        )
    if not _is_int(meta.tile_size) or meta.tile_size < 1:
        raise ParameterError(f"tile_size must be a positive integer, got {meta.tile_size!r}.")
    if meta.tile_size > MAX_TILE_SIZE:
        raise ParameterError(
            f"tile_size {meta.tile_size} exceeds {MAX_TILE_SIZE} pixels; re-save the "
            "checkpoint with a smaller tile_size."
        )
    _validate_shadow_threshold(meta.shadow_threshold)
    _validate_arch_args(meta)
    if not _is_int(meta.overlap) or not 0 <= meta.overlap < meta.tile_size:
        raise ParameterError(f"overlap must be an integer in [0, tile_size), got {meta.overlap!r}.")
    if not _is_int(meta.format_version) or meta.format_version < 1:
        raise ParameterError(
            f"format_version must be a positive integer, not {meta.format_version!r}."
        )
    try:
        json.dumps(meta.to_json_dict(), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"metadata must be plain JSON (no NaN, no objects): {exc}") from None


def _validate_bands(bands: tuple[str, ...]) -> None:
    """Each band a Landsat 8 band a model can read, none twice."""
    numbers = [band_number_from_text(name) for name in bands]
    for name, number in zip(bands, numbers, strict=True):
        if number is None:
            raise ParameterError(
                f"bands {list(bands)}: {name!r} is not a Landsat 8 band; the file names bands "
                f"no input has: use names such as {', '.join(LANDSAT_BAND_NAMES.values())}."
            )
        if number in _UNREADABLE_BANDS:
            raise ParameterError(
                f"bands {list(bands)} name {name} (B{number}), which no model can read (it is "
                "on the 15 m grid, the others on 30 m): the file is not a model of this plugin."
            )
    pairs = zip(bands, numbers, strict=True)
    repeated = sorted({name for name, number in pairs if numbers.count(number) > 1})
    if repeated:
        raise ParameterError(
            f"bands {list(bands)} names {', '.join(repeated)} more than once; a model reads "
            "each band once: re-save the checkpoint with the bands it was trained on."
        )


def _validate_statistics(meta: CheckpointMetadata) -> None:
    """Means and stds a trained model can have: reflectance, or kelvin for thermal bands."""
    for name, mean, std in zip(meta.bands, meta.mean, meta.std, strict=True):
        thermal = band_number_from_text(name) in (THERMAL_BAND, THERMAL_BAND + 1)
        kind = "temperature" if thermal else "reflectance"
        bounds = _STATISTICS[kind]
        low, high = bounds["mean"]
        if not low <= mean <= high:
            unit = " K" if thermal else ""
            raise ParameterError(
                f"mean {mean:g} of {name} is not a {kind} ({low:g} to {high:g}{unit}); "
                "the statistics are wrong: re-save the checkpoint with the training data's."
            )
        if not bounds["min_std"] <= std <= bounds["max_std"]:
            side = "below" if std < bounds["min_std"] else "above"
            limit = bounds["min_std"] if side == "below" else bounds["max_std"]
            raise ParameterError(
                f"std {std:g} of {name} is {side} {limit:g}, which no trained model has; "
                "re-save the checkpoint with the training data's statistics."
            )


def _validate_shadow_threshold(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(f"shadow_threshold must be a number, got {value!r}.")
    if not 0.0 < value < 1.0:
        raise ParameterError(f"shadow_threshold must be within (0, 1), got {value}.")


def _validate_arch_args(meta: CheckpointMetadata) -> None:
    """Bound the architecture arguments a header asks for before any model is built."""
    args = meta.arch_args
    width = args.get("width", 1.0)
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
        raise ParameterError(f"arch_args width must be a finite number, got {width!r}.")
    if not 0 < width <= MAX_WIDTH:
        raise ParameterError(
            f"arch_args width {width} is outside (0, {MAX_WIDTH:g}]; re-save the checkpoint "
            "with the width the model was trained with."
        )
    channels = args.get("in_channels", len(meta.bands))
    if not _is_int(channels) or channels != len(meta.bands) or channels > MAX_IN_CHANNELS:
        raise ParameterError(
            f"arch_args in_channels {channels!r} must equal the {len(meta.bands)} bands "
            f"(at most {MAX_IN_CHANNELS}); re-save the checkpoint."
        )
    outputs = args.get("out_channels", 1)
    if not _is_int(outputs) or outputs != len(meta.classes):
        raise ParameterError(
            f"arch_args out_channels {outputs!r} must equal the {len(meta.classes)} classes "
            f"{list(meta.classes)}; re-save the checkpoint with one channel per class."
        )
    for key, value in args.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and (
            not math.isfinite(value) or abs(value) > 1024
        ):
            raise ParameterError(f"arch_args {key} = {value} is out of bounds; re-save it.")


def _check_model_size(meta: CheckpointMetadata, name: str) -> None:
    """Build the architecture on the meta device and count its parameters.

    The meta device allocates nothing, so a header asking for billions of parameters
    is refused before a byte is spent on it.
    """
    try:
        with torch.device("meta"):
            skeleton = build_model(meta.architecture, **meta.arch_args)
    except (ParameterError, TypeError, ValueError) as exc:
        raise WeightsError(f"{name}: bad arch_args: {exc}") from None
    parameters = sum(p.numel() for p in skeleton.parameters())
    if parameters > MAX_PARAMETERS:
        raise WeightsError(
            f"{name}: {meta.architecture} {meta.arch_args} has {parameters:,} parameters, more "
            f"than the {MAX_PARAMETERS:,} allowed; the header is wrong: re-save or re-train."
        )


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


def _verify_sidecar(path: Path) -> None:
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return
    try:
        record = safe_json.loads(sidecar.read_text(encoding="utf-8"))
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
