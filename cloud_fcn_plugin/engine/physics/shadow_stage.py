"""Cloud shadow in a run: the geometry after the network's mask, for every model.

The mask strips of the network (or of any model) are gathered into the scene's mask
(one byte a pixel); once the last strip is in, :class:`ShadowStage` finds the dark
pixels strip by strip from its own reader (red, NIR and SWIR1 where the input has it),
casts each cloud object along the sun (the MTL's angles, else the direction the scene
itself shows, :mod:`.shadow`) and returns the mask with its shadow. Where the network
has a shadow class, ``auto`` keeps the network's shadow patches that touch the
geometry's (out of fold on the Biome and ukis-csmask patches: the network's Jaccard
kept, its false shadow cut from 1.97 % to 0.44 % of the pixels of cloud patches without
shadow, docs/shadow_eval.md); for a cloud-only model the geometry is the shadow.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..classes import CLEAR, CLOUD_CODES, CLOUD_SHADOW, NODATA
from ..params import DetectionParams
from ..scene.opened import Scene
from ..scene.reader import SceneReader, open_scene
from ..timing import stage
from .shadow import (
    POTENTIAL_HALO,
    SunGeometry,
    match_shadows,
    match_shadows_coarse,
    potential_shadow,
)
from .shadow_cast import block_any
from .shadow_potential import block_mean

#: Rows of the dark-pixel pass (plus its halo above and below).
_STRIP_ROWS = 512
#: Scenes larger than this are matched on a grid twice as coarse: labels, coordinates and
#: casts of a 7,800² scene at 30 m took 1.1 GB and 5 s beside a 10 s network pass.
_FULL_GRID_PIXELS = 4096 * 4096
#: Landsat's grid, taken where the input's grid says nothing in metres.
_LANDSAT_METRES = 30.0
_RED, _NIR, _SWIR1 = 4, 5, 6
#: Landsat's sun-synchronous morning orbit never sees the sun higher than about 76°: an
#: MTL that says more was not written by USGS for this scene (a product rebuilt from
#: reflectance, say), and its direction is not trusted.
MAX_LANDSAT_SUN_ELEVATION = 80.0


@dataclass(frozen=True)
class ShadowPlan:
    """How one run finds cloud shadow.

    Attributes:
        mode: ``"geometry"`` (the geometry is the shadow) or ``"combined"`` (the
            network's shadow patches that touch the geometry's).
        sun: the scene's sun angles, None to estimate the direction from the scene.
        bands: Landsat bands read (red, NIR, SWIR1 where present).
        note: why the MTL's sun angles are not used, where they are not.
    """

    mode: str
    sun: SunGeometry | None
    bands: tuple[int, ...]
    note: str = ""


def plan_shadow(scene: Scene, choice: str, has_shadow_class: bool) -> ShadowPlan | None:
    """The shadow plan of a run, None where the network's own shadow (or none) stays.

    Args:
        scene: the run's input.
        choice: ``"auto"``, ``"geometry"`` or ``"network"`` (see ``DetectionParams``).
        has_shadow_class: the model marks cloud shadow itself.
    """
    if choice == "network":
        return None
    mode = "combined" if choice == "auto" and has_shadow_class else "geometry"
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
    bands = (_RED, _NIR, _SWIR1) if _SWIR1 in scene.info.landsat_bands else (_RED, _NIR)
    return ShadowPlan(mode, sun, bands, note)


def open_shadow_stage(
    stack: ExitStack, scene: Scene, params: DetectionParams, has_shadow_class: bool
) -> ShadowStage | None:
    """The run's shadow stage, entered on ``stack``; None where the model's own shadow stays.

    Args:
        stack: closes the stage's reader with the run.
        scene: the run's input.
        params: the run's parameters (``shadow``, ``product``, ``bands``).
        has_shadow_class: the model marks cloud shadow itself.
    """
    plan = plan_shadow(scene, params.shadow, has_shadow_class)
    if plan is None:
        return None
    return stack.enter_context(ShadowStage(scene, plan, params.product, params.bands))


class ShadowStage:
    """Gathers a run's mask strips, then adds the cloud shadow to them.

    Raises:
        CloudFcnError: the bands cannot be read (as :func:`open_scene`).
    """

    def __init__(
        self,
        scene: Scene,
        plan: ShadowPlan,
        product: str = "auto",
        bands: tuple[int, int, int, int] | None = None,
    ) -> None:
        self.plan = plan
        if set(plan.bands) <= set(scene.info.landsat_bands):
            self.reader: SceneReader = open_scene(scene, product=product, model_bands=plan.bands)
            self._channels = (0, 1, 2 if len(plan.bands) == 3 else None)
        else:  # a stack without named bands: red, green, blue, NIR as the network reads it
            self.reader = open_scene(scene, product=product, bands=bands)
            self._channels = (0, 3, None)
        self.mask = np.full((self.reader.height, self.reader.width), NODATA, np.uint8)
        self.note = ""

    def __enter__(self) -> ShadowStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()

    def observe(self, row_off: int, mask: np.ndarray) -> None:
        """Take one strip of the mask (codes of :mod:`~..classes`)."""
        self.mask[row_off : row_off + mask.shape[0]] = mask

    def finish(self) -> np.ndarray:
        """The gathered mask with its cloud shadow (code 3); :attr:`note` says what was done."""
        with stage("shadow"):
            return self._with_shadow()

    def _with_shadow(self) -> np.ndarray:
        mask = self.mask
        valid = mask != NODATA
        cloud = np.isin(mask, CLOUD_CODES)
        network = mask == CLOUD_SHADOW
        if not cloud.any():
            self.note = "Shadow: no cloud, so no shadow."
            geometric = np.zeros(mask.shape, bool)
        else:
            factor = 1 if mask.size <= _FULL_GRID_PIXELS else 2
            potential = self._potential(valid, cloud, factor)
            if factor == 1:
                result = match_shadows(cloud, potential, valid, self.plan.sun, self._pixel_size())
            else:
                result = match_shadows_coarse(
                    cloud, potential, valid, self.plan.sun, self._pixel_size(), factor
                )
            del potential
            geometric = result.mask
            why = f"{self.plan.note}; " if self.plan.note else ""
            self.note = f"Shadow by geometry: {why}{result.note}."
        shadow = _touching(network, geometric) if self.plan.mode == "combined" else geometric
        out = mask.copy()
        out[network & ~shadow] = CLEAR
        out[shadow & (mask == CLEAR)] = CLOUD_SHADOW
        return out

    def _potential(self, valid: np.ndarray, cloud: np.ndarray, factor: int) -> np.ndarray:
        """Dark pixels, strip by strip with the halo the flood fill needs, on the grid
        ``factor`` times coarser than the scene's (block means of the bands)."""
        height, width = self.mask.shape
        potential = np.zeros((-(-height // factor), -(-width // factor)), bool)
        for row_off in range(0, height, _STRIP_ROWS):
            top = max(row_off - POTENTIAL_HALO, 0)
            bottom = min(row_off + _STRIP_ROWS + POTENTIAL_HALO, height)
            stack, _ = self.reader.read(top, 0, bottom - top, width)
            rows = slice(top, bottom)
            bands = [None if i is None else _coarse(stack[i], factor) for i in self._channels]
            dark = potential_shadow(
                bands[1], bands[2], ~block_any(~valid[rows], factor), red=bands[0],
                cloud=block_any(cloud[rows], factor),
            )  # fmt: skip
            first = (row_off - top) // factor
            count = -(-(min(row_off + _STRIP_ROWS, height) - row_off) // factor)
            potential[row_off // factor : row_off // factor + count] = dark[first : first + count]
        return potential

    def _pixel_size(self) -> float:
        """Metres per pixel from the grid; Landsat's 30 m where the grid is not in metres."""
        crs, size = self.reader.crs, abs(self.reader.transform.a)
        if crs is None or not crs.is_projected or size <= 1.0:
            return _LANDSAT_METRES
        return float(size) * float(crs.linear_units_factor[1])


def _coarse(band: np.ndarray, factor: int) -> np.ndarray:
    return band if factor == 1 else block_mean(band, factor)


def _touching(patches: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The 8-connected patches of ``patches`` that touch ``reference`` (or lie within 1 px)."""
    if not patches.any() or not reference.any():
        return np.zeros(patches.shape, bool)
    labels, _ = ndimage.label(patches, structure=np.ones((3, 3), bool))
    near = ndimage.binary_dilation(reference, structure=np.ones((3, 3), bool))
    kept = np.unique(labels[near & patches])
    return np.isin(labels, kept[kept > 0])
