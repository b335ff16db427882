"""ONNX Runtime as the CPU back end of checkpoints that ship an ONNX twin.

A bundled checkpoint ``resources/weights/cloudfcn_<name>.safetensors`` ships its
export ``cloudfcn_<name>.onnx`` beside it (written by ``scripts/bundle_weights.py``;
about 2 MB each). On the CPU the twin runs in ONNX Runtime instead of torch: the
same network, about 1.3-2 times faster per tile on one thread (ONNX Runtime fuses
each convolution with its batch norm and ReLU). The twin names the tensors it was
exported from (``source_sha256``, the checkpoint's tensor checksum): a twin that
does not match its checkpoint is never used. The torch model stays the reference
and runs wherever the twin cannot: no twin, no ``onnxruntime``, or a GPU.

On a CPU with AMX tiles, torch in bfloat16 (see :mod:`.bfloat16`) is faster still and
runs instead of the twin.

``CLOUD_FCN_CPU_BACKEND`` chooses: ``auto`` (the default: bfloat16 where the CPU has AMX,
else the twin where it can run), ``torch`` (float32), ``onnxruntime`` (the twin or an
error) or ``bfloat16``, e.g. to compare them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..errors import DependencyMissingError, ParameterError, WeightsError
from .bfloat16 import Bfloat16Model, amx_bfloat16_available
from .checkpoint_metadata import CheckpointMetadata
from .checkpoints import tensors_checksum
from .onnx_model import ONNX_SUFFIX, load_onnx_model

BACKEND_VARIABLE = "CLOUD_FCN_CPU_BACKEND"
BACKENDS = ("auto", "torch", "onnxruntime", "bfloat16")
#: The ONNX metadata key naming the checkpoint tensors a twin was exported from.
SOURCE_KEY = "source_sha256"

Log = Callable[[str], None]


def chosen_backend() -> str:
    """The CPU back end ``CLOUD_FCN_CPU_BACKEND`` asks for (``auto`` when unset).

    Raises:
        ParameterError: the variable holds something else.
    """
    value = os.environ.get(BACKEND_VARIABLE, "auto").strip().lower() or "auto"
    if value not in BACKENDS:
        raise ParameterError(
            f"{BACKEND_VARIABLE}={value!r} is not a CPU back end: use auto, torch, onnxruntime "
            "or bfloat16."
        )
    return value


def twin_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint's ONNX twin lies: beside it, with the ``.onnx`` suffix."""
    return Path(checkpoint).with_suffix(ONNX_SUFFIX)


def write_twin(checkpoint: str | Path) -> Path:
    """Export ``checkpoint`` as its ONNX twin, replacing it (needs the ``onnx`` package)."""
    from .onnx_export import export_onnx

    return export_onnx(
        checkpoint, twin_path(checkpoint), overwrite=True,
        extra_props={SOURCE_KEY: tensors_checksum(checkpoint)},
    )  # fmt: skip


def cpu_model(
    checkpoint: str | Path,
    model: Any,
    metadata: CheckpointMetadata,
    log: Log | None = None,
) -> Any:
    """The model to run on the CPU: bfloat16 on AMX, else the ONNX twin where it can run.

    Args:
        checkpoint: the ``.safetensors`` file ``model`` was loaded from.
        model: the loaded torch model (returned when the twin is not used).
        metadata: its metadata; the twin must read the same bands.
        log: receives a note when a twin is there but cannot be used.

    Raises:
        WeightsError, DependencyMissingError: ``CLOUD_FCN_CPU_BACKEND=onnxruntime`` and
            the twin is missing, stale or cannot run.
    """
    backend = chosen_backend()
    if backend == "torch":
        return model
    if backend == "bfloat16" or (backend == "auto" and amx_bfloat16_available()):
        return Bfloat16Model(model)
    twin = twin_path(checkpoint)
    forced = backend == "onnxruntime"
    if not twin.is_file():
        if forced:
            raise WeightsError(
                f"{BACKEND_VARIABLE}=onnxruntime but {Path(checkpoint).name} has no ONNX twin "
                f"({twin.name}): unset the variable to run torch."
            )
        return model
    try:
        onnx_model, onnx_metadata = load_onnx_model(twin)
    except DependencyMissingError:
        if forced:
            raise
        return model  # no onnxruntime: torch, silently (it is the usual case in QGIS)
    except WeightsError as exc:
        if forced:
            raise
        (log or (lambda message: None))(f"{twin.name} not used ({exc}); running torch.")
        return model
    props = onnx_model.session.get_modelmeta().custom_metadata_map or {}
    stale = props.get(SOURCE_KEY) != tensors_checksum(checkpoint)
    if stale or onnx_metadata.bands != metadata.bands:
        problem = f"{twin.name} was not exported from {Path(checkpoint).name}"
    elif not _agrees(model, onnx_model, len(metadata.bands)):
        problem = f"{twin.name} does not compute what {Path(checkpoint).name} computes"
    else:
        return onnx_model
    if forced:
        raise WeightsError(problem + ": export it again with scripts/bundle_weights.py.")
    (log or (lambda message: None))(problem + "; running torch.")
    return model


def _agrees(model: Any, twin: Any, channels: int) -> bool:
    """Whether the twin gives the torch model's logits on a small fixed tile.

    The checksum says which tensors the twin was exported from, not that its bytes
    are still those: a damaged twin that still parses would give other masks.
    """
    side = 2 * max(int(getattr(model, "size_multiple", 1)), 16)
    generator = torch.Generator().manual_seed(0)
    tile = torch.randn(1, channels, side, side, generator=generator)
    with torch.inference_mode():
        expected = model.logits(tile)
    try:
        got = twin(tile)
    except WeightsError:
        return False
    return got.shape == expected.shape and bool(torch.allclose(got, expected, atol=1e-3))
