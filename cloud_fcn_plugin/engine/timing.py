"""Where a run's time goes: the engine's stages report into one collector, off by default.

Each stage wraps its work in ``with timing.stage("name"):``. While no collection is
open that is a shared no-op context (a global check per call, well under a
microsecond), so the hooks stay in the engine for good. Inside :func:`collecting`
every call adds its wall time and the CPU time of the calling thread
(``time.thread_time``) to the stage's totals; stages run on several threads at once
(the reader, the prediction workers, the writer), so their wall times overlap and
the CPU seconds are what add up.

The stages of a network run, in the order the pixels meet them:

``read`` (band files read and decompressed by GDAL), ``valid mask``, ``tiling``
(planning tiles, mirrored margins and padding), ``scaling`` (raw values to network
input), ``network`` (forward passes), ``probability layers`` (softmax or sigmoid),
``blending``, ``physics`` (the scene-relative tests: their band files, pre-pass and
fusion), ``classify`` (layers to mask codes), ``shadow`` (the shadow geometry: its band
files, dark pixels, cloud objects and casts), ``writing`` (the mask and
probability strips, compressed on the writer thread) and ``post-processing``
(sieve, buffer, masked image, polygons, preview).

Used by ``scripts/benchmark.py``; any caller may do the same::

    with timing.collecting() as profile:
        detect_clouds(...)
    print(profile.table())
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The stages in pipeline order (a stage not listed here is reported after them).
STAGES = (
    "model load",
    "read",
    "valid mask",
    "tiling",
    "scaling",
    "network",
    "probability layers",
    "blending",
    "physics",
    "classify",
    "shadow",
    "writing",
    "post-processing",
)

_NO_OP: AbstractContextManager[None] = nullcontext()


@dataclass
class StageTotals:
    """What the calls of one stage took, summed over threads."""

    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0


@dataclass
class Profile:
    """The totals of every stage reported while a collection was open.

    Attributes:
        stages: stage name -> totals.
        wall: seconds the collection was open.
        process_cpu: CPU seconds of the whole process meanwhile (all threads,
            GDAL's and ONNX Runtime's included).
    """

    stages: dict[str, StageTotals] = field(default_factory=dict)
    wall: float = 0.0
    process_cpu: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, wall: float, cpu: float) -> None:
        """Add one call of ``name``."""
        with self._lock:
            totals = self.stages.setdefault(name, StageTotals())
            totals.calls += 1
            totals.wall += wall
            totals.cpu += cpu

    def ordered(self) -> list[tuple[str, StageTotals]]:
        """The stages reported, in pipeline order."""
        rank = {name: index for index, name in enumerate(STAGES)}
        return sorted(self.stages.items(), key=lambda item: rank.get(item[0], len(rank)))

    def as_dict(self) -> dict:
        """JSON-ready totals: per stage calls, wall and CPU seconds, and the process's."""
        stages = {
            name: {"calls": t.calls, "wall_s": round(t.wall, 4), "cpu_s": round(t.cpu, 4)}
            for name, t in self.ordered()
        }
        accounted = sum(t.cpu for t in self.stages.values())
        return {
            "wall_s": round(self.wall, 4),
            "process_cpu_s": round(self.process_cpu, 4),
            "other_cpu_s": round(max(self.process_cpu - accounted, 0.0), 4),
            "stages": stages,
        }

    def table(self) -> str:
        """A Markdown table: stage, calls, CPU seconds, share of the process's CPU."""
        total = self.process_cpu or sum(t.cpu for t in self.stages.values()) or 1.0
        lines = ["| stage | calls | CPU s | share of CPU |", "|---|---:|---:|---:|"]
        for name, totals in self.ordered():
            lines.append(
                f"| {name} | {totals.calls} | {totals.cpu:.2f} | {100 * totals.cpu / total:.1f} % |"
            )
        other = self.as_dict()["other_cpu_s"]
        lines.append(f"| other (Python, start-up, GDAL threads) | | {other:.2f} | "
                     f"{100 * other / total:.1f} % |")  # fmt: skip
        lines.append(f"| **process** ({self.wall:.2f} s wall) | | {self.process_cpu:.2f} | 100 % |")
        return "\n".join(lines)


_profile: Profile | None = None


@contextmanager
def collecting() -> Iterator[Profile]:
    """Collect the stages' times while the block runs; one collection at a time.

    Raises:
        RuntimeError: a collection is already open.
    """
    global _profile
    if _profile is not None:
        raise RuntimeError("A timing collection is already open.")
    profile = Profile()
    started, cpu = time.perf_counter(), time.process_time()
    _profile = profile
    try:
        yield profile
    finally:
        _profile = None
        profile.wall = time.perf_counter() - started
        profile.process_cpu = time.process_time() - cpu


def stage(name: str) -> AbstractContextManager[None]:
    """Time the block as stage ``name`` while a collection is open; else do nothing."""
    profile = _profile
    if profile is None:
        return _NO_OP
    return _timed(profile, name)


_thread = threading.local()


@contextmanager
def _timed(profile: Profile, name: str) -> Iterator[None]:
    # A stage inside another on the same thread (a write of the sieve) counts as the outer.
    if getattr(_thread, "inside", False):
        yield
        return
    _thread.inside = True
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        profile.add(name, time.perf_counter() - wall, time.thread_time() - cpu)
        _thread.inside = False


def timed(name: str) -> Callable[[F], F]:
    """Decorate a function whose calls are stage ``name``."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with stage(name):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def enabled() -> bool:
    """Whether a collection is open."""
    return _profile is not None
