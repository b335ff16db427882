"""Bring your own model: an ONNX segmentation model behind the torch model's interface.

An ``.onnx`` file runs through the same tiling, blending, thresholding and outputs
as the bundled networks: :class:`OnnxModel` is called by the
:class:`~.predict.Predictor` on a batch of normalised tiles exactly like a torch
model, and its ``metadata_props`` become the engine's
:class:`~.weights.CheckpointMetadata`, so every check a checkpoint gets applies.

The metadata contract (string values; lists and numbers as JSON):

=========================  ========  =================================================
key                        required  meaning
=========================  ========  =================================================
``cloud_fcn.bands``        yes       input channels in order, Landsat band names or
                                     codes: ``["B4", "B3", "B2", "B5"]`` or
                                     ``["red", "green", "blue", "nir"]``
``cloud_fcn.mean``         yes       per band, applied to reflectance (brightness
``cloud_fcn.std``          yes       temperature in kelvin for B10): ``(x - mean) / std``
``cloud_fcn.classes``      yes       output channels: ``["cloud"]``, or several among
                                     clear, thick_cloud, thin_cloud, cloud_shadow
                                     (clear and a cloud channel included), as the
                                     engine's classes (:mod:`.classes`)
``cloud_fcn.output``       yes       ``logits`` (sigmoid for one channel, softmax over
                                     several) or ``probabilities``
``cloud_fcn.threshold``    no        default threshold on the cloud probability (0.5)
``cloud_fcn.shadow_threshold`` no    default threshold on the shadow probability (0.5)
``cloud_fcn.tile_size``    no        tile edge in pixels (the fixed input size, or 384)
``cloud_fcn.overlap``      no        tile overlap in pixels (32, at most a quarter tile)
``cloud_fcn.size_multiple`` no       input height and width must be multiples of it (1)
``cloud_fcn.description``  no        free text
``cloud_fcn.version``      no        version of this contract (1)
=========================  ========  =================================================

With several output channels the mask holds thick cloud, thin cloud and shadow as
for the bundled multi-class models (see :mod:`.classes`).

``onnxruntime`` is optional: it is imported only when an ``.onnx`` file is used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import CloudFcnError, ParameterError, WeightsError
from ..files import safe_json
from ..params import MAX_TILE_SIZE, MIN_TILE_SIZE
from ..scene.bands import band_names, band_number_from_text, band_numbers
from .checkpoint_metadata import MAX_IN_CHANNELS, CheckpointMetadata
from .onnx_guard import PROBE_SECONDS, bounded_options, run_guarded, run_seconds
from .onnx_runtime import import_onnxruntime

ONNX_SUFFIX = ".onnx"
ARCHITECTURE = "onnx"
PREFIX = "cloud_fcn."
CONTRACT_VERSION = 1
REQUIRED_KEYS = ("bands", "mean", "std", "classes", "output")
OPTIONAL_KEYS = (
    "threshold", "shadow_threshold", "tile_size", "overlap", "size_multiple", "description",
    "version",
)
OUTPUT_KINDS = ("logits", "probabilities")
DEFAULT_TILE_SIZE = 384
DEFAULT_OVERLAP = 32
# The size of the trial run at load time: enough for a few poolings, cheap for any model.
_PROBE_SIZE = 64


def is_onnx(path: str | Path | None) -> bool:
    """Whether a model file is an ONNX model (by its extension)."""
    return path is not None and Path(path).suffix.lower() == ONNX_SUFFIX




# --- metadata ----------------------------------------------------------------------


def metadata_props(
    metadata: CheckpointMetadata,
    output: str = "logits",
    size_multiple: int = 1,
    description: str = "",
) -> dict[str, str]:
    """Return the ``metadata_props`` that describe a model with this metadata.

    Bands are written as Landsat codes (``B4``), the form most tools understand.
    """
    props = {
        "bands": [f"B{n}" for n in band_numbers(metadata.bands)],
        "mean": list(metadata.mean),
        "std": list(metadata.std),
        "classes": list(metadata.classes),
        "output": output,
        "threshold": metadata.threshold,
        "shadow_threshold": metadata.shadow_threshold,
        "tile_size": metadata.tile_size,
        "overlap": metadata.overlap,
        "size_multiple": size_multiple,
        "version": CONTRACT_VERSION,
    }
    text = {PREFIX + key: json.dumps(value) for key, value in props.items()}
    text[PREFIX + "output"] = output
    if description:
        text[PREFIX + "description"] = description
    return text


@dataclass(frozen=True)
class OnnxInterface:
    """What the engine needs to know about an ONNX model's input and output.

    Attributes:
        classes: output channel names.
        output: ``logits`` or ``probabilities``.
        size_multiple: input height and width must be multiples of it.
    """

    classes: tuple[str, ...]
    output: str
    size_multiple: int


def metadata_from_props(
    props: Mapping[str, str], name: str, fixed_size: int | None = None
) -> tuple[CheckpointMetadata, OnnxInterface]:
    """Turn an ONNX model's ``metadata_props`` into checked engine metadata.

    Args:
        props: the model's metadata (key -> string).
        name: the file name, for messages.
        fixed_size: the smaller of the input's fixed height and width, if any.

    Raises:
        WeightsError: a key is missing, unknown, unreadable or unsafe.
    """
    ours = {key[len(PREFIX):]: value for key, value in props.items() if key.startswith(PREFIX)}
    missing = [PREFIX + key for key in REQUIRED_KEYS if key not in ours]
    if missing:
        raise WeightsError(
            f"{name} lacks the metadata {', '.join(missing)}: add it to the model's "
            "metadata_props (see the README, Bring your own model) or export it with "
            "scripts/export_onnx.py."
        )
    unknown = sorted(set(ours) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise WeightsError(
            f"{name} has unknown metadata {', '.join(PREFIX + k for k in unknown)}: check the "
            "spelling against the README (Bring your own model)."
        )
    values = {key: _json_value(name, key, text) for key, text in ours.items()}
    version = values.get("version", CONTRACT_VERSION)
    if not _is_int(version) or not 1 <= version <= CONTRACT_VERSION:
        raise WeightsError(
            f"{name}: {PREFIX}version {version!r} is not one this plugin reads "
            f"(1 to {CONTRACT_VERSION}): update the plugin."
        )
    bands = _bands(name, values["bands"])
    interface = _interface(name, values)
    tile_size = values.get("tile_size", fixed_size or DEFAULT_TILE_SIZE)
    overlap = values.get(
        "overlap", min(DEFAULT_OVERLAP, tile_size // 4) if _is_int(tile_size) else 0
    )
    if fixed_size is not None and _is_int(tile_size) and tile_size > fixed_size:
        raise WeightsError(
            f"{name}: {PREFIX}tile_size {tile_size} is larger than the model's fixed input "
            f"of {fixed_size} pixels: set it to {fixed_size} or less."
        )
    try:
        metadata = CheckpointMetadata(
            architecture=ARCHITECTURE,
            arch_args={"in_channels": len(bands), "out_channels": len(interface.classes),
                       "output": interface.output, "size_multiple": interface.size_multiple},
            bands=bands,
            classes=interface.classes,
            mean=values["mean"],
            std=values["std"],
            threshold=values.get("threshold", 0.5),
            shadow_threshold=values.get("shadow_threshold", 0.5),
            tile_size=tile_size,
            overlap=overlap,
            provenance={"onnx": name, "description": str(values.get("description", ""))},
        )
    except (ParameterError, TypeError, ValueError) as exc:
        raise WeightsError(f"{name}: invalid {PREFIX}* metadata: {exc}") from None
    return metadata, interface


def _json_value(name: str, key: str, text: str) -> Any:
    if key in ("output", "description"):
        # Plain text; a JSON string ("logits" with its quotes), as some tools write, too.
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
    try:
        # Python's json reads NaN and Infinity; the contract does not.
        return safe_json.loads(text, parse_constant=_refuse_constant)
    except ValueError:
        raise WeightsError(
            f"{name}: {PREFIX}{key} is not valid JSON ({text[:40]!r}): write it as a JSON "
            "number or list, e.g. [0.1, 0.2]."
        ) from None


def _refuse_constant(constant: str) -> Any:
    raise ValueError(f"{constant} is not a finite number")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bands(name: str, value: Any) -> tuple[str, ...]:
    """The engine's band names of the ``bands`` key, refusing unknown and repeated bands."""
    if not isinstance(value, list) or not value or not all(isinstance(b, str) for b in value):
        raise WeightsError(
            f'{name}: {PREFIX}bands must be a JSON list of band names, e.g. ["B4", "B3", "B2", '
            '"B5"].'
        )
    if len(value) > MAX_IN_CHANNELS:
        raise WeightsError(
            f"{name}: {PREFIX}bands lists {len(value)} bands, more than the "
            f"{MAX_IN_CHANNELS} allowed."
        )
    numbers = [band_number_from_text(band) for band in value]
    unknown = [band for band, number in zip(value, numbers, strict=True) if number is None]
    if unknown:
        raise WeightsError(
            f"{name}: {PREFIX}bands names {', '.join(map(repr, unknown))}, not a Landsat 8/9 "
            "band: use codes B1-B11 or names such as red, nir, swir1."
        )
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise WeightsError(
            f"{name}: {PREFIX}bands names band {', '.join(f'B{n}' for n in repeated)} twice: "
            "list each input band once."
        )
    return band_names(numbers)  # type: ignore[arg-type]


def _interface(name: str, values: Mapping[str, Any]) -> OnnxInterface:
    """The output channels, their kind and the size multiple, checked."""
    classes = values["classes"]
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(c, str) and c.strip() for c in classes)
    ):
        raise WeightsError(
            f'{name}: {PREFIX}classes must be a JSON list of channel names, e.g. ["cloud"].'
        )
    output = values["output"]
    if output not in OUTPUT_KINDS:
        raise WeightsError(
            f"{name}: {PREFIX}output is {output!r}: say logits or probabilities."
        )
    multiple = values.get("size_multiple", 1)
    if not _is_int(multiple) or not 1 <= multiple <= 256:
        raise WeightsError(
            f"{name}: {PREFIX}size_multiple {multiple!r} must be an integer from 1 to 256."
        )
    return OnnxInterface(tuple(classes), output, multiple)


# --- the session -------------------------------------------------------------------


def _open_session(path: Path, providers: list[str] | None = None) -> Any:
    """Open an ONNX Runtime session on one thread per call (the Predictor runs several)."""
    ort = import_onnxruntime(path.name)
    if not path.is_file():
        raise WeightsError(f"model not found: {path}; check the path.")
    options = ort.SessionOptions()
    # The Predictor runs one tile per CPU core in parallel threads, as with torch.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    bounded_options(options)  # no arena, silent log (see .onnx_guard)
    try:
        return ort.InferenceSession(
            str(path), options, providers=providers or ["CPUExecutionProvider"]
        )
    except Exception as exc:  # ONNX Runtime's errors derive from Exception only
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise WeightsError(
            f"{path.name} is not a valid ONNX model ({reason}): export it again or choose "
            "another file."
        ) from None


def _static(dim: Any) -> int | None:
    """A fixed dimension's size; None for a named or unknown (dynamic) one."""
    return dim if _is_int(dim) else None


def _check_graph(session: Any, name: str) -> tuple:
    """Check one 4-D float input of sane fixed sizes and a 4-D output.

    Returns:
        The input's fixed (batch, height, width) sizes, None where dynamic.
    """
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise WeightsError(
            f"{name} has {len(inputs)} inputs: a segmentation model takes one (N, C, H, W) "
            "image."
        )
    shape, kind = inputs[0].shape, inputs[0].type
    if kind != "tensor(float)" or len(shape) != 4:
        raise WeightsError(
            f"{name}'s input is {kind} of shape {shape}: it must be float32 (N, C, H, W)."
        )
    batch, _channels, height, width = (_static(d) for d in shape)
    for size in (height, width):
        if size is not None and not MIN_TILE_SIZE <= size <= MAX_TILE_SIZE:
            raise WeightsError(
                f"{name} takes a fixed input of {height}x{width} pixels: the engine runs tiles "
                f"of {MIN_TILE_SIZE} to {MAX_TILE_SIZE} pixels."
            )
    if batch is not None and batch > 256:
        raise WeightsError(f"{name} takes a fixed batch of {batch} images: export it with 1.")
    if len(outputs[0].shape) != 4:
        raise WeightsError(
            f"{name}'s output has shape {outputs[0].shape}: it must be (N, classes, H, W)."
        )
    return batch, height, width


def _check_channels(session: Any, name: str, channels: int, classes: int) -> None:
    """Check the fixed input and output channel counts against the metadata."""
    in_channels = _static(session.get_inputs()[0].shape[1])
    if in_channels is not None and in_channels != channels:
        raise WeightsError(
            f"{name} takes {in_channels} input channels but its {PREFIX}bands lists "
            f"{channels}: fix the metadata."
        )
    out_channels = _static(session.get_outputs()[0].shape[1])
    if out_channels is not None and out_channels != classes:
        raise WeightsError(
            f"{name} outputs {out_channels} channels but its {PREFIX}classes names {classes}: "
            "fix the metadata."
        )


def _fixed_size(height: int | None, width: int | None) -> int | None:
    sizes = [s for s in (height, width) if s is not None]
    return min(sizes) if sizes else None


def read_onnx_metadata(path: str | Path) -> CheckpointMetadata:
    """Return an ONNX model's metadata, checked against its input and output shapes.

    Raises:
        DependencyMissingError: onnxruntime is not installed.
        WeightsError: not ONNX, metadata missing or unsafe, or shapes that disagree.
    """
    return load_onnx_model(path, probe=False)[1]


def load_onnx_model(
    path: str | Path, probe: bool = True
) -> tuple[OnnxModel, CheckpointMetadata]:
    """Open an ONNX model, check its metadata and shapes, and (``probe``) run it once.

    The trial run on a small blank tile checks what the declared shapes cannot: the
    output channels and that the output has the input's height and width.

    Raises:
        DependencyMissingError: onnxruntime is not installed.
        WeightsError: not ONNX, metadata missing or unsafe, or shapes that disagree.
    """
    path = Path(path).expanduser()
    session = _open_session(path)
    shape = _check_graph(session, path.name)
    props = dict(session.get_modelmeta().custom_metadata_map or {})
    metadata, interface = metadata_from_props(props, path.name, _fixed_size(*shape[1:]))
    _check_channels(session, path.name, len(metadata.bands), len(interface.classes))
    model = OnnxModel(path, session, interface, shape)
    if probe:
        model.probe(len(metadata.bands), metadata.tile_size)
    return model, metadata


class OnnxModel:
    """An ONNX Runtime session that the Predictor calls like a torch model.

    ``model(batch)`` takes normalised tiles (N, C, H, W) as a torch tensor and
    returns the raw output (N, classes, H, W), logits unless
    :attr:`outputs_probabilities`. A fixed input size is met by padding the
    tiles with their edge pixels and cropping the output; a fixed batch size by
    running the tiles in groups of it.
    """

    def __init__(self, path: Path, session: Any, interface: OnnxInterface, shape: tuple) -> None:
        self.path = path
        self.session = session
        self.interface = interface
        self.fixed_batch, self.fixed_height, self.fixed_width = shape
        self.size_multiple = interface.size_multiple
        self.execution_device = torch.device("cpu")
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name

    def to(self, device: torch.device | str) -> OnnxModel:
        """Run on ``device`` where ONNX Runtime can (CUDA with onnxruntime-gpu), else the CPU."""
        ort = import_onnxruntime(self.path.name)
        wanted = torch.device(device)
        if wanted.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
            self.session = _open_session(self.path, providers)
            self.execution_device = wanted
        return self

    def eval(self) -> OnnxModel:
        """Nothing to switch: an ONNX graph is always in inference mode."""
        return self

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Return the model's raw output (N, classes, H, W) for tiles (N, C, H, W)."""
        tiles = batch.detach().float().cpu().numpy()
        group = self.fixed_batch or len(tiles)
        parts = [self._run(tiles[i : i + group]) for i in range(0, len(tiles), group)]
        return torch.from_numpy(np.concatenate(parts) if len(parts) > 1 else parts[0])

    @property
    def outputs_probabilities(self) -> bool:
        """Whether the output is probabilities already (else logits, as torch models give)."""
        return self.interface.output == "probabilities"

    def probe(self, channels: int, tile_size: int) -> None:
        """Run once on a blank tile; refuse an output that disagrees with the metadata."""
        size = self.fixed_height or min(tile_size, _PROBE_SIZE)
        size = -(-size // self.size_multiple) * self.size_multiple
        width = self.fixed_width or size
        started = time.perf_counter()
        output = self(torch.zeros(1, channels, size, width))
        self._pace = (time.perf_counter() - started) / (size * width)
        expected = (1, len(self.interface.classes), size, width)
        if tuple(output.shape) != expected:
            raise WeightsError(
                f"{self.path.name} returned shape {tuple(output.shape)} for an input of "
                f"{(1, channels, size, width)}, not {expected}: its {PREFIX}classes or "
                f"{PREFIX}size_multiple is wrong, or it does not keep the image size."
            )
        if not np.isfinite(output.numpy()).all():
            raise WeightsError(
                f"{self.path.name} returns NaN or infinity on a blank tile: the model is broken."
            )

    def _run_seconds(self, tiles: np.ndarray) -> float:
        """The time limit of one run: the probe's own, then from the probe's pace."""
        pace = getattr(self, "_pace", None)
        if pace is None:
            return PROBE_SECONDS
        return run_seconds(pace, int(np.prod(tiles.shape[:1] + tiles.shape[2:])))

    def _run(self, tiles: np.ndarray) -> np.ndarray:
        count, _channels, height, width = tiles.shape
        target_h, target_w = self.fixed_height or height, self.fixed_width or width
        if height > target_h or width > target_w:
            raise ParameterError(
                f"{self.path.name} takes tiles of {target_h}x{target_w} pixels at most: set the "
                f"tile size to {min(target_h, target_w)} or leave it to the model."
            )
        pad_n = (self.fixed_batch or count) - count
        if pad_n or (target_h, target_w) != (height, width):
            pads = ((0, pad_n), (0, 0), (0, target_h - height), (0, target_w - width))
            tiles = np.pad(tiles, pads, mode="edge")
        try:
            # A time limit, signals and cancel reach it (see .onnx_guard).
            output = run_guarded(
                self.session, [self._output], {self._input: tiles}, name=self.path.name,
                seconds=self._run_seconds(tiles),
            )[0]  # fmt: skip
        except CloudFcnError:  # stopped by the guard: its own line
            raise
        except Exception as exc:  # ONNX Runtime's errors derive from Exception only
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise WeightsError(
                f"{self.path.name} failed on a tile of {height}x{width} pixels ({reason}): "
                f"check its {PREFIX}size_multiple and {PREFIX}tile_size."
            ) from None
        output = np.asarray(output, dtype=np.float32)
        if output.ndim != 4 or output.shape[0] != count + pad_n or output.shape[2:] != (
            target_h, target_w
        ):
            raise WeightsError(
                f"{self.path.name} returned shape {output.shape} for tiles of "
                f"{tiles.shape}: it must keep the batch, height and width."
            )
        return output[:count, :, :height, :width]
