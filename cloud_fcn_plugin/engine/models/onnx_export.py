"""Export a checkpoint as an ONNX model that carries the metadata contract.

The result runs in this plugin as ``--model FILE.onnx`` and in any ONNX tool; its
``metadata_props`` (see :mod:`.onnx_model`) say its bands, normalisation, output
and threshold. Needs the ``onnx`` package (to write the metadata) besides torch.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from ..errors import DependencyMissingError, OutputNotWritableError
from ..files.atomic import discard_temporary, new_temporary, rename_temporary
from ..outputs.checks import check_output_path
from .checkpoints import load_checkpoint
from .onnx_model import ONNX_SUFFIX, metadata_props

#: The ONNX operator set written: ONNX Runtime 1.10 and later read it.
OPSET = 17


class _Logits(torch.nn.Module):
    """The registry model's logits without its Python-side input checks.

    Those checks compare shapes in Python, which the tracing exporter would freeze
    to the example's size; the engine checks the shapes itself.
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.logits(x)


def export_onnx(
    checkpoint: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    opset: int = OPSET,
    extra_props: Mapping[str, str] | None = None,
) -> Path:
    """Write ``checkpoint`` as an ONNX model with dynamic batch, height and width.

    Args:
        checkpoint: a ``.safetensors`` checkpoint (e.g. a bundled one).
        output: the ``.onnx`` file to write; written atomically.
        overwrite: replace an existing ``output``.
        opset: the ONNX operator set version.
        extra_props: more ``metadata_props`` (keys outside the ``cloud_fcn.`` contract).

    Returns:
        The absolute path written.

    Raises:
        WeightsError: the checkpoint is missing, corrupt or unsafe.
        DependencyMissingError: the ``onnx`` package is missing.
        OutputExistsError, OutputNotWritableError: the output cannot be written.
    """
    try:
        import onnx
    except ImportError:
        raise DependencyMissingError(
            "Exporting needs the onnx package: pip install onnx (running the model only "
            "needs onnxruntime)."
        ) from None
    path = check_output_path(output, overwrite, protected=[checkpoint], suffixes=(ONNX_SUFFIX,))
    model, metadata = load_checkpoint(checkpoint)
    multiple = int(getattr(model, "size_multiple", 1))
    example = torch.zeros(1, len(metadata.bands), 2 * multiple, 2 * multiple)
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        # The legacy (TorchScript) exporter warns that it is legacy; it needs no extra package.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Logits(model).eval(), (example,), buffer, dynamo=False, opset_version=opset,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": axes, "logits": axes},
        )  # fmt: skip
    proto = onnx.load_from_string(buffer.getvalue())
    description = f"{metadata.architecture} {metadata.arch_args} from {Path(checkpoint).name}"
    props = metadata_props(metadata, size_multiple=multiple, description=description)
    props.update(extra_props or {})
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "cloud_fcn_plugin"
    proto.doc_string = "Cloud logits (N, 1, H, W) of normalised Landsat reflectance."
    onnx.checker.check_model(proto)
    temp = new_temporary(path)
    try:
        temp.write_bytes(proto.SerializeToString())
        rename_temporary(temp, path, overwrite)
    except OSError as exc:
        raise OutputNotWritableError(
            f"Cannot write {path}: {exc.strerror or exc}; free disk space or choose another "
            "folder."
        ) from None
    finally:
        discard_temporary(temp)  # nothing once renamed; a partial file otherwise
    return path
