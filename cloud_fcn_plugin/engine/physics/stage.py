"""The physics stage of a run: which bands it reads, the scene's statistics, the fusion per strip.

A network run asks :func:`plan_fusion` what the physics adds for its model and input
kind (the settings measured leave-one-biome-out in ``docs/physics_eval.md``), opens a
:class:`PhysicsStage` (its own reader of B2-B7, B9 and B10 where the input has them,
and the scene's statistics from a sampled pre-pass), and hands it every strip of
probabilities. The physics-only model (``--model physics``) streams
:func:`physics_mask_strips` instead of a network.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..classes import CLEAR, NODATA, THICK_CLOUD
from ..errors import CanceledError, UnsupportedDataError
from ..params import IsCanceled, Progress
from ..scene.bands import THERMAL_BAND
from ..scene.opened import Scene
from ..scene.reader import SceneReader, open_scene
from ..timing import stage
from .fusion import PHYSICS_CLOUD, PHYSICS_NODATA, FusionSettings, fuse, physics_mask
from .sampling import StatisticsSampler
from .spectral import Bands
from .statistics import SceneStatistics

#: Landsat bands the stage reads, where the input has them.
PHYSICS_BANDS = (2, 3, 4, 5, 6, 7, 9, 10)
_REQUIRED = (2, 3, 4, 5)
#: Fusion of a Level-1 or TOA input with its thermal band, per bundled model: fitted
#: leave-one-biome-out on the Biome patches as product folders (docs/physics_eval.md).
LEVEL1_FUSION: dict[str, FusionSettings] = {
    "rgbn": FusionSettings(
        thermal_offset=-2, thermal_width=1, thermal_bright_guard=0.3, snow_ndsi=0.6,
        snow_cirrus=0.01,
    ),
    "sixband": FusionSettings(
        thermal_offset=-2, thermal_width=2, thermal_bright_guard=0.4, snow_ndsi=0.6,
        snow_cirrus=0.01,
    ),
}  # fmt: skip
#: Level-2 (ST_B10): the thermal veto and its bright guard only. Without a cirrus band to
#: spare ice cloud the snow veto took an overcast scene from 99 % to 37 % cloud.
LEVEL2_FUSION = FusionSettings(thermal_offset=-2, thermal_width=1, thermal_bright_guard=0.3)
#: Rows of the pre-pass: at most this many, in windows spread over the scene.
_SAMPLE_ROWS = 2048
_SAMPLE_WINDOW = 64
_STRIP_ROWS = 256
_FUSE_ROWS = 128



@dataclass(frozen=True)
class PhysicsPlan:
    """What the physics stage reads and does in one run.

    Attributes:
        bands: Landsat band numbers read, in this order.
        settings: the fusion steps (unused by the physics-only model).
        temperature_kind: ``"brightness"`` (Level-1, TOA) or ``"surface"`` (Level-2).
    """

    bands: tuple[int, ...]
    settings: FusionSettings
    temperature_kind: str

    @property
    def reason(self) -> str:
        """A sentence for the run's notes."""
        steps = []
        s = self.settings
        if s.thermal_offset is not None:
            steps.append(
                f"cloud warmer than the scene's clear land ({s.thermal_offset:+g} K) taken away"
                + (" except on bright, not snow-like pixels" if s.thermal_bright_guard else "")
            )
        if s.snow_ndsi is not None:
            steps.append(f"snow (NDSI > {s.snow_ndsi:g}) taken away")
        return "Physics: " + "; ".join(steps) + "."


def physics_bands(scene: Scene) -> tuple[int, ...]:
    """The bands of :data:`PHYSICS_BANDS` the input has."""
    return tuple(b for b in PHYSICS_BANDS if b in scene.info.landsat_bands)


def plan_fusion(scene: Scene, level: str, model: str, choice: str) -> PhysicsPlan | None:
    """What the physics adds to a network run, None for nothing.

    Args:
        scene: the run's input.
        level: the product level the run reads (``"l1"``, ``"toa"``, ``"sr"``).
        model: the bundled model's name (``"rgbn"``, ``"sixband"``...) or ``"file"``.
        choice: ``"auto"`` (the settings measured for this model and input kind),
            ``"on"`` (the input kind's settings for any model) or ``"off"``.
    """
    bands = physics_bands(scene)
    if choice == "off" or THERMAL_BAND not in bands or not set(_REQUIRED) <= set(bands):
        return None
    if level == "sr":
        measured = model in LEVEL1_FUSION
        settings = LEVEL2_FUSION if measured or choice == "on" else None
        kind = "surface"
    else:
        fallback = LEVEL1_FUSION["rgbn"] if choice == "on" else None
        settings, kind = LEVEL1_FUSION.get(model, fallback), "brightness"
    return None if settings is None else PhysicsPlan(bands, settings, kind)


class PhysicsStage:
    """The physics of one scene: its reader, its statistics, the fusion of each strip.

    Raises:
        CloudFcnError: the physics bands cannot be read (as :func:`open_scene`).
    """

    def __init__(self, scene: Scene, plan: PhysicsPlan, product: str = "auto") -> None:
        self.plan = plan
        self.reader: SceneReader = open_scene(
            scene, product=product, model_bands=plan.bands, surface_temperature=True
        )
        try:
            with stage("physics"):
                self.statistics = sample_statistics(self.reader, plan)
        except BaseException:
            self.reader.close()
            raise

    def __enter__(self) -> PhysicsStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()

    def bands(self, row_off: int, rows: int) -> tuple[Bands, np.ndarray]:
        """The physics bands of ``rows`` full-width scene rows, and where they are valid."""
        stack, valid = self.reader.read(row_off, 0, rows, self.reader.width)
        return Bands.from_stack(stack, self.plan.bands, self.plan.temperature_kind), valid

    def fuse(self, row_off: int, layers: np.ndarray) -> None:
        """Apply the fusion to the cloud layer (``layers[0]``) of a strip, in place.

        The steps are per pixel (the scene's statistics are fixed), so the strip is
        fused in slices: eight float bands of a whole strip would be 128 MB at 7,800 px.
        """
        with stage("physics"):
            for start in range(0, layers.shape[1], _FUSE_ROWS):
                part = layers[0, start : start + _FUSE_ROWS]
                bands, valid = self.bands(row_off + start, part.shape[0])
                fused = fuse(part, bands, self.statistics, self.plan.settings).probability
                np.copyto(part, fused, where=valid)


def sample_statistics(reader: SceneReader, plan: PhysicsPlan) -> SceneStatistics:
    """The scene's statistics from windows of rows spread over it (a cheap pre-pass).

    A scene of up to :data:`_SAMPLE_ROWS` rows is read whole; a larger one in
    windows of 64 rows, evenly spaced, every 8th pixel of them kept.
    """
    height = reader.height
    if height <= _SAMPLE_ROWS:
        starts, rows = list(range(0, height, _STRIP_ROWS)), _STRIP_ROWS
        step = 1 if height * reader.width <= 2**22 else 4
    else:
        count = _SAMPLE_ROWS // _SAMPLE_WINDOW
        spacing = height / count
        starts, step, rows = [int(i * spacing) for i in range(count)], 8, _SAMPLE_WINDOW
    sampler = StatisticsSampler(step=step)
    for start in starts:
        stack, valid = reader.read(start, 0, min(rows, height - start), reader.width)
        sampler.add(Bands.from_stack(stack, plan.bands, plan.temperature_kind), valid, start)
    return sampler.finish()


def plan_physics_only(scene: Scene, level: str) -> PhysicsPlan:
    """The plan of the physics-only model (``--model physics``).

    Raises:
        UnsupportedDataError: the input lacks one of blue, green, red and NIR.
    """
    bands = physics_bands(scene)
    if not set(_REQUIRED) <= set(bands):
        raise UnsupportedDataError(
            f"{scene.name} lacks blue, green, red or NIR (B2-B5) as Landsat bands: the "
            "physics-only model needs them named (a product folder, or band descriptions)."
        )
    kind = "surface" if level == "sr" else "brightness"
    return PhysicsPlan(bands, FusionSettings(), kind)


def physics_mask_strips(
    stage: PhysicsStage, progress: Progress | None = None, is_canceled: IsCanceled | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Fmask's cloud mask without a network, strip by strip: ``(row_off, mask codes)``.

    Cloud is thick cloud (1); snow and water are clear (0); fill is nodata (255).
    """
    height = stage.reader.height
    for row_off in range(0, height, _STRIP_ROWS):
        if is_canceled is not None and is_canceled():
            raise CanceledError("Canceled by the user: no output was written.")
        rows = min(_STRIP_ROWS, height - row_off)
        bands, valid = stage.bands(row_off, rows)
        codes, _ = physics_mask(bands, stage.statistics, valid)
        mask = np.full(codes.shape, CLEAR, np.uint8)
        mask[codes == PHYSICS_CLOUD] = THICK_CLOUD
        mask[codes == PHYSICS_NODATA] = NODATA
        if progress is not None:
            progress(100.0 * (row_off + rows) / height)
        yield row_off, mask
