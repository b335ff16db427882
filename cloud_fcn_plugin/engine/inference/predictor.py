"""Batched prediction on one device: device choice, mixed precision, OOM fallback.

On the CPU the tiles are spread over a small pool of threads, each running one
tile per forward pass with a single torch thread, instead of one forward pass of a
whole batch on all cores. Measured on a 2-core EPYC with CloudFCN-Lite: a 384 px
tile alone runs about 1.5 times faster per core than in a batch of 4 (its
activations stay in the L2 cache), and independent threads never wait at
OpenMP's per-layer barriers, which stall badly whenever another process wants the
CPU (2-5 times slower on a shared machine).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..classes import ChannelLayout
from ..errors import DeviceError, OutOfMemoryError, WeightsError
from ..files.resources import default_weights_path
from ..models.checkpoint_metadata import CheckpointMetadata
from ..models.checkpoints import load_checkpoint
from ..models.onnx_backend import cpu_model
from ..models.onnx_model import is_onnx, load_onnx_model
from ..models.union import CloudUnion, union_metadata
from ..timing import stage
from .answers import check_layers, check_output
from .tiling import ALL_SIDES, Sides

Log = Callable[[str], None]
Prepare = Callable[[], np.ndarray]

# Pixels of mirrored context beyond the raster's edges; see ``_mirror_margin``.
EDGE_MARGIN = 16


def select_device(name: str = "auto") -> torch.device:
    """Return the compute device: ``auto`` picks CUDA, then Apple MPS, then the CPU.

    Raises:
        DeviceError: an explicitly requested device is not available here.
    """
    mps = getattr(torch.backends, "mps", None)
    mps_ok = mps is not None and mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceError(
            "CUDA was requested but PyTorch sees no CUDA GPU here: use device 'auto' or 'cpu'."
        )
    if name == "mps" and not mps_ok:
        raise DeviceError("Apple MPS was requested but is not available: use 'auto' or 'cpu'.")
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"Unknown device {name!r}: choose auto, cpu, cuda or mps.")
    return torch.device(name)


class Predictor:
    """A model on a device that turns normalised tiles into probability layers.

    The layers are those of ``layout.layers`` (see :class:`~.classes.ChannelLayout`):
    the cloud probability, then the thin-cloud and shadow probabilities where the
    model has those classes. A cloud-only model gives one layer.

    Args:
        model: a registry model returning logits (N, len(metadata.classes), H, W), or
            anything called like one on a torch batch: an :class:`~.onnx_model.OnnxModel`
            says with ``outputs_probabilities`` whether its output is already
            probabilities, and with ``execution_device`` where it really runs.
        metadata: the checkpoint metadata (normalisation, threshold, tile size).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: tiles per forward pass on a GPU, lowered automatically on
            out-of-memory; on the CPU, tiles handed over per call.
        log: receives warnings (e.g. the fallback to the CPU).
        cpu_workers: CPU threads running single tiles in parallel; ``None`` takes
            ``torch.get_num_threads()`` (the cores torch would use).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        metadata: CheckpointMetadata,
        device: str = "auto",
        batch_size: int = 4,
        log: Log | None = None,
        cpu_workers: int | None = None,
    ) -> None:
        self.metadata = metadata
        self.layout = ChannelLayout(metadata.classes)
        self.batch_size = batch_size
        self.device = select_device(device)
        self._log = log or (lambda message: None)
        self.model = model.to(self.device).eval()
        self.device = getattr(self.model, "execution_device", self.device)
        self._to_layers = (
            layers_from_probabilities
            if getattr(self.model, "outputs_probabilities", False)
            else probability_layers
        )
        self.size_multiple = int(getattr(model, "size_multiple", 1))
        self.cpu_workers = max(1, cpu_workers or torch.get_num_threads())
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._computed_lock = threading.Lock()
        self.pixels_computed = 0

    @property
    def mixed_precision(self) -> bool:
        """Half precision is used on CUDA only, where it is fast and accurate enough."""
        return self.device.type == "cuda"

    @property
    def tiles_per_task(self) -> int:
        """Tiles worth handing to :meth:`submit_tiles` at once: 1 on the CPU pool."""
        return 1 if self._uses_pool() else self.batch_size

    @property
    def tasks_in_flight(self) -> int:
        """How many submitted tasks keep every worker busy, with one queued behind each."""
        return 2 * self.cpu_workers if self._uses_pool() else 1

    def _uses_pool(self) -> bool:
        return self.device.type == "cpu" and self.cpu_workers > 1

    def _cpu_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = _single_thread_pool(self.cpu_workers)
                # Idle threads end with the predictor, not with the interpreter.
                weakref.finalize(self, self._pool.shutdown, wait=False)
            return self._pool

    def submit(self, prepare: Prepare, edges: Sides = ALL_SIDES) -> Future:
        """Start predicting the tiles (N, C, H, W) that ``prepare()`` returns.

        On the CPU pool the call returns at once and ``prepare`` and the forward
        passes run on a worker thread, so turning raw pixels into network input
        happens in parallel too; elsewhere the tiles are predicted before returning.
        The future holds :meth:`predict_tiles`'s result.
        """
        if self._uses_pool():
            return self._cpu_pool().submit(self._prepare_and_predict, prepare, edges)
        future: Future = Future()
        try:
            future.set_result(self._prepare_and_predict(prepare, edges))
        except Exception as error:  # handed to whoever waits, as the pool would
            future.set_exception(error)
        return future

    def submit_tiles(self, tiles: np.ndarray, edges: Sides = ALL_SIDES) -> Future:
        """Start predicting ready tiles (N, C, H, W); see :meth:`submit`."""
        return self.submit(lambda: tiles, edges)

    def predict_tiles(self, tiles: np.ndarray, edges: Sides = ALL_SIDES) -> np.ndarray:
        """Return probability layers (N, L, H, W) float32 for normalised tiles (N, C, H, W).

        The sides of the tiles flagged in ``edges`` (top, bottom, left, right: the
        raster's own edges) get a mirrored margin, and the tiles are padded to the
        model's ``size_multiple`` before the forward pass and cropped back after it.
        """
        if not self._uses_pool() or len(tiles) == 1:
            return self._predict_sequential(tiles, edges)
        futures = [self.submit_tiles(tiles[i : i + 1], edges) for i in range(len(tiles))]
        return np.concatenate([future.result() for future in futures])

    def _prepare_and_predict(self, prepare: Prepare, edges: Sides) -> np.ndarray:
        return self._predict_sequential(prepare(), edges)

    def _predict_sequential(self, tiles: np.ndarray, edges: Sides) -> np.ndarray:
        """Predict on the calling thread in forward passes of at most ``batch_size``."""
        outputs = []
        start = 0
        while start < len(tiles):
            chunk = tiles[start : start + self.batch_size]
            probabilities = self._forward_with_fallback(chunk, edges)
            outputs.append(probabilities)
            start += len(chunk)
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def _forward_with_fallback(self, chunk: np.ndarray, edges: Sides) -> np.ndarray:
        while True:
            try:
                return self._forward(chunk, edges)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                if self.batch_size > 1 and len(chunk) > 1:
                    self.batch_size = max(1, self.batch_size // 2)
                    self._log(f"GPU out of memory: retrying with batch size {self.batch_size}.")
                    parts = _split(chunk, self.batch_size)
                    return np.concatenate(
                        [self._forward_with_fallback(part, edges) for part in parts]
                    )
                self._log("GPU out of memory even with batch size 1: continuing on the CPU.")
                self.device = torch.device("cpu")
                self.model = self.model.to(self.device)
            except (RuntimeError, MemoryError) as exc:
                if isinstance(exc, RuntimeError) and "allocate memory" not in str(exc):
                    raise
                # torch's CPU allocator says "DefaultCPUAllocator: can't allocate memory".
                height, width = chunk.shape[-2:]
                raise OutOfMemoryError(
                    f"Out of memory predicting {len(chunk)} tile(s) of {height}x{width} px on "
                    f"the {self.device.type.upper()}: choose a smaller --tile-size or "
                    "--batch-size, or close other programs."
                ) from None

    @torch.inference_mode()
    def _forward(self, chunk: np.ndarray, edges: Sides) -> np.ndarray:
        batch = torch.from_numpy(np.ascontiguousarray(chunk, dtype=np.float32))
        batch = batch.to(self.device, non_blocking=True)
        height, width = batch.shape[-2:]
        with stage("tiling"):
            batch, top, left = _mirror_margin(batch, self.size_multiple, edges)
        with self._computed_lock:
            self.pixels_computed += batch.shape[0] * batch.shape[-2] * batch.shape[-1]
        with (
            stage("network"),
            torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.mixed_precision),
        ):
            output = self.model(batch)
        with stage("probability layers"):
            output = output.float()[:, :, top : top + height, left : left + width]
            # Every batch's answer is checked where it is used (see .answers).
            name = self._model_name
            check_output(output, len(self.layout.classes), name, self._declares_probabilities)
            return check_layers(self._to_layers(output, self.layout), name).cpu().numpy()

    @property
    def _model_name(self) -> str:
        path = getattr(self.model, "path", None)
        return Path(path).name if path is not None else "The model"

    @property
    def _declares_probabilities(self) -> bool:
        return bool(getattr(self.model, "outputs_probabilities", False))


def probability_layers(logits: torch.Tensor, layout: ChannelLayout) -> torch.Tensor:
    """Turn logits (N, K, H, W) into the layers (N, L, H, W) of ``layout.layers``.

    One channel: its sigmoid. Several: softmax over the channels, then p_cloud (the
    cloud channel, or thick + thin), p_thin and p_shadow where the model has them.
    """
    if not layout.softmax:
        return torch.sigmoid(logits)
    return layers_from_probabilities(torch.softmax(logits, dim=1), layout)


def layers_from_probabilities(probabilities: torch.Tensor, layout: ChannelLayout) -> torch.Tensor:
    """The layers (N, L, H, W) of ``layout.layers`` from per-channel probabilities (N, K, H, W).

    A model that outputs probabilities (an ONNX model may) goes here directly.
    """
    if not layout.softmax:
        return probabilities.clamp(0.0, 1.0)
    if probabilities.shape[1] != len(layout.classes):
        raise WeightsError(
            f"the model gives {probabilities.shape[1]} channels for the "
            f"{len(layout.classes)} classes {list(layout.classes)} of its checkpoint; "
            "re-save the checkpoint."
        )

    def channel(name: str) -> torch.Tensor:
        return probabilities[:, layout.classes.index(name)]

    clouds = [name for name in ("cloud", "thick_cloud", "thin_cloud") if name in layout.classes]
    cloud = channel(clouds[0])
    for name in clouds[1:]:
        cloud = cloud + channel(name)
    layers = [cloud]
    if "thin" in layout.layers:
        layers.append(channel("thin_cloud"))
    if "shadow" in layout.layers:
        layers.append(channel("cloud_shadow"))
    return torch.stack(layers, dim=1)


def load_predictor(
    weights: str | Path | None = None,
    device: str = "auto",
    batch_size: int = 4,
    log: Log | None = None,
    also: Sequence[str | Path] = (),
) -> Predictor:
    """Load a checkpoint (the bundled one by default) or an ONNX model onto a device.

    Args:
        weights: the checkpoint or ONNX file; None for the bundled default.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        batch_size: tiles per forward pass on a GPU.
        log: receives warnings.
        also: more models run with it as one ensemble (:mod:`~..models.union`), each
            at its own threshold; ``weights`` is the base (its bands and classes).

    Raises:
        WeightsError: the checkpoint is missing, corrupt or does not match its model.
        DeviceError: the requested device is unavailable.
    """
    path = Path(weights) if weights is not None else default_weights_path()
    if weights is None and not path.is_file():
        raise WeightsError(
            f"The bundled weights are missing ({path}): reinstall the plugin or pass a "
            "checkpoint with --weights."
        )
    if also:
        members = [(path, None), *((Path(other), None) for other in also)]
        return load_union_predictor(members, device, batch_size, log)
    with stage("model load"):
        model, metadata = _load_model(path, device, log)
        return Predictor(model, metadata, device=device, batch_size=batch_size, log=log)


def load_union_predictor(
    members: Sequence[tuple[str | Path, float | None]],
    device: str = "auto",
    batch_size: int = 4,
    log: Log | None = None,
) -> Predictor:
    """Load several models as one :class:`~..models.union.CloudUnion`, the base first.

    Args:
        members: ``(file, threshold)`` per model; None takes the file's own threshold.

    Raises:
        WeightsError: a file is missing or corrupt, or a member reads a band the base
            does not.
    """
    with stage("model load"):
        loaded = []
        for path, threshold in members:
            model, metadata = _load_model(Path(path), device, log)
            loaded.append((model, metadata, metadata.threshold if threshold is None else threshold))
        union = CloudUnion(loaded)
        metadata = union_metadata(loaded[0][1], [Path(path).name for path, _ in members])
        return Predictor(union, metadata, device=device, batch_size=batch_size, log=log)


def _load_model(path: Path, device: str, log: Log | None) -> tuple[Any, CheckpointMetadata]:
    """A checkpoint's model (its CPU twin where one runs) or an ONNX model, and metadata."""
    if is_onnx(path):
        return load_onnx_model(path)
    model, metadata = load_checkpoint(path, device="cpu")
    if select_device(device).type == "cpu":  # ONNX Runtime where the twin runs
        model = cpu_model(path, model, metadata, log)
    return model, metadata


def _single_thread_pool(workers: int) -> ThreadPoolExecutor:
    """Start ``workers`` threads that each run torch on one core."""
    caller_threads = torch.get_num_threads()
    started = threading.Barrier(workers)
    pool = ThreadPoolExecutor(workers, "cloud-fcn-infer", initializer=_one_torch_thread)
    # Waiting on a barrier makes every worker start (and run the initializer) now.
    for future in [pool.submit(started.wait) for _ in range(workers)]:
        future.result()
    # The OpenMP count is per thread, but torch also keeps the last value as the default of
    # threads yet to touch torch: give that default back to the caller's count.
    torch.set_num_threads(caller_threads)
    return pool


def _one_torch_thread() -> None:
    # The first call lets torch set this thread up with its default; only then set 1.
    torch.get_num_threads()
    torch.set_num_threads(1)


def _mirror_margin(
    batch: torch.Tensor, multiple: int, edges: Sides = ALL_SIDES
) -> tuple[torch.Tensor, int, int]:
    """Mirror ``EDGE_MARGIN`` pixels beyond the raster's edges, then pad up to ``multiple``.

    The convolutions pad with zeros, which after normalisation is mean reflectance,
    as bright as cloud: without real context around it, the outermost row and
    column of a scene came out cloud (99.6 % of the first row of the Long Island
    scene, against 28 % one row further). Mirrored context removes that. Sides
    inside the raster need none: a neighbouring tile overlaps them and the blend
    window gives their outermost pixels little weight. Returns the padded batch and
    the offsets of the tile in it.
    """
    height, width = batch.shape[-2:]
    margin = EDGE_MARGIN if multiple > 1 else 0
    top, bottom, left, right = (margin * side for side in edges)
    extra_h = -(height + top + bottom) % multiple
    extra_w = -(width + left + right) % multiple
    pads = (left, right + extra_w, top, bottom + extra_h)
    if not any(pads):
        return batch, 0, 0
    mode = "reflect" if max(pads[:2]) < width and max(pads[2:]) < height else "replicate"
    return F.pad(batch, pads, mode=mode), top, left


def _split(chunk: np.ndarray, size: int) -> list[np.ndarray]:
    return [chunk[i : i + size] for i in range(0, len(chunk), size)]
