"""Cloud shadow in a run: the geometry after the network's mask, for every model.

The mask strips of the network (or of any model) are gathered into the scene's mask
(one byte a pixel) and onto the matching grid; while the network runs, :class:`ShadowStage`
finds the dark pixels strip by strip (red, NIR and SWIR1 where the input has it) as soon
as a strip and its halo are in; once the last strip is in, it casts each cloud object
along the sun (the MTL's angles, else the direction the scene
itself shows, :mod:`.shadow`) and returns the mask with its shadow. The geometry is the
shadow for every model, those with a shadow class of their own too: out of fold, the
6-band model's class scores 8.3 pooled shadow Jaccard on the Biome patches, kept where
the geometry agrees 9.3, the geometry alone 22.3 (docs/shadow_eval.md), and on every
whole scene with a QA band the geometry agrees best with its shadow bits.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from ..classes import CLEAR, CLOUD_CODES, CLOUD_SHADOW, NODATA, has_code
from ..params import DetectionParams
from ..scene.opened import Scene
from ..scene.reader import SceneReader, open_scene
from ..scene.scaling import to_reflectance
from ..scene.sun import SceneSun, scene_centre, sun_from_name
from ..timing import stage, timed
from .shadow import (
    POTENTIAL_HALO,
    ShadowParams,
    SunGeometry,
    coarse_params,
    match_shadows,
    potential_shadow,
)
from .shadow_cast import block_any, block_expand
from .shadow_objects import cloud_pieces
from .shadow_potential import basin_shadow, block_mean
from .stage import PhysicsStage

#: Rows of the dark-pixel pass (plus its halo above and below).
_STRIP_ROWS = 512
#: Scenes larger than this are matched on a grid twice as coarse: labels, coordinates and
#: casts of a 7,800² scene at 30 m took 1.1 GB and 5 s beside a 10 s network pass.
_FULL_GRID_PIXELS = 4096 * 4096
#: Threads of the stage: the reading of its own bands, then the dark-pixel strips.
_THREADS = 2
#: Landsat's grid, taken where the input's grid says nothing in metres.
_LANDSAT_METRES = 30.0
_RED, _NIR, _SWIR1 = 4, 5, 6
#: The masks the stage keeps on the matching grid: any cloud, any fill in a block.
_CLOUD, _FILL = "cloud", "fill"
_MASKS = (_CLOUD, _FILL)
#: Rows of the matching grid marked at a time (bounds the fine temporaries).
_MARK_ROWS = 256
#: Landsat's sun-synchronous morning orbit never sees the sun higher than about 76°: an
#: MTL that says more was not written by USGS for this scene (a product rebuilt from
#: reflectance, say), and its direction is not trusted.
MAX_LANDSAT_SUN_ELEVATION = 80.0


@dataclass(frozen=True)
class ShadowPlan:
    """How one run finds cloud shadow.

    Attributes:
        sun: the scene's sun angles, None to estimate the direction from the scene.
        bands: Landsat bands read (red, NIR, SWIR1 where present).
        note: why the MTL's sun angles are not used, where they are not; where the sun
            comes from the acquisition date in the input's name, how.
    """

    sun: SunGeometry | None
    bands: tuple[int, ...]
    note: str = ""


def plan_shadow(scene: Scene, choice: str) -> ShadowPlan | None:
    """The shadow plan of a run, None where the network's own shadow (or none) stays.

    Args:
        scene: the run's input.
        choice: ``"auto"`` or ``"geometry"`` (the geometry), ``"network"`` (the model's
            own shadow class, if any; see ``DetectionParams``).
    """
    if choice == "network":
        return None
    mtl = scene.info.mtl
    sun, note = None, ""
    if mtl is not None and mtl.sun_elevation is not None and mtl.sun_azimuth is not None:
        if mtl.sun_elevation <= MAX_LANDSAT_SUN_ELEVATION:
            sun = SunGeometry(mtl.sun_azimuth % 360.0, mtl.sun_elevation)
        else:
            note = (
                f"the MTL's sun elevation ({mtl.sun_elevation:.0f}°) is no Landsat one, so the "
                "shadow direction is taken from the scene"
            )
    elif (computed := _sun_from_name(scene)) is not None:
        sun, note = SunGeometry(computed.azimuth_deg, computed.elevation_deg), computed.note
    bands = (_RED, _NIR, _SWIR1) if _SWIR1 in scene.info.landsat_bands else (_RED, _NIR)
    return ShadowPlan(sun, bands, note)


def _sun_from_name(scene: Scene) -> SceneSun | None:
    """The sun over an input without an MTL, from the ID in its name and its centre."""
    info = scene.info
    return sun_from_name(info.path, scene_centre(info.crs, info.transform, info.width, info.height))


def open_shadow_stage(
    stack: ExitStack,
    scene: Scene,
    params: DetectionParams,
    network: SceneReader | None = None,
    network_bands: tuple[int, ...] = (),
    physics: PhysicsStage | None = None,
) -> ShadowStage | None:
    """The run's shadow stage, entered on ``stack``; None where the model's own shadow stays.

    Args:
        stack: closes the stage's reader with the run.
        scene: the run's input.
        params: the run's parameters (``shadow``, ``product``, ``bands``).
        network: the network's reader, whose strips (given to :meth:`ShadowStage.observe`)
            hold bands the stage then need not read again.
        network_bands: the Landsat numbers of the bands ``network`` reads, in its order.
        physics: the run's physics stage, which fuses every strip before the stage
            observes it: the bands it reads itself (SWIR1) are taken from it.
    """
    plan = plan_shadow(scene, params.shadow)
    if plan is None:
        return None
    return stack.enter_context(
        ShadowStage(scene, plan, params.product, params.bands, network, network_bands, physics)
    )


class ShadowStage:
    """Gathers a run's mask strips, then adds the cloud shadow to them.

    The dark-pixel pass works on the bands red, NIR and SWIR1 on the matching grid
    (twice as coarse above 4,096² pixels). Those the network reads come from its strips
    as they pass (:meth:`observe`), and so do those the physics stage reads for its own
    tests (SWIR1 of a product); the others are read on a thread meanwhile. Each strip
    of dark pixels is found on the stage's threads as soon as its rows and halo are in
    (once the scene has shown a cloud), so that little but the matching is left after
    the last strip: with it, the dark bottoms of basins wider than the strips' closing
    (Fmask's fill, :func:`~.shadow_potential.basin_shadow`), which need the whole scene.

    Raises:
        CloudFcnError: the bands cannot be read (as :func:`open_scene`).
    """

    def __init__(
        self,
        scene: Scene,
        plan: ShadowPlan,
        product: str = "auto",
        bands: tuple[int, int, int, int] | None = None,
        network: SceneReader | None = None,
        network_bands: tuple[int, ...] = (),
        physics: PhysicsStage | None = None,
    ) -> None:
        self.plan = plan
        info = scene.info
        self._scene, self._product, self._bands = scene, product, bands
        self._grid = (info.crs, info.transform)
        self.mask = np.full((info.height, info.width), NODATA, np.uint8)
        self.factor = 1 if self.mask.size <= _FULL_GRID_PIXELS else 2
        wanted = plan.bands if len(plan.bands) == 3 else (_RED, _NIR)
        self._from_network = {
            number: network_bands.index(number)
            for number in wanted
            if network is not None and number in network_bands
        }
        self._network_scaling = {
            number: network.scaling.select([channel])
            for number, channel in self._from_network.items()
        }
        self._scaled_rows = 0  # rows of the matching grid whose network bands are scaled
        # SWIR1 (products) from the strips the physics stage reads for its own tests.
        self._physics = physics
        self._from_physics = tuple(
            number
            for number in wanted
            if physics is not None and number not in self._from_network and physics.reads(number)
        )
        self._coarse = _CoarseBands(self.mask.shape, self.factor, wanted)
        # Cloud and fill on the matching grid: any cloud, any fill in a block.
        self._masks = _CoarseBands(self.mask.shape, self.factor, _MASKS, block_any, bool)
        self._potential = np.zeros(self._masks.bands[_CLOUD].shape, bool)
        self._strips: list = []  # the dark-pixel strips submitted, in row order
        self._seen_cloud = self._seen_shadow = False
        self._readers: list[SceneReader] = []
        self._pool = ThreadPoolExecutor(_THREADS, "cloud-fcn-shadow")
        taken = (*self._from_network, *self._from_physics)
        own = tuple(number for number in wanted if number not in taken)
        # The bands no strip brings are read while the network runs, not after it.
        self._own_read = self._pool.submit(self._read, self._open(own)) if own else None
        self.note = ""

    def __enter__(self) -> ShadowStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)  # before the files close
        for reader in self._readers:
            reader.close()

    def observe(self, row_off: int, mask: np.ndarray, raw: np.ndarray | None = None) -> None:
        """Take one strip of the mask (codes of :mod:`~..classes`), and of the network's
        bands as it read them (``raw``, as :meth:`~..scene.reader.SceneReader.read_raw`
        gives them)."""
        self.mask[row_off : row_off + mask.shape[0]] = mask
        with stage("shadow"):
            cloud = has_code(mask, CLOUD_CODES)
            self._seen_cloud = self._seen_cloud or bool(cloud.any())
            self._seen_shadow = self._seen_shadow or bool((mask == CLOUD_SHADOW).any())
            self._masks.add(row_off, {_CLOUD: cloud, _FILL: mask == NODATA})
            if raw is not None and self._from_network:
                self._coarse.add(row_off, {n: raw[c] for n, c in self._from_network.items()})
                self._scale_network_rows()
            from_physics = {n: self._physics.strip_band(row_off, n) for n in self._from_physics}
            if from_physics and all(band is not None for band in from_physics.values()):
                self._coarse.add(row_off, from_physics)  # else read once the pass is over
            if self._seen_cloud:
                self._submit_ready()

    def _scale_network_rows(self) -> None:
        """Scale the network's bands on the matching grid as far as their rows are in.

        They are reduced as read (block means of the stored values) and scaled once on
        the coarse grid, a quarter of the pixels: the scaling is linear, so the scaled
        mean is the mean of the scaled pixels wherever a block holds no fill. Blocks that
        do are 0, as fill is in a read (and the dark-pixel tests leave them out).
        """
        first, last = self._scaled_rows, self._coarse.coarse_rows(tuple(self._from_network))
        fill = self._masks.bands[_FILL][first:last]
        for number, scaling in self._network_scaling.items():
            rows = self._coarse.bands[number][first:last]
            to_reflectance(rows[None], scaling)  # in place: float32 and writable
            rows[fill] = 0.0
        self._scaled_rows = last

    def finish(self) -> np.ndarray:
        """The gathered mask with its cloud shadow (code 3); :attr:`note` says what was done."""
        with stage("shadow"):
            return self._with_shadow()

    def _open(self, numbers: tuple[int, ...]) -> tuple[SceneReader, dict[int, int]]:
        """A reader of Landsat bands ``numbers``, and the channel of each in its reads."""
        scene, product = self._scene, self._product
        if set(numbers) <= set(scene.info.landsat_bands):
            reader = open_scene(scene, product=product, model_bands=numbers)
            channels = {number: i for i, number in enumerate(numbers)}
        else:  # a stack without named bands: red, green, blue, NIR as the network reads it
            reader = open_scene(scene, product=product, bands=self._bands)
            channels = {_RED: 0, _NIR: 3}
        self._readers.append(reader)
        return reader, channels

    def _read(self, opened: tuple[SceneReader, dict[int, int]]) -> None:
        """Read bands strip by strip onto the coarse grid (``opened``: see :meth:`_open`)."""
        reader, channels = opened
        height, width = self.mask.shape
        with stage("shadow"):
            for row_off in range(0, height, _STRIP_ROWS):
                stack, _ = reader.read(row_off, 0, min(_STRIP_ROWS, height - row_off), width)
                self._coarse.add(row_off, {n: stack[i] for n, i in channels.items()})

    def _read_missing(self) -> None:
        """Wait for the stage's own bands; read any that no strip brought."""
        if self._own_read is not None:
            self._own_read.result()
        missing = self._coarse.missing()
        if missing:
            reader, channels = self._open(missing)
            self._read((reader, {n: channels[n] for n in missing}))

    def _with_shadow(self) -> np.ndarray:
        mask, factor = self.mask, self.factor
        cloud = self._masks.bands[_CLOUD]
        if not self._seen_cloud:
            self.note = "Shadow: no cloud, so no shadow."
            geometric = np.zeros(cloud.shape, bool)
        else:
            self._read_missing()
            self._submit_ready()
            for done in self._strips:
                done.result()
            valid = ~self._masks.bands[_FILL]
            cloud &= valid
            params = coarse_params(ShadowParams(), factor)
            # The basins on the stage's thread while this one finds the cloud objects.
            basins = self._pool.submit(self._basins, cloud, valid)
            parts = cloud_pieces(cloud, params.piece_px, params.min_pixels, params.max_samples)
            self._potential |= basins.result()
            result = match_shadows(
                cloud, self._potential, valid, self.plan.sun, self._pixel_size() * factor,
                params=params, parts=parts,
            )  # fmt: skip
            del parts
            geometric = result.mask
            why = f"{self.plan.note}; " if self.plan.note else ""
            grid = f" (on a {factor}x coarser grid)" if factor > 1 else ""
            self.note = f"Shadow by geometry: {why}{result.note}{grid}."
        self._coarse = self._masks = self._potential = None
        if self._seen_shadow:
            mask[mask == CLOUD_SHADOW] = CLEAR  # the network's own shadow gives way
        _mark_clear(mask, geometric, factor)
        return mask

    def _submit_ready(self) -> None:
        """Submit the dark-pixel strips whose rows and halo are all in, in row order."""
        height = self.mask.shape[0]
        filled = min(self._coarse.filled(), self._masks.filled())
        while (row_off := len(self._strips) * _STRIP_ROWS) < height:
            if min(row_off + _STRIP_ROWS + POTENTIAL_HALO, height) > filled:
                return
            self._strips.append(self._pool.submit(self._potential_strip, row_off))

    @timed("shadow")
    def _potential_strip(self, row_off: int) -> None:
        """Dark pixels of the scene rows from ``row_off``, with the halo the flood fill needs."""
        factor, bands, masks = self.factor, self._coarse.bands, self._masks.bands
        height = self.mask.shape[0]
        top = max(row_off - POTENTIAL_HALO, 0) // factor
        bottom = -(-min(row_off + _STRIP_ROWS + POTENTIAL_HALO, height) // factor)
        rows = slice(top, bottom)
        swir1 = bands.get(_SWIR1)
        dark = potential_shadow(
            bands[_NIR][rows], None if swir1 is None else swir1[rows], ~masks[_FILL][rows],
            red=bands[_RED][rows], cloud=masks[_CLOUD][rows],
        )  # fmt: skip
        first = row_off // factor - top
        count = -(-(min(row_off + _STRIP_ROWS, height) - row_off) // factor)
        # Strips write rows of their own: on both cores (numpy lets go of the GIL).
        self._potential[row_off // factor : row_off // factor + count] = dark[first : first + count]

    @timed("shadow")
    def _basins(self, cloud: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Dark pixels of basins wider than the strips' closing (Fmask's fill), whole scene.

        The last use of the bands: they go as soon as it is done (61 MB each on a 7,800²
        scene), before the labelling of the cloud objects beside it peaks.
        """
        bands = self._coarse.bands
        self._coarse = None
        return basin_shadow(
            bands[_NIR], bands.get(_SWIR1), valid, red=bands[_RED], cloud=cloud
        )  # fmt: skip

    def _pixel_size(self) -> float:
        """Metres per pixel from the grid; Landsat's 30 m where the grid is not in metres."""
        crs, transform = self._grid
        size = abs(transform.a)
        if crs is None or not crs.is_projected or size <= 1.0:
            return _LANDSAT_METRES
        return float(size) * float(crs.linear_units_factor[1])


class _CoarseBands:
    """Bands on the coarse grid, filled strip by strip from the top, each band on its own.

    A strip whose row count is not a multiple of the factor leaves its last rows for the
    next strip (the strips of a run follow each other), so every block is reduced over
    the same pixels as a whole-scene :func:`block_mean` (or ``reduce``) would.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        factor: int,
        numbers: tuple,
        reduce=None,
        dtype: type = np.float32,
    ) -> None:
        self.shape, self.factor = shape, factor
        self._reduce = reduce or _coarse
        coarse = (-(-shape[0] // factor), -(-shape[1] // factor))
        self.bands = {number: np.zeros(coarse, dtype) for number in numbers}
        self._filled = {number: 0 for number in numbers}  # scene rows done, from the top
        self._carry: dict = {}

    def coarse_rows(self, numbers: tuple) -> int:
        """Rows of the coarse grid, from the top, that bands ``numbers`` all have."""
        filled = min(self._filled[n] for n in numbers)
        return -(-filled // self.factor) if filled >= self.shape[0] else filled // self.factor

    def missing(self) -> tuple:
        """The bands not yet filled to the bottom of the scene."""
        return tuple(n for n, rows in self._filled.items() if rows < self.shape[0])

    def filled(self) -> int:
        """Scene rows, from the top, that every band has."""
        return min(self._filled.values())

    def add(self, row_off: int, bands: dict) -> None:
        """Add full-width rows from ``row_off`` of some bands (reflectance, fill 0)."""
        factor, height = self.factor, self.shape[0]
        for number, band in bands.items():
            carry = self._carry.pop(number, None)
            if carry is not None and self._filled[number] + len(carry) == row_off:
                band, row_off_here = np.concatenate([carry, band]), row_off - len(carry)
            else:
                row_off_here = row_off
            end = row_off_here + band.shape[0]
            whole = band.shape[0] if end >= height else band.shape[0] // factor * factor
            if whole < band.shape[0]:
                self._carry[number] = band[whole:].copy()
            first = row_off_here // factor
            part = self._reduce(band[:whole], factor)
            self.bands[number][first : first + part.shape[0]] = part
            self._filled[number] = row_off_here + whole


def _coarse(band: np.ndarray, factor: int) -> np.ndarray:
    return band if factor == 1 else block_mean(band, factor)


def _mark_clear(mask: np.ndarray, coarse: np.ndarray, factor: int) -> None:
    """Mark ``coarse`` shadow (a grid ``factor`` times coarser) on ``mask``'s clear pixels."""
    height, width = mask.shape
    for first in range(0, coarse.shape[0], _MARK_ROWS):
        part = coarse[first : first + _MARK_ROWS]
        if not part.any():
            continue
        top = first * factor
        shadow = block_expand(part, factor, (min(part.shape[0] * factor, height - top), width))
        window = mask[top : top + shadow.shape[0]]
        shadow &= window == CLEAR
        window[shadow] = CLOUD_SHADOW
