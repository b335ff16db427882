"""Memory a run needs, against what the machine has: the tile size that fits, or one line.

Two things grow with the tile size: the network's activations (each CPU worker runs
one tile; a U-Net of width 4 needs about 9 GB for a 2,048 px tile) and the
full-width strips the pipeline reads and blends (a 200,000 px wide raster takes
gigabytes per strip). Both are estimated before any pixel is read, and a tile size
that would not fit in the memory available is lowered, with a note; when even the
smallest tile does not fit, the run is refused in one line that says what to do.

The activations are measured, not guessed: the architecture runs once on PyTorch's
``meta`` device (no memory, no compute) under a dispatch mode that adds up the
tensors alive at each step, which came within 0.7-1.6x of the resident memory
measured on the CPU for U-Net, CloudFCN-lite, Cloud-Net and the pixel model.
"""

from __future__ import annotations

import contextlib
import math
import resource
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from ..errors import OutOfMemoryError
from ..models import build_model
from ..params import MIN_TILE_SIZE

Log = Callable[[str], None]

#: Over the simulated peak: allocator slack and convolution workspace.
ACTIVATION_SLACK = 1.6
#: Share of the available memory a run plans to use (the rest: Python, torch, GDAL).
BUDGET_SHARE = 0.75
#: Tile sizes tried when lowering: multiples of this.
_TILE_STEP = 32
_GB = 1024**3


@dataclass(frozen=True)
class StripLayout:
    """What one full-width strip of the scene holds, per pixel.

    Attributes:
        width: scene width in pixels.
        height: scene height in pixels.
        bands: bands read.
        itemsize: bytes per raw pixel value.
        layers: probability layers blended (1 for a cloud-only model).
        cache_bytes: GDAL's block cache for the run (filled as strips are read).
    """

    width: int
    height: int
    bands: int
    itemsize: int
    layers: int = 1
    cache_bytes: int = 0

    def bytes_per_pixel(self) -> int:
        """Bytes per pixel of a strip, over every copy the pipeline holds at once."""
        # Raw strip and the one read ahead, with the validity test's temporaries; the
        # valid masks; the blend sums, the blended strip and the one queued to the writer.
        return 3 * self.bands * self.itemsize + self.bands + 2 + 12 * self.layers + 4 + 2

    def strip_bytes(self, tile: int) -> int:
        """Bytes of the strips of ``tile`` rows, plus the block cache."""
        return min(tile, self.height) * self.width * self.bytes_per_pixel() + self.cache_bytes


def activation_bytes(architecture: str, arch_args: dict, tile: int) -> int | None:
    """Peak bytes of the tensors alive in one forward pass of a ``tile`` x ``tile`` tile.

    A fully convolutional network's tensors all scale with the tile's area, so one
    pass over a tiny tile (two size multiples, real CPU tensors) is counted and scaled
    up: the same figure as a pass at full size on the meta device, in milliseconds.
    Meta tensors went through Python decompositions that import ``torch._dynamo``
    (and sympy) on first use: 1.2-2.4 s of every run, before any pixel.

    Returns:
        The estimate, or None for a model the registry cannot build (an ONNX file).
    """
    try:
        skeleton = build_model(architecture, **arch_args).eval()
    except Exception:  # not a registry model: nothing to simulate
        return None
    multiple = max(int(getattr(skeleton, "size_multiple", 1)), 1)
    side = math.ceil(tile / multiple) * multiple
    small = multiple * math.ceil(16 / multiple) * 2
    channels = int(arch_args.get("in_channels", 4))
    counter = _LiveBytes()
    with torch.inference_mode(), counter:
        output = skeleton(torch.zeros(1, channels, small, small))
        del output
    return counter.peak * side * side // (small * small)


class _LiveBytes(TorchDispatchMode):
    """Adds up the bytes of the tensors each operation creates, until they are freed."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing here is compiled: wrapping __torch_dispatch__ for Dynamo would import it.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(result)[0]:
            if isinstance(tensor, torch.Tensor):
                size = tensor.numel() * tensor.element_size()
                self.live += size
                self.peak = max(self.peak, self.live)
                weakref.finalize(tensor, self._free, size)
        return result

    def _free(self, size: int) -> None:
        self.live -= size


def available_bytes() -> int:
    """Memory this process may still take: free RAM, and its address-space limit if set."""
    import psutil

    free = psutil.virtual_memory().available
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        free = min(free, max(0, soft - psutil.Process().memory_info().vms))
    return int(free)


# Set by :func:`tile_from_parameters`: the tile size is never lowered for the memory.
_FIXED_TILE: ContextVar[bool] = ContextVar("cloud_fcn_fixed_tile", default=False)


@contextlib.contextmanager
def tile_from_parameters() -> Iterator[None]:
    """Within the block the tile size is the parameters', never lowered for free memory.

    For batches: the masks of one batch must not depend on the memory each worker has
    free at the moment (the tile size changes the mask at tile seams), so a scene that
    does not fit fails in one line instead of being made another way.
    """
    token = _FIXED_TILE.set(True)
    try:
        yield
    finally:
        _FIXED_TILE.reset(token)


def fit_tile_size(
    tile: int,
    overlap: int,
    strips: StripLayout,
    *,
    architecture: str,
    arch_args: dict,
    concurrent_tiles: int,
    budget: int | None = None,
    log: Log | None = None,
    network_bytes: Callable[[int], int | None] | None = None,
) -> int:
    """The largest tile size up to ``tile`` whose run fits in memory.

    Args:
        tile: the tile size asked for.
        overlap: tile overlap (a tile must exceed twice it).
        strips: the scene's strip layout.
        architecture: registry name of the model.
        arch_args: its arguments.
        concurrent_tiles: tiles in a forward pass at once (CPU workers, or the batch).
        budget: bytes the run may use; default: a share of :func:`available_bytes`.
        log: receives the note when the tile size is lowered.
        network_bytes: the bytes one tile of a given size needs, for a model the
            registry cannot simulate (an ONNX graph, see
            :func:`~..models.onnx_guard.activation_bytes`); asked for each size tried,
            since such a graph's memory may grow faster than the tile's pixels.

    Raises:
        OutOfMemoryError: not even the smallest tile fits.
    """
    budget_given = budget
    budget = int(BUDGET_SHARE * available_bytes()) if budget is None else budget
    per_tile = activation_bytes(architecture, arch_args, tile)
    scale = 0.0 if per_tile is None else ACTIVATION_SLACK * concurrent_tiles * per_tile / tile**2

    def need(size: int) -> float:
        if network_bytes is not None:
            measured = network_bytes(size)
            network = ACTIVATION_SLACK * concurrent_tiles * (measured or 0)
            return network + strips.strip_bytes(size)
        # Activations grow with the tile's pixels; scaling spares a simulation per size.
        return scale * size**2 + strips.strip_bytes(size)

    if network_bytes is not None:
        scale = ACTIVATION_SLACK * concurrent_tiles * (network_bytes(tile) or 0) / tile**2

    if need(tile) <= budget:
        return tile
    if _FIXED_TILE.get():
        # A batch: every mask is made with the tile its parameters give, whatever the
        # memory free at that moment; a scene that cannot fit fails, it is not made
        # differently. Only what is really free is held against it (no share kept back).
        free = available_bytes() if budget_given is None else budget / BUDGET_SHARE
        if need(tile) <= free:
            return tile
        raise OutOfMemoryError(
            f"{tile} px tiles need about {need(tile) / _GB:.1f} GB and {free / _GB:.1f} GB "
            "are free in this worker; a batch does not lower the tile size (its masks would "
            "depend on the memory free): pass a smaller --tile-size, run fewer workers, or "
            "run again with --resume."
        )
    smallest = math.ceil(max(MIN_TILE_SIZE, 2 * overlap + 1) / _TILE_STEP) * _TILE_STEP
    for size in range(tile - tile % _TILE_STEP, smallest - 1, -_TILE_STEP):
        if size < tile and need(size) <= budget:
            if log is not None:
                log(
                    f"Tile size lowered from {tile} to {size} px: {tile} px tiles would need "
                    f"about {need(tile) / _GB:.1f} GB and {budget / _GB:.1f} GB can be used "
                    "here; close other programs or choose a smaller --tile-size."
                )
            return size
    raise OutOfMemoryError(_refusal(tile, smallest, strips, scale, budget))


def fit_scene_tile(
    reader: Any,
    predictor: Any,
    tile: int,
    overlap: int,
    cache_bytes: int = 0,
    log: Log | None = None,
) -> int:
    """:func:`fit_tile_size` for a scene reader and the predictor that will run on it.

    The network's share counts on the CPU only: on a GPU the predictor halves its
    batch, then falls back to the CPU, when the device runs out of memory.
    """
    meta = predictor.metadata
    # Readers that are not SceneReaders (arrays in tests, relit patches) say nothing of
    # their storage: taken as float32.
    dtype = getattr(getattr(reader, "info", None), "dtype", "float32")
    strips = StripLayout(
        width=reader.width,
        height=reader.height,
        bands=len(reader.scaling.gain),
        itemsize=np.dtype(dtype).itemsize,
        layers=len(predictor.layout.layers),
        cache_bytes=cache_bytes,
    )
    on_cpu = predictor.device.type == "cpu"

    def fit(concurrent: int) -> int:
        return fit_tile_size(
            tile,
            overlap,
            strips,
            architecture=meta.architecture,
            arch_args=dict(meta.arch_args),
            concurrent_tiles=concurrent if on_cpu else 0,
            log=log,
            network_bytes=_onnx_bytes(predictor, len(meta.bands)),
        )

    if not (_FIXED_TILE.get() and on_cpu):
        return fit(predictor.cpu_workers * predictor.tiles_per_task)
    # The tile size is the parameters' (a batch): fewer tiles at once (fewer CPU workers,
    # then smaller forward passes), which leaves the mask as it is, before the scene is
    # refused.
    workers, batch = predictor.cpu_workers, predictor.batch_size
    tries = [(w, batch) for w in range(workers, 1, -1)]
    batches = sorted({batch >> i for i in range(8)} - {0}, reverse=True)
    tries += [(1, b) for b in batches]
    for index, (w, b) in enumerate(tries):
        try:
            size = fit(w if w > 1 else b)
        except OutOfMemoryError:
            if index == len(tries) - 1:
                raise
            continue
        if (w, b) != (workers, batch):
            predictor.cpu_workers, predictor.batch_size = w, b
            if log is not None:
                log(f"{max(w, b)} tile(s) at once instead of more, for the memory free.")
        return size
    raise AssertionError("unreachable")


def _onnx_bytes(predictor: Any, channels: int) -> Callable[[int], int | None] | None:
    """The memory an ONNX model's graph needs per tile size (None for registry models)."""
    from ..models.onnx_guard import activation_bytes as graph_bytes
    from ..models.onnx_model import OnnxModel

    model = getattr(predictor, "model", None)
    if not isinstance(model, OnnxModel):
        return None
    return lambda size: graph_bytes(model.path, channels, size)


def _refusal(tile: int, smallest: int, strips: StripLayout, scale: float, budget: int) -> str:
    strip = strips.strip_bytes(smallest)
    network = scale * smallest**2
    if strip >= network:
        return (
            f"The raster is too wide for this memory: at {strips.width:,} px, even "
            f"{smallest} px strips need about {strip / _GB:.1f} GB (with GDAL's block "
            f"cache) and {budget / _GB:.1f} GB can be used here; cut it into narrower "
            "pieces (gdal_translate -srcwin) or free memory."
        )
    return (
        f"This model needs about {network / _GB:.1f} GB even for {smallest} px tiles and "
        f"{budget / _GB:.1f} GB can be used here (asked: {tile} px): free memory, run fewer "
        "CPU threads, or use a smaller model."
    )
