"""Cloud shadow by geometry: synthetic scenes made here, and one real labelled patch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cloud_fcn_plugin.engine.physics.shadow import (
    ShadowParams,
    SunGeometry,
    basin_shadow,
    block_mean,
    match_shadows,
    match_shadows_coarse,
    potential_shadow,
    scene_potential,
)
from cloud_fcn_plugin.engine.physics.shadow_cast import block_any, block_expand
from cloud_fcn_plugin.engine.physics.shadow_match import offsets_along, similarities
from cloud_fcn_plugin.engine.physics.shadow_objects import _rows_cols, cloud_objects, cloud_pieces
from cloud_fcn_plugin.engine.physics.shadow_potential import filled_level

SIDE = 256


def scene(clouds, shift, seed=0, water=None):
    """NIR and red of vegetated land with square clouds and their shadows ``shift`` away.

    Args:
        clouds: (row, col, size) of each square cloud.
        shift: (rows, cols) from each cloud to its shadow, or None for no shadow.
        water: (row0, row1, col0, col1) of a dark lake, or None.
    """
    rng = np.random.default_rng(seed)
    nir = (0.30 + 0.005 * rng.standard_normal((SIDE, SIDE))).astype(np.float32)
    red = np.full((SIDE, SIDE), 0.06, np.float32)
    cloud = np.zeros((SIDE, SIDE), bool)
    shadow = np.zeros((SIDE, SIDE), bool)
    for r, c, size in clouds:
        cloud[r : r + size, c : c + size] = True
        if shift is not None:
            rs, cs = r + shift[0], c + shift[1]
            shadow[max(rs, 0) : max(rs + size, 0), max(cs, 0) : max(cs + size, 0)] = True
    shadow &= ~cloud
    nir[shadow], red[shadow] = 0.10, 0.02
    if water is not None:
        r0, r1, c0, c1 = water
        nir[r0:r1, c0:c1], red[r0:r1, c0:c1] = 0.03, 0.05
    nir[cloud], red[cloud] = 0.60, 0.55
    return nir, red, cloud, shadow


def jaccard(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def sun_for(shift, distance_m_per_px_height=None):
    """The sun that casts shadows along ``shift`` (rows south, cols east)."""
    bearing = math.degrees(math.atan2(shift[1], -shift[0])) % 360.0
    return SunGeometry((bearing + 180.0) % 360.0, 45.0), bearing


VALID = np.ones((SIDE, SIDE), bool)
CLOUDS = [(40, 40, 30), (150, 60, 20), (60, 170, 25), (170, 170, 16)]
SHIFT = (24, -18)  # 30 px south-west: a 900 m cloud height at 45° and 30 m pixels


def test_sun_geometry():
    sun = SunGeometry(120.0, 45.0)
    assert sun.shadow_bearing_deg == pytest.approx(300.0)
    assert sun.pixels_per_metre(30.0) == pytest.approx(1 / 30.0)
    with pytest.raises(ValueError):
        SunGeometry(120.0, 0.0)


def test_offsets_along_points_the_right_way():
    shifts, distance = offsets_along(90.0, 1.0, 5.0)  # east: columns grow
    assert (shifts[:, 0] == 0).all() and (shifts[:, 1] > 0).all()
    assert shifts[-1, 1] == 5 and distance[0] >= 0.5
    shifts, _ = offsets_along(0.0, 1.0, 3.0)  # north: rows shrink
    assert (shifts[:, 0] < 0).all()


def test_potential_shadow_finds_dark_pixels_not_cloud_nor_water():
    nir, red, cloud, shadow = scene(CLOUDS, SHIFT, water=(200, 250, 10, 60))
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    assert pot[shadow].mean() > 0.95
    assert not (pot & cloud).any()
    assert pot[200:250, 10:60].mean() < 0.01  # water
    assert pot[~shadow & ~cloud].mean() < 0.02


def test_recovers_offset_with_sun_angles():
    nir, red, cloud, shadow = scene(CLOUDS, SHIFT)
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    sun, bearing = sun_for(SHIFT)
    result = match_shadows(cloud, pot, VALID, sun, 30.0, params=ShadowParams(buffer=0))
    assert result.bearing_deg == pytest.approx(bearing)
    assert not result.estimated
    assert result.matched == len(CLOUDS)
    assert np.allclose(result.distances_px, math.hypot(*SHIFT), atol=1.5)
    assert jaccard(result.mask, shadow) > 0.9
    assert not (result.mask & cloud).any()
    assert "sun angles" in result.note


def test_recovers_offset_without_sun_angles():
    nir, red, cloud, shadow = scene(CLOUDS, SHIFT)
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    _, bearing = sun_for(SHIFT)
    result = match_shadows(cloud, pot, VALID, None, 30.0, params=ShadowParams(buffer=0))
    assert result.estimated
    assert abs((result.bearing_deg - bearing + 180) % 360 - 180) <= 6
    assert jaccard(result.mask, shadow) > 0.8
    assert "estimated from the scene" in result.note


def test_eastward_shadows_need_sun_angles_or_westward_off():
    # Landsat and Sentinel-2 see the morning sun in the east: shadows fall west. A scene
    # whose shadows fall east (143°) is never given an eastward estimate (here four
    # clouds let a chance match to the north pass), unless told otherwise.
    east = (24, 18)
    nir, red, cloud, shadow = scene(CLOUDS, east)
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    found = match_shadows(cloud, pot, VALID, None, 30.0)
    assert found.bearing_deg is None or (found.bearing_deg - 170.0) % 360.0 <= 200.0
    params = ShadowParams(westward=False, buffer=0)
    free = match_shadows(cloud, pot, VALID, None, 30.0, params=params)
    assert jaccard(free.mask, shadow) > 0.8
    sun, _ = sun_for(east)
    assert jaccard(match_shadows(cloud, pot, VALID, sun, 30.0, params=params).mask, shadow) > 0.8


def test_coarse_grid_matches_like_the_fine_one():
    nir, red, cloud, shadow = scene(CLOUDS, SHIFT)
    sun, _ = sun_for(SHIFT)
    pot = potential_shadow(
        block_mean(nir, 2), None, VALID[::2, ::2], red=block_mean(red, 2),
        cloud=block_mean(cloud, 2) > 0, factor=4, closing_px=8,
    )
    result = match_shadows_coarse(cloud, pot, VALID, sun, 30.0, 2)
    assert result.mask.shape == cloud.shape
    assert jaccard(result.mask, shadow) > 0.8, result.note
    assert not (result.mask & cloud).any()
    assert "coarser grid" in result.note


def test_no_shadow_without_cloud():
    nir, red, _, _ = scene([], None, water=(10, 60, 10, 60))
    cloud = np.zeros((SIDE, SIDE), bool)
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    for sun in (None, SunGeometry(150.0, 40.0)):
        result = match_shadows(cloud, pot, VALID, sun, 30.0)
        assert not result.mask.any()
        assert "no cloud" in result.note


def test_water_darkness_is_not_matched():
    # Clouds without shadows (the sun overhead... or their shadows off the scene) and a lake.
    nir, red, cloud, _ = scene(CLOUDS, None, water=(100, 140, 100, 150))
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    assert not pot[100:140, 100:150].any()
    for sun in (None, SunGeometry(135.0, 45.0)):
        result = match_shadows(cloud, pot, VALID, sun, 30.0)
        assert not result.mask[100:140, 100:150].any()
        assert result.mask.mean() < 0.005


def test_dark_ground_without_shadow_gives_no_clear_direction():
    # Dark speckle everywhere, no shadow: every direction matches the same: chance.
    rng = np.random.default_rng(3)
    clouds = [(int(r), int(c), 12) for r, c in rng.integers(10, SIDE - 30, (12, 2))]
    nir, red, cloud, _ = scene(clouds, None)
    speckle = rng.random((SIDE, SIDE)) < 0.3
    nir[speckle & ~cloud] = 0.15
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    result = match_shadows(cloud, pot, VALID, None, 30.0)
    assert not result.mask.any(), result.note
    assert "no clear shadow direction" in result.note


def test_temperature_picks_the_height():
    # One cloud, two dark patches: at 600 m and 3,000 m; the cloud is 20 K colder than
    # the land: 2,000-3,800 m by the lapse rates, so the far one is its shadow.
    sun = SunGeometry(180.0, 45.0)  # shadows fall north
    nir, red, cloud, _ = scene([(200, 100, 12)], None)
    near = np.zeros_like(cloud)
    near[180:192, 100:112] = True
    far = np.zeros_like(cloud)
    far[100:112, 100:112] = True
    nir[near | far] = 0.1
    pot = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    params = ShadowParams(buffer=0)
    plain = match_shadows(cloud, pot, VALID, sun, 30.0, params=params)
    assert jaccard(plain.mask, near) > 0.9  # the first peak, as Fmask
    temperature = np.where(cloud, 280.0, 300.0).astype(np.float32)
    warm = match_shadows(cloud, pot, VALID, sun, 30.0, temperature, params)
    assert jaccard(warm.mask, far) > 0.9


def test_cloud_objects_drop_specks_and_sample():
    cloud = np.zeros((50, 50), bool)
    cloud[5:35, 5:35] = True
    cloud[45, 45] = True
    objects = cloud_objects(cloud, min_pixels=3, max_samples=100)
    assert objects.count == 1
    assert objects.sizes[0] == 900 and objects.sample_sizes[0] == 100
    assert objects.sample_rows.min() == 5 and objects.sample_rows.max() == 34


def test_cloud_objects_group_each_objects_pixels_in_raster_order():
    from scipy import ndimage

    cloud = np.random.default_rng(2).random((60, 70)) < 0.3
    objects = cloud_objects(cloud, min_pixels=3)
    labels, count = ndimage.label(cloud, structure=np.ones((3, 3), bool))
    pixels = [np.nonzero(labels == j) for j in range(1, count + 1)]
    kept = [(rows, cols) for rows, cols in pixels if len(rows) >= 3]
    assert objects.count == len(kept) > 10
    np.testing.assert_array_equal(objects.sizes, [len(rows) for rows, _ in kept])
    np.testing.assert_array_equal(objects.rows, np.concatenate([rows for rows, _ in kept]))
    np.testing.assert_array_equal(objects.cols, np.concatenate([cols for _, cols in kept]))


def test_shadow_outside_valid_and_on_cloud_is_never_marked():
    nir, red, cloud, shadow = scene(CLOUDS, SHIFT)
    valid = VALID.copy()
    valid[:, :40] = False
    pot = potential_shadow(nir, None, valid, red=red, cloud=cloud)
    sun, _ = sun_for(SHIFT)
    result = match_shadows(cloud, pot, valid, sun, 30.0)
    assert not (result.mask & ~valid).any()
    assert not (result.mask & cloud).any()


def test_real_small_cumulus_patch(data_dir):
    rasterio = pytest.importorskip("rasterio")
    folder = data_dir / "extra_labelled" / "ukis_csmask_patches"
    if not (folder / "sentinel2_img.tif").exists():
        pytest.skip(f"ukis-csmask patches not found in {folder}")
    with rasterio.open(folder / "sentinel2_img.tif") as src:
        bands = src.read().astype(np.float32)
    with rasterio.open(folder / "sentinel2_mask.tif") as src:
        label = src.read(1)
    cloud, truth, valid = label == 4, label == 0, np.ones(label.shape, bool)
    pot = potential_shadow(bands[3], None, valid, red=bands[2], cloud=cloud)
    result = match_shadows(cloud, pot, valid, None, 30.0)
    assert result.estimated and result.mask.any(), result.note
    assert jaccard(result.mask, truth) > 0.55, result.note
    assert not (result.mask & cloud).any()


class TestGrids:
    @pytest.mark.parametrize("shape", [(8, 8), (9, 7), (1, 5)])
    @pytest.mark.parametrize("factor", [1, 2, 3])
    def test_block_expand_repeats_each_coarse_pixel_over_its_block(self, shape, factor):
        coarse = np.random.default_rng(0).random(block_any(np.zeros(shape), factor).shape) < 0.5
        expected = np.repeat(np.repeat(coarse, factor, axis=0), factor, axis=1)
        np.testing.assert_array_equal(
            block_expand(coarse, factor, shape), expected[: shape[0], : shape[1]]
        )

    @pytest.mark.parametrize("shape", [(8, 8), (9, 7), (6, 9), (1, 5)])
    @pytest.mark.parametrize("factor", [1, 2, 3])
    def test_block_any_is_any_pixel_of_each_block(self, shape, factor):
        mask = np.random.default_rng(1).random(shape) < 0.2
        padded = np.zeros((-(-shape[0] // factor) * factor, -(-shape[1] // factor) * factor), bool)
        padded[: shape[0], : shape[1]] = mask
        rows, cols = padded.shape[0] // factor, padded.shape[1] // factor
        expected = padded.reshape(rows, factor, cols, factor).any(axis=(1, 3))
        np.testing.assert_array_equal(block_any(mask, factor), expected)

    def test_rows_and_columns_of_flat_indices_in_32_and_64_bits(self):
        flat = np.array([0, 5, 7801, 7800 * 7800 - 1])
        rows, cols = _rows_cols(flat, (7800, 7800))
        assert rows.dtype == cols.dtype == np.int32
        assert rows.tolist() == [0, 0, 1, 7799] and cols.tolist() == [0, 5, 1, 7799]
        # A grid of more than 2**31 pixels: flat indices past 32 bits, rows and columns within.
        rows, cols = _rows_cols(np.array([3 * 10**9 + 7]), (60_000, 60_000))
        assert (rows.tolist(), cols.tolist()) == ([50_000], [7])


@pytest.mark.parametrize("factor", [2, 3, 4, 8, 16])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_block_sums_are_those_of_a_reshape_to_the_bit(factor, dtype):
    from cloud_fcn_plugin.engine.physics.shadow_potential import _block_sums

    rng = np.random.default_rng(factor)
    array = rng.random((factor * 7, factor * 9)).astype(np.float32)
    if dtype is np.int32:
        array = (array > 0.5).view(np.uint8)
    rows, cols = array.shape
    expected = (
        array.reshape(rows // factor, factor, cols)
        .sum(axis=1, dtype=dtype)
        .reshape(rows // factor, cols // factor, factor)
        .sum(axis=2, dtype=dtype)
    )
    np.testing.assert_array_equal(_block_sums(array, factor, dtype), expected)


# --------------------------------------------------------------- large clouds (pieces, fill)
def _exact_fill(level):
    """Fmask's fill by its definition: reconstruction by erosion, 8-connected."""
    from scipy import ndimage

    marker = np.full_like(level, level.max())
    for edge in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        marker[edge] = level[edge]
    while True:
        grown = np.maximum(ndimage.grey_erosion(marker, size=(3, 3)), level)
        if np.array_equal(grown, marker):
            return grown
        marker = grown


def test_filled_level_is_the_fill_and_never_above_it():
    from scipy import ndimage

    level = ndimage.uniform_filter(np.random.default_rng(3).random((40, 50)), 5)
    level = np.round(level.astype(np.float32), 3)  # few distinct values: every one a step
    exact = _exact_fill(level)
    assert np.allclose(filled_level(level, steps=1000), exact, atol=1e-6)
    assert np.allclose(filled_level(level, steps=8), exact, atol=1e-6)  # bracketed, then exact
    unsettled = filled_level(level, steps=8, max_rounds=1)  # the lower bound
    assert (unsettled <= exact + 1e-6).all() and (unsettled >= level).all()
    assert not np.allclose(unsettled, exact, atol=1e-6)


def test_filled_level_is_exact_on_many_distinct_levels():
    from scipy import ndimage

    level = ndimage.uniform_filter(np.random.default_rng(4).random((60, 70)), 7).astype(np.float32)
    level[20:40, 30] = 1.0  # a wall
    assert np.unique(level).size > 1000
    np.testing.assert_allclose(filled_level(level), _exact_fill(level), atol=1e-6)


def big_cloud_scene(depth, top=40, size=120):
    """A cloud mass ``size`` px wide with its shadow ``depth`` px deep along its south edge."""
    rng = np.random.default_rng(1)
    nir = (0.30 + 0.005 * rng.standard_normal((SIDE, SIDE))).astype(np.float32)
    cloud = np.zeros((SIDE, SIDE), bool)
    cloud[top : top + size, 28 : 28 + size] = True
    shadow = np.zeros((SIDE, SIDE), bool)
    shadow[top + size : top + size + depth, 28 : 28 + size] = True
    nir[shadow], nir[cloud] = 0.10, 0.60
    return nir, np.full_like(nir, 0.06), cloud, shadow


def test_basin_shadow_finds_the_inside_of_a_wide_shadow():
    nir, red, cloud, shadow = big_cloud_scene(70)  # the closing fills 40 px
    closing = potential_shadow(nir, None, VALID, red=red, cloud=cloud)
    basins = basin_shadow(nir, None, VALID, red=red, cloud=cloud)
    assert basins[shadow].mean() > 0.95 > closing[shadow].mean()
    assert basins[~shadow & ~cloud].mean() < 0.01
    both = scene_potential(nir, None, VALID, red=red, cloud=cloud)
    assert np.array_equal(both, closing | basins)


def test_similarities_in_chunks_on_two_threads_are_the_same(monkeypatch):
    from cloud_fcn_plugin.engine.physics import shadow_match

    nir, red, cloud, shadow = scene(CLOUDS, SHIFT)
    objects = cloud_objects(cloud)
    offsets, _ = offsets_along(217.0, 1.0, 60.0)
    dark = scene_potential(nir, None, VALID, red=red, cloud=cloud)
    whole = similarities(objects, offsets, dark, cloud)
    monkeypatch.setattr(shadow_match, "_CHUNK", 150)  # an object or two a chunk
    np.testing.assert_array_equal(similarities(objects, offsets, dark, cloud), whole)
    assert whole.max() > 0.5


def test_similarities_are_the_share_of_free_shifted_samples_on_dark_pixels():
    from cloud_fcn_plugin.engine.physics.shadow_match import ShiftGrid

    rng = np.random.default_rng(5)
    cloud = rng.random((60, 80)) < 0.3
    dark = rng.random((60, 80)) < 0.4
    blocked = cloud | (rng.random((60, 80)) < 0.05)
    objects = cloud_objects(cloud, 1, 30)
    offsets, _ = offsets_along(300.0, 1.0, 70.0)  # far past the scene's edge
    expected = np.zeros((objects.count, len(offsets)), np.float32)
    for j in range(objects.count):
        a, b = objects.sample_starts[j], objects.sample_starts[j + 1]
        for k, (dr, dc) in enumerate(offsets):
            r, c = objects.sample_rows[a:b] + dr, objects.sample_cols[a:b] + dc
            inside = (r >= 0) & (r < 60) & (c >= 0) & (c < 80)
            free = ~blocked[r[inside], c[inside]]
            hits = dark[r[inside], c[inside]] & free
            if free.sum() >= max(1, 0.25 * (b - a)):
                expected[j, k] = hits.sum() / free.sum()
    np.testing.assert_array_equal(similarities(objects, offsets, dark, blocked), expected)
    # A grid made once for a wider reach serves; one that falls short is made again.
    wide = ShiftGrid(dark, blocked, np.array([[-90, -90], [90, 90]]))
    narrow = ShiftGrid(dark, blocked, offsets[:3])
    assert wide.covers(offsets) and not narrow.covers(offsets)
    for grid in (wide, narrow):
        np.testing.assert_array_equal(
            similarities(objects, offsets, dark, blocked, grid=grid), expected
        )


def test_cloud_pieces_are_the_same_in_bands_of_any_height(monkeypatch):
    from cloud_fcn_plugin.engine.physics import shadow_objects

    cloud = np.random.default_rng(6).random((90, 70)) < 0.5
    whole = cloud_pieces(cloud, 8, min_pixels=3)
    monkeypatch.setattr(shadow_objects, "_BAND_PIXELS", 150)  # two rows a band
    banded = cloud_pieces(cloud, 8, min_pixels=3)
    for one, other in zip(whole[:2], banded[:2], strict=True):
        for field in ("sizes", "rows", "cols", "starts", "sample_rows", "sample_cols"):
            np.testing.assert_array_equal(getattr(one, field), getattr(other, field))
    np.testing.assert_array_equal(whole[2], banded[2])


def test_cloud_pieces_cut_only_large_objects_into_grid_squares():
    cloud = np.zeros((SIDE, SIDE), bool)
    cloud[10:110, 10:110] = True  # 100² px: cut
    cloud[200:210, 200:210] = True  # 10² px: whole
    cloud[250, 250] = True  # a speck: dropped
    objects, pieces, owner = cloud_pieces(cloud, 32)
    assert objects.count == 2 and pieces.count == 16 + 1
    assert pieces.sizes.sum() == 100 * 100 + 10 * 10
    assert objects.rows.size == 0 and objects.sample_sizes.tolist() == [100, 100]
    assert owner.tolist() == [0] * 16 + [1] and pieces.sizes[:16].max() <= 32 * 32
    for j in range(pieces.count):  # every piece inside one grid square
        rows, cols = pieces.pixels(j)
        assert rows.size == pieces.sizes[j]
        assert len(set(zip((rows // 32).tolist(), (cols // 32).tolist(), strict=True))) == 1
    whole, same, owner = cloud_pieces(cloud, 0)
    assert whole is same and whole.count == 2 and owner.tolist() == [0, 1]


def test_cloud_pieces_are_each_objects_pixels_by_square_in_raster_order():
    from scipy import ndimage

    cloud = np.random.default_rng(3).random((120, 150)) < 0.55  # large tangled objects
    objects, pieces, owner = cloud_pieces(cloud, 8, min_pixels=3)
    labels, count = ndimage.label(cloud, structure=np.ones((3, 3), bool))
    expected = []
    for j in range(1, count + 1):
        rows, cols = np.nonzero(labels == j)
        if len(rows) < 3:
            continue
        if len(rows) <= 8 * 8:
            expected.append((rows, cols))
            continue
        square = (rows // 8) * 1000 + cols // 8
        expected += [(rows[square == s], cols[square == s]) for s in np.unique(square)]
    assert pieces.count == len(expected) > objects.count > 1
    for j, (rows, cols) in enumerate(expected):
        np.testing.assert_array_equal(np.stack(pieces.pixels(j)), np.stack([rows, cols]))
    np.testing.assert_array_equal(pieces.sizes, [len(r) for r, _ in expected])
    assert np.bincount(owner).sum() == pieces.count and np.all(np.diff(owner) >= 0)
    # Samples evenly spread over each piece, and over each object's pixels piece by piece.
    def evenly(rows, cols, most=100):
        taken = min(len(rows), most)
        picks = (np.arange(taken) * len(rows)) // max(taken, 1)
        return np.stack([rows[picks], cols[picks]])

    for j, (rows, cols) in enumerate(expected):
        a, b = pieces.sample_starts[j], pieces.sample_starts[j + 1]
        np.testing.assert_array_equal(
            np.stack([pieces.sample_rows[a:b], pieces.sample_cols[a:b]]), evenly(rows, cols)
        )
    for k in range(objects.count):
        mine = [expected[j] for j in np.flatnonzero(owner == k)]
        rows, cols = (np.concatenate(part) for part in zip(*mine, strict=True))
        a, b = objects.sample_starts[k], objects.sample_starts[k + 1]
        np.testing.assert_array_equal(
            np.stack([objects.sample_rows[a:b], objects.sample_cols[a:b]]), evenly(rows, cols)
        )


def test_a_cloud_mass_wider_than_its_shadow_distance_casts_its_shadow():
    # Shifted 24 px, 9/10 of it lands on itself; a quarter is free only past the shadow.
    nir, red, cloud, shadow = big_cloud_scene(24, top=20, size=200)
    pot = scene_potential(nir, None, VALID, red=red, cloud=cloud)
    sun = SunGeometry(0.0, 45.0)  # shadows fall south
    whole = match_shadows(cloud, pot, VALID, sun, 30.0, params=ShadowParams(piece_px=0))
    pieces = match_shadows(cloud, pot, VALID, sun, 30.0)
    assert whole.matched == 0  # its shifted samples land on itself: nothing seen
    assert pieces.matched == 1 and jaccard(pieces.mask, shadow) > 0.8
