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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from ..classes import CLEAR, NODATA, THICK_CLOUD
from ..errors import CanceledError, UnsupportedDataError
from ..params import ENSEMBLE, IsCanceled, Progress
from ..scene.bands import THERMAL_BAND
from ..scene.opened import Scene
from ..scene.reader import SceneReader, open_scene
from ..timing import stage, timed
from .fusion import PHYSICS_CLOUD, PHYSICS_NODATA, FusionSettings, fuse, physics_mask
from .sampling import StatisticsSampler
from .spectral import LANDSAT_NUMBERS, Bands
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
#: The ensemble leads with the 4-band model's Level-1 settings.
LEVEL1_FUSION[ENSEMBLE] = LEVEL1_FUSION["rgbn"]
#: Level-2 (ST_B10): the thermal veto and its bright guard only. Without a cirrus band to
#: spare ice cloud the snow veto took an overcast scene from 99 % to 37 % cloud.
LEVEL2_FUSION = FusionSettings(thermal_offset=-2, thermal_width=1, thermal_bright_guard=0.3)
#: Level-2 with the 4-band + 6-band ensemble (the 4-band model calls snow cloud): the
#: snow veto too, sparing ice cloud by its SWIR1 instead of the cirrus band it lacks
#: (docs/ensemble_cv.md).
LEVEL2_ENSEMBLE_FUSION = replace(LEVEL2_FUSION, snow_ndsi=0.45, snow_cirrus=None, snow_swir1=0.11)
#: A scene of at most this many rows is sampled whole; a taller one in
#: :data:`_SAMPLE_WINDOWS` windows of at least :data:`_SAMPLE_WINDOW` rows.
_SAMPLE_ROWS = 2048
_SAMPLE_WINDOWS = 16
_SAMPLE_WINDOW = 64
#: Decimation of the pre-pass's sample (rows and columns) on scenes above _SAMPLE_ROWS.
_SAMPLE_STEP = 8
_STRIP_ROWS = 256
_FUSE_ROWS = 128
#: SWIR2 (B7): Fmask's basic test and clear water's, so the pre-pass and the physics-only
#: model read it; no fusion step uses it.
_STATISTICS_ONLY_BAND = 7


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
        if s.snow_ndsi is not None and s.snow_swir1 is not None:
            steps.append(f"snow (NDSI > {s.snow_ndsi:g}, SWIR1 < {s.snow_swir1:g}) taken away")
        elif s.snow_ndsi is not None:
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
        if model == ENSEMBLE:
            settings = LEVEL2_ENSEMBLE_FUSION
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

    def __init__(
        self,
        scene: Scene,
        plan: PhysicsPlan,
        product: str = "auto",
        network: SceneReader | None = None,
        network_bands: tuple[int, ...] = (),
    ) -> None:
        self.plan = plan
        self.reader: SceneReader = open_scene(
            scene, product=product, model_bands=plan.bands, surface_temperature=True
        )
        self._scene, self._product = scene, product
        self._shared, self._own = _split_bands(plan, self.reader, network, network_bands)
        self._network = network
        self._own_reader: SceneReader | None = None  # opened by the first strip fused
        self._ahead: tuple[tuple[int, int], Future] | None = None
        self._last: tuple[int, np.ndarray] | None = None  # the strip last fused, as read
        # The pre-pass runs while the model loads and the first strips are predicted.
        self._pool = ThreadPoolExecutor(1, "cloud-fcn-physics")
        self._statistics = self._pool.submit(timed("physics")(sample_statistics), self.reader, plan)

    @property
    def statistics(self) -> SceneStatistics:
        """The scene's statistics (waits for the pre-pass).

        Raises:
            CloudFcnError: the pre-pass could not read the bands.
        """
        return self._statistics.result()

    def __enter__(self) -> PhysicsStage:
        return self

    def __exit__(self, *exc: object) -> None:
        # The pre-pass and a read ahead must end before their files close.
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.reader.close()
        if self._own_reader is not None and self._own_reader is not self.reader:
            self._own_reader.close()

    def bands(self, row_off: int, rows: int) -> tuple[Bands, np.ndarray]:
        """The physics bands of ``rows`` full-width scene rows, and where they are valid."""
        stack, valid = self.reader.read(row_off, 0, rows, self.reader.width)
        return Bands.from_stack(stack, self.plan.bands, self.plan.temperature_kind), valid

    def fuse(
        self,
        row_off: int,
        layers: np.ndarray,
        network_raw: np.ndarray | None = None,
        network_valid: np.ndarray | None = None,
        floor: float = 0.0,
    ) -> None:
        """Apply the fusion to the cloud layer (``layers[0]``) of a strip, in place.

        Bands the network has read come from its strip (``network_raw`` as stored, and
        ``network_valid``); the others are read on a thread while the network predicts:
        after each strip, the next one of the same height is read ahead. The steps are
        per pixel (the scene's statistics are fixed), so only the pixels that need them
        are scaled and fused, in slices of rows.

        Args:
            row_off: the strip's first scene row.
            layers: (L, rows, cols) probability layers, cloud first.
            network_raw: the network's bands of the strip as stored, None to read them.
            network_valid: where they hold data, None to work it out.
            floor: pixels whose probability is below it are left as they are. Give the
                decision threshold where nothing else reads the probability and the
                steps only lower it (:attr:`FusionSettings.lowers_only`): the mask is
                the same, for the work of the pixels that may be cloud.
        """
        rows = layers.shape[1]
        with stage("physics"):
            raw, valid = self._strip(row_off, rows)
            valid = self._reflective_valid(raw, valid)
            self._last = (row_off, raw)
            self._read_ahead(row_off + rows, rows)
            shared = self._shared_strip(row_off, rows, network_raw, network_valid)
            for start in range(0, rows, _FUSE_ROWS):
                part = layers[0, start : start + _FUSE_ROWS]
                window = slice(start, start + part.shape[0])
                here = valid[window] if shared is None else valid[window] & shared[1][window]
                if floor > 0.0:
                    here &= part >= floor
                # Flat indices, taken once: gathering C bands by a boolean mask costs
                # about 7 times as much (numpy finds the True pixels again per call).
                pixels = np.flatnonzero(here)
                if pixels.size:
                    network = None if shared is None else _gather(shared[0][:, window], pixels)
                    self._fuse_pixels(part, pixels, _gather(raw[:, window], pixels), network)

    def reads(self, number: int) -> bool:
        """Whether the stage reads Landsat band ``number`` itself (not from the network)."""
        return number in self._own

    def strip_band(self, row_off: int, number: int) -> np.ndarray | None:
        """Band ``number`` (one the stage :meth:`reads`) of the strip last fused, if it
        starts at ``row_off``: reflectance, 0 where that band alone is fill, as a reader
        of that band alone would give it; None for another strip."""
        if self._last is None or self._last[0] != row_off or not self.reads(number):
            return None
        raw, channel = self._last[1], self._own.index(number)
        reader = self._fusion_reader()
        return reader.reflectance(raw, reader.valid(raw, (channel,)), (channel,))[0]

    def _fuse_pixels(
        self, part: np.ndarray, pixels: np.ndarray, raw: np.ndarray, network: np.ndarray | None
    ) -> None:
        """Fuse the flat ``pixels`` of ``part`` from their raw bands (C, n), in place."""
        every = np.ones((1, raw.shape[1]), bool)
        reader = self._fusion_reader()
        found = _named(reader.reflectance(raw[:, None], every), self._own)
        if THERMAL_BAND in self._own:
            # Thermal fill (no surface temperature retrieved, TIRS's footprint) is no
            # evidence: the steps that need a temperature leave those pixels alone.
            thermal = self._own.index(THERMAL_BAND)
            missing = ~reader.valid(raw[:, None], (thermal,))[0]
            if missing.any():
                found["temperature"] = np.where(missing, np.nan, found["temperature"])
        if network is not None:
            numbers, channels = zip(*self._shared.items(), strict=True)
            scaled = self._network.reflectance(network[:, None], every, channels)
            found.update(_named(scaled, numbers))
        bands = Bands.from_mapping(found, self.plan.temperature_kind)
        fused = fuse(part.take(pixels)[None], bands, self.statistics, self.plan.settings)
        part.put(pixels, fused.probability[0])

    def _reflective_valid(self, raw: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Where the stage's own reflective bands hold data (``valid`` counts thermal fill
        too); everywhere when it reads only the thermal band (the network's strip says
        where the reflective bands hold data)."""
        if THERMAL_BAND not in self._own:
            return valid
        reflective = [i for i, b in enumerate(self._own) if b != THERMAL_BAND]
        if not reflective:
            return np.ones_like(valid)
        return self._fusion_reader().valid(raw, reflective)

    def _shared_strip(
        self,
        row_off: int,
        rows: int,
        network_raw: np.ndarray | None,
        network_valid: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The network's bands of a strip (as given, or read again) and where they are valid."""
        if not self._shared:
            return None
        if network_raw is None:
            return self._network.read_raw(row_off, 0, rows, self._network.width)
        if network_valid is None:
            network_valid = self._network.valid(network_raw)
        return network_raw, network_valid

    def _fusion_reader(self) -> SceneReader:
        """The reader of the bands the fusion reads itself (the physics-only model needs none)."""
        if self._own_reader is None:
            self._own_reader = (
                self.reader
                if self._own == self.plan.bands
                else open_scene(
                    self._scene,
                    product=self._product,
                    model_bands=self._own,
                    surface_temperature=True,
                )  # fmt: skip
            )
        return self._own_reader

    def _strip(self, row_off: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The raw bands of a strip and where they are valid: read ahead, or read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == (row_off, rows):
            return ahead[1].result()
        if ahead is not None:
            ahead[1].cancel()
        reader = self._fusion_reader()
        return reader.read_raw(row_off, 0, rows, reader.width)

    def _read_ahead(self, row_off: int, rows: int) -> None:
        reader = self._fusion_reader()
        rows = min(rows, reader.height - row_off)
        if rows <= 0:
            return
        read_raw = timed("physics")(reader.read_raw)
        future = self._pool.submit(read_raw, row_off, 0, rows, reader.width)
        self._ahead = ((row_off, rows), future)


def _split_bands(
    plan: PhysicsPlan,
    reader: SceneReader,
    network: SceneReader | None,
    network_bands: tuple[int, ...],
) -> tuple[dict[int, int], tuple[int, ...]]:
    """The fusion bands taken from the network's strips (band -> its channel there), and
    those the stage reads itself.

    SWIR2 (B7) serves the statistics only. A reflectance band the network reads at the
    same product level is taken from its strips rather than decompressed twice; the
    thermal band is always the stage's own (kelvin, surface temperature on Level-2).
    """
    wanted = tuple(b for b in plan.bands if b != _STATISTICS_ONLY_BAND)
    same_level = network is not None and network.product == reader.product
    shared = {
        b: i
        for i, b in enumerate(network_bands)
        if same_level and b in wanted and b != THERMAL_BAND
    }
    return shared, tuple(b for b in wanted if b not in shared)


def _gather(stack: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """The flat ``pixels`` of each band of a (C, rows, cols) window: (C, n)."""
    return np.take(stack.reshape(stack.shape[0], -1), pixels, axis=1)


def _named(stack: np.ndarray, numbers: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The bands of a (B, ...) reflectance stack by the names :class:`Bands` gives them."""
    return {LANDSAT_NUMBERS[n]: band for n, band in zip(numbers, stack, strict=True)}


def sample_statistics(reader: SceneReader, plan: PhysicsPlan) -> SceneStatistics:
    """The scene's statistics from a decimated view of it (a cheap pre-pass).

    A scene of up to :data:`_SAMPLE_ROWS` rows is read whole. A larger one is read from
    the band files' overviews where they have them (Collection 2 products: a 1:8
    overview is 1/64 of the decompression), else in the :func:`sample_windows`, every
    8th pixel of every 8th row of them kept (and only those scaled).
    """
    height, width = reader.height, reader.width
    sampler = StatisticsSampler(step=1)
    factor = None if height <= _SAMPLE_ROWS else reader.overview_factor(_SAMPLE_STEP)
    if factor is not None:
        raw, valid = reader.read_overview(factor)
        stack = reader.reflectance(raw, valid)
        sampler.add(Bands.from_stack(stack, plan.bands, plan.temperature_kind), valid)
        return sampler.finish()
    if height <= _SAMPLE_ROWS:
        step = 1 if height * width <= 2**22 else 4
        windows = [
            (start, min(_STRIP_ROWS, height - start)) for start in range(0, height, _STRIP_ROWS)
        ]
    else:
        step, windows = _SAMPLE_STEP, sample_windows(height, reader.block_shape[0])
    for start, rows in windows:
        raw, _ = reader.read_raw(start, 0, rows, width)
        raw = raw[:, (-start) % step :: step, ::step]
        valid = reader.valid(raw)
        stack = reader.reflectance(raw, valid)
        sampler.add(Bands.from_stack(stack, plan.bands, plan.temperature_kind), valid, start)
    return sampler.finish()


def sample_windows(
    height: int, block_rows: int, count: int = _SAMPLE_WINDOWS
) -> list[tuple[int, int]]:
    """``count`` windows ``(first row, rows)`` of whole rows of file blocks, evenly spread.

    GDAL decompresses whole blocks (256 rows in USGS products): windows that cut block
    rows would decompress most of the scene for a sample of it.
    """
    block_rows = max(1, block_rows)
    rows = -(-_SAMPLE_WINDOW // block_rows) * block_rows
    slots = max(1, height // rows)
    picked = sorted({int((i + 0.5) * slots / count) for i in range(count)})
    return [(slot * rows, min(rows, height - slot * rows)) for slot in picked]


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
