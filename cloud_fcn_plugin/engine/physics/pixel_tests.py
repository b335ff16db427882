"""Fmask's per-pixel spectral tests (Zhu & Woodcock 2012; Zhu, Wang & Woodcock 2015).

Each test returns a :class:`TestResult`: the boolean mask and the names of the
sub-tests that ran, so a 4-band input (no SWIR, no thermal) degrades to the tests its
bands allow and says which were left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spectral import Bands, hot, ndsi, ndvi, nir_swir1_ratio, whiteness

#: 27 °C: Fmask's basic test calls nothing warmer cloud (brightness temperature).
BASIC_MAX_KELVIN = 300.15
#: 3.8 °C: Fmask's snow test; warmer pixels are not snow.
SNOW_MAX_KELVIN = 276.95
#: Cirrus reflectance (B9) Zhu 2015 divides by for a cirrus cloud probability.
CIRRUS_SCALE = 0.04


@dataclass(frozen=True)
class TestResult:
    """A test's outcome.

    Attributes:
        mask: True where the pixel passes (is cloud-like, water, snow ...).
        ran: names of the sub-tests applied.
        skipped: names of the sub-tests the input's bands did not allow.
    """

    __test__ = False  # not a pytest class

    mask: np.ndarray
    ran: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def _combine(parts: list[tuple[str, np.ndarray | None]], shape: tuple, how: str) -> TestResult:
    """AND (or OR) the parts that could be computed; a part given as None was skipped."""
    ran = tuple(name for name, mask in parts if mask is not None)
    skipped = tuple(name for name, mask in parts if mask is None)
    masks = [mask for _, mask in parts if mask is not None]
    if not masks:
        return TestResult(np.full(shape, how == "and"), ran, skipped)
    reduce = np.logical_and.reduce if how == "and" else np.logical_or.reduce
    return TestResult(reduce(masks), ran, skipped)


def basic_test(bands: Bands) -> TestResult:
    """Fmask's basic test: SWIR2 > 0.03, BT < 27 °C, NDSI < 0.8, NDVI < 0.8.

    The SWIR2 and NDSI parts need SWIR, the temperature part a thermal band.
    """
    snow = ndsi(bands)
    parts = [
        ("ndvi<0.8", ndvi(bands) < 0.8),
        ("ndsi<0.8", None if snow is None else snow < 0.8),
        ("swir2>0.03", None if bands.swir2 is None else bands.swir2 > 0.03),
        ("bt<27C", None if bands.temperature is None else bands.temperature < BASIC_MAX_KELVIN),
    ]
    return _combine(parts, np.shape(bands.blue), "and")


def whiteness_test(bands: Bands, limit: float = 0.7) -> TestResult:
    """Clouds are white: whiteness below ``limit`` (Fmask 0.7)."""
    return TestResult(whiteness(bands) < limit, ("whiteness<0.7",))


def hot_test(bands: Bands) -> TestResult:
    """Haze optimised transform above 0: haze and cloud, not clear land."""
    return TestResult(hot(bands) > 0, ("hot>0",))


def nir_swir1_test(bands: Bands) -> TestResult:
    """B5/B6 > 0.75: removes bright rock and desert, whose SWIR1 exceeds their NIR."""
    ratio = nir_swir1_ratio(bands)
    return _combine([("b5/b6>0.75", None if ratio is None else ratio > 0.75)],
                    np.shape(bands.blue), "and")


def water_test(bands: Bands) -> TestResult:
    """Fmask's water test: (NDVI < 0.01 and NIR < 0.11) or (NDVI < 0.1 and 0 < NIR < 0.05)."""
    index = ndvi(bands)
    nir = bands.nir
    mask = ((index < 0.01) & (nir < 0.11)) | ((index < 0.1) & (nir > 0) & (nir < 0.05))
    return TestResult(mask, ("water",))


def snow_test(bands: Bands, ndsi_min: float = 0.15) -> TestResult:
    """Fmask's snow test: NDSI > 0.15, NIR > 0.11, green > 0.1, BT < 3.8 °C.

    Without SWIR1 there is no NDSI and the test cannot tell snow from cloud: it passes
    nothing and says so (``skipped``).
    """
    snow = ndsi(bands)
    shape = np.shape(bands.blue)
    if snow is None:
        return TestResult(np.zeros(shape, bool), (), ("ndsi", "bt<3.8C"))
    parts = [
        (f"ndsi>{ndsi_min:g}", snow > ndsi_min),
        ("nir>0.11", bands.nir > 0.11),
        ("green>0.1", bands.green > 0.1),
        # A pixel without a temperature (thermal fill) passes, as a scene without B10 does.
        ("bt<3.8C", None if bands.temperature is None else ~(bands.temperature >= SNOW_MAX_KELVIN)),
    ]
    return _combine(parts, shape, "and")


def cirrus_probability(bands: Bands) -> np.ndarray | None:
    """Zhu 2015's cirrus cloud probability B9 / 0.04 (clipped at 0); None without B9."""
    if bands.cirrus is None:
        return None
    return np.maximum(bands.cirrus, 0.0).astype(np.float32) / np.float32(CIRRUS_SCALE)


def cirrus_test(bands: Bands, limit: float = 0.01) -> TestResult:
    """Cirrus band above ``limit`` (0.01): high thin ice cloud the other tests miss."""
    return _combine([("cirrus>0.01", None if bands.cirrus is None else bands.cirrus > limit)],
                    np.shape(bands.blue), "or")


def potential_cloud(bands: Bands) -> TestResult:
    """Fmask's potential cloud pixels: basic, whiteness, HOT and B5/B6 tests all passed."""
    results = [basic_test(bands), whiteness_test(bands), hot_test(bands), nir_swir1_test(bands)]
    mask = np.logical_and.reduce([r.mask for r in results])
    return TestResult(
        mask,
        tuple(n for r in results for n in r.ran),
        tuple(n for r in results for n in r.skipped),
    )
