"""The product QA band: every bit rule on hand-made values, finding the band, --model qa."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from cloud_fcn_plugin.engine.errors import ParameterError, UnsupportedDataError
from cloud_fcn_plugin.engine.inference.decision import ClassCounts
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from cloud_fcn_plugin.engine.scene.qa_band import (
    C1,
    C2,
    PRE_COLLECTION,
    QaBand,
    QaComparison,
    agreement,
    decode_qa,
    find_qa_band,
    iter_qa_strips,
)
from tests.conftest import DATA_DIR, write_geotiff


def bit(*positions: int) -> int:
    return sum(1 << p for p in positions)


def confidence(first: int, level: int) -> int:
    """A two-bit confidence field starting at bit ``first`` (3 high, 2 medium, 1 low)."""
    return level << first


class TestCollection2:
    @pytest.mark.parametrize(
        ("value", "code"),
        [
            (bit(0), 255),  # fill
            (bit(0, 3), 255),  # fill wins over cloud
            (bit(1), 1),  # dilated cloud
            (bit(3), 1),  # cloud
            (bit(2), 2),  # cirrus
            (bit(2, 3), 1),  # cloud wins over cirrus
            (bit(4), 3),  # shadow
            (bit(3, 4), 1),  # cloud wins over shadow
            (bit(2, 4), 2),  # cirrus wins over shadow
            (bit(5), 0),  # snow is clear for the mask
            (bit(6), 0),  # clear
            (bit(7), 0),  # water
            (21824, 0),  # the usual clear-land value
            (22280, 1),  # the usual high-confidence cloud value (bits 3, 8, 9, 11, 12, 14)
            (bit(8, 9), 0),  # cloud confidence alone is not the cloud bit
        ],
    )
    def test_bit_rules(self, value: int, code: int) -> None:
        assert decode_qa(np.array([value], np.uint16), C2).tolist() == [code]


class TestCollection1:
    @pytest.mark.parametrize(
        ("value", "code"),
        [
            (bit(0), 255),
            (bit(0) | confidence(5, 3), 255),
            (confidence(5, 3), 1),  # high cloud confidence
            (confidence(5, 3) | bit(4), 1),
            (confidence(5, 2), 0),  # medium is not enough
            (bit(4) | confidence(5, 1), 0),  # the cloud bit alone is not high confidence
            (confidence(11, 3), 2),  # high cirrus confidence
            (confidence(11, 2), 0),
            (confidence(7, 3), 3),  # high shadow confidence
            (confidence(7, 2), 0),
            (confidence(5, 3) | confidence(11, 3) | confidence(7, 3), 1),
            (confidence(11, 3) | confidence(7, 3), 2),
            (confidence(9, 3), 0),  # snow/ice is clear for the mask
            (2720, 0),  # the usual clear value: low cloud, shadow, snow and cirrus
        ],
    )
    def test_bit_rules(self, value: int, code: int) -> None:
        assert decode_qa(np.array([value], np.uint16), C1).tolist() == [code]


class TestPreCollection:
    @pytest.mark.parametrize(
        ("value", "code"),
        [
            (bit(0), 255),
            (bit(0) | confidence(14, 3), 255),
            (confidence(14, 3), 1),
            (confidence(14, 2), 0),
            (confidence(12, 3), 2),
            (confidence(12, 3) | confidence(14, 3), 1),
            (confidence(12, 2), 0),
            (confidence(6, 3), 0),  # bits 6-7 are no shadow field here
            (confidence(10, 3), 0),  # snow/ice
            (confidence(4, 3), 0),  # water
            (20480, 0),  # the usual clear value (low cloud and cirrus confidence)
        ],
    )
    def test_bit_rules(self, value: int, code: int) -> None:
        assert decode_qa(np.array([value], np.uint16), PRE_COLLECTION).tolist() == [code]

    def test_unknown_layout(self) -> None:
        with pytest.raises(ValueError, match="unknown QA layout"):
            decode_qa(np.zeros(1, np.uint16), "c3")


def product(folder: Path, name: str, qa_suffix: str, qa: np.ndarray) -> Path:
    """A tiny product folder: B2-B5 (0.2 TOA, with fill where the QA says so) and a QA band."""
    folder.mkdir()
    for band in (2, 3, 4, 5):
        write_geotiff(folder / f"{name}_B{band}.TIF", np.full((1, *qa.shape), 10000, np.uint16))
    write_geotiff(folder / f"{name}_{qa_suffix}.TIF", qa[None].astype(np.uint16))
    return folder


class TestFindQaBand:
    def test_collection2(self, tmp_path: Path) -> None:
        name = "LC08_L2SP_001062_20201031_20201106_02_T2"
        folder = tmp_path / name
        folder.mkdir()
        for band in (2, 3, 4, 5):
            write_geotiff(folder / f"{name}_SR_B{band}.TIF", np.ones((1, 2, 2), np.uint16))
        write_geotiff(folder / f"{name}_QA_PIXEL.TIF", np.ones((1, 2, 2), np.uint16))
        qa = find_qa_band(folder)
        assert qa is not None and (qa.flavour, qa.path.name) == (C2, f"{name}_QA_PIXEL.TIF")
        # A band file of the product finds it too.
        assert find_qa_band(folder / f"{name}_SR_B4.TIF") == qa

    @pytest.mark.parametrize(
        ("name", "flavour"),
        [
            ("LC08_L1TP_016037_20170813_20170814_01_RT", C1),
            ("LC08_L1TP_016037_20170813_20170814_01_T1", C1),
            ("LC80200392015216LGN00", PRE_COLLECTION),
        ],
    )
    def test_bqa_collection_from_the_name(self, tmp_path: Path, name: str, flavour: str) -> None:
        folder = product(tmp_path / name, name, "BQA", np.zeros((2, 2)))
        qa = find_qa_band(folder)
        assert qa is not None and qa.flavour == flavour

    def test_bqa_of_unknown_collection_says_what_to_do(self, tmp_path: Path) -> None:
        folder = product(tmp_path / "scene", "myscene", "BQA", np.zeros((2, 2)))
        with pytest.raises(UnsupportedDataError, match="put the product's MTL file beside it"):
            find_qa_band(folder)

    def test_raster_and_folder_without_qa(self, tmp_path: Path) -> None:
        stack = write_geotiff(tmp_path / "stack.tif", np.ones((4, 2, 2), np.float32))
        assert find_qa_band(stack) is None
        name = "LC08_L1TP_016037_20170813_20170814_01_T1"
        folder = tmp_path / name
        folder.mkdir()
        for band in (2, 3, 4, 5):
            write_geotiff(folder / f"{name}_B{band}.TIF", np.ones((1, 2, 2), np.uint16))
        assert find_qa_band(folder) is None


class TestModelQa:
    def test_mask_is_the_decoded_band_streamed(self, tmp_path: Path) -> None:
        name = "LC08_L1TP_016037_20170813_20170814_01_T1"
        values = [0, confidence(5, 3), confidence(11, 3), confidence(7, 3), bit(0)]
        qa = np.array(values * 240, np.uint16).reshape(40, 30)  # 40 rows: several strips
        folder = product(tmp_path / name, name, "BQA", qa)
        out = tmp_path / "mask.tif"
        result = detect_clouds(folder, out, DetectionParams(model="qa"))
        with rasterio.open(out) as dataset:
            mask = dataset.read(1)
            assert dataset.tags(1)["CLASS_3"] == "cloud shadow"
        np.testing.assert_array_equal(mask, decode_qa(qa, C1))
        assert result.valid_pixels == 40 * 30 * 4 // 5
        assert result.cloud_cover == pytest.approx(50.0)  # thick + thin
        assert result.shadow_cover == pytest.approx(25.0)
        assert result.model == "product QA band"
        assert result.qa_comparison is None

    def test_small_strips(self, tmp_path: Path) -> None:
        qa = np.arange(0, 70, dtype=np.uint16).reshape(7, 10) * 97
        path = write_geotiff(tmp_path / "x_QA_PIXEL.TIF", qa[None])
        strips = list(iter_qa_strips(QaBand(path, C2), rows=3))
        assert [s.row_off for s in strips] == [0, 3, 6]
        np.testing.assert_array_equal(np.vstack([s.mask for s in strips]), decode_qa(qa, C2))

    def test_input_without_qa_band_gets_one_sentence(self, tmp_path: Path) -> None:
        stack = write_geotiff(tmp_path / "stack.tif", np.ones((4, 2, 2), np.float32))
        with pytest.raises(UnsupportedDataError, match="has no product QA band.*choose a network"):
            detect_clouds(stack, tmp_path / "mask.tif", DetectionParams(model="qa"))
        assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.tif"]

    def test_probability_is_refused(self, tmp_path: Path) -> None:
        name = "LC80200392015216LGN00"
        folder = product(tmp_path / name, name, "BQA", np.zeros((2, 2)))
        params = DetectionParams(model="qa", probability=tmp_path / "p.tif")
        with pytest.raises(ParameterError, match="has no probabilities"):
            detect_clouds(folder, tmp_path / "mask.tif", params)


class TestComparison:
    def _comparison(self, qa_cloud: int, mask_cloud: int) -> QaComparison:
        qa = ClassCounts.of({0: 1000 - qa_cloud, 1: qa_cloud})
        mask = ClassCounts.of({0: 1000 - mask_cloud, 1: mask_cloud})
        return QaComparison(QaBand(Path("x_BQA.TIF"), C1), qa, mask)

    def test_strong_difference_warns_in_words(self) -> None:
        warning = self._comparison(149, 37).warning()
        assert warning == (
            "The product's QA band flags 14.9 % cloud, this mask 3.7 %: check the mask; the "
            "probability layer shows where the network hesitated."
        )

    @pytest.mark.parametrize(("qa", "mask"), [(149, 120), (30, 0), (500, 420)])
    def test_close_covers_do_not_warn(self, qa: int, mask: int) -> None:
        assert self._comparison(qa, mask).warning() is None

    def test_agreement(self) -> None:
        a = np.array([0, 1, 2, 3, 255, 1], np.uint8)
        b = np.array([0, 1, 1, 3, 0, 255], np.uint8)
        assert agreement(a, b) == pytest.approx(75.0)


# The targets: --model qa against a direct decoding of the whole QA array with numpy.
REAL_PRODUCTS = [
    ("scenes/LC08_L2SP_001062_20201031_C2_600m", "QA_PIXEL", C2),
    ("scenes/LC08_L1TP_016037_20170813_C1_900m", "BQA", C1),
    ("scenes/LC80200392015216LGN00_L1T_30m", "BQA", PRE_COLLECTION),
]


def direct_decoding(qa: np.ndarray, flavour: str) -> np.ndarray:
    """The rules written out again on the whole array, independently of decode_qa."""
    qa = qa.astype(np.int64)
    fill = qa % 2 == 1
    if flavour == C2:
        cloud, cirrus, shadow = (qa // 2) % 2 + (qa // 8) % 2 > 0, (qa // 4) % 2 == 1, (
            qa // 16
        ) % 2 == 1
    elif flavour == C1:
        cloud, cirrus, shadow = (qa // 32) % 4 == 3, (qa // 2048) % 4 == 3, (qa // 128) % 4 == 3
    else:
        cloud, cirrus = (qa // 16384) % 4 == 3, (qa // 4096) % 4 == 3
        shadow = np.zeros_like(fill)
    return np.select([fill, cloud, cirrus, shadow], [255, 1, 2, 3], 0).astype(np.uint8)


@pytest.mark.data
@pytest.mark.parametrize(("relative", "suffix", "flavour"), REAL_PRODUCTS)
def test_model_qa_matches_the_products_qa_band(
    tmp_path: Path, relative: str, suffix: str, flavour: str
) -> None:
    folder = DATA_DIR / relative
    if not folder.is_dir():
        pytest.skip(f"real Landsat data not found at {folder} (set CLOUD_FCN_DATA)")
    qa_file = next(folder.glob(f"*_{suffix}.TIF"))
    with rasterio.open(qa_file) as dataset:
        expected = direct_decoding(dataset.read(1), flavour)
    result = detect_clouds(folder, tmp_path / "mask.tif", DetectionParams(model="qa"))
    with rasterio.open(tmp_path / "mask.tif") as dataset:
        mask = dataset.read(1)
    same = float(np.mean(mask == expected))
    assert same >= 0.99, f"{same:.4f} of the pixels match"
    assert result.valid_pixels == int(np.count_nonzero(expected != 255))


def test_masked_image_needs_the_bands_on_the_qa_grid(tmp_path: Path) -> None:
    from cloud_fcn_plugin.engine.errors import BandMismatchError

    name = "LC80200392015216LGN00"
    folder = product(tmp_path / name, name, "BQA", np.zeros((4, 4)))
    write_geotiff(folder / f"{name}_BQA.TIF", np.zeros((1, 8, 8), np.uint16))  # not the grid
    params = DetectionParams(model="qa", masked_image=tmp_path / "masked.tif")
    with pytest.raises(BandMismatchError, match="not on the grid of the product's bands"):
        detect_clouds(folder, tmp_path / "mask.tif", params)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_masked_image_of_the_qa_mask(tmp_path: Path) -> None:
    name = "LC80200392015216LGN00"
    qa = np.array([[0, 3 << 14], [3 << 12, 1]], np.uint16)
    folder = product(tmp_path / name, name, "BQA", qa)
    params = DetectionParams(model="qa", masked_image=tmp_path / "masked.tif", mask_classes="thick")
    detect_clouds(folder, tmp_path / "mask.tif", params)
    with rasterio.open(tmp_path / "masked.tif") as dataset:
        assert dataset.read(1).tolist() == [[10000, 0], [10000, 0]]  # thick and fill masked


class TestQaBandBelongsToItsScene:
    """Found by the product's own ID, 16-bit integers, on the bands' grid; else one line."""

    A = "LC08_L1TP_016037_20170813_20170814_01_T1"
    B = "LC08_L1TP_017036_20130419_20170505_01_T1"

    def two_products(self, tmp_path: Path) -> Path:
        from tests.engine.scene.test_mtl import c1_mtl_text

        folder = tmp_path / "both"
        folder.mkdir()
        for name, value, x in ((self.A, 0, 600000.0), (self.B, confidence(5, 3), 200000.0)):
            for band in (2, 3, 4, 5):
                write_geotiff(
                    folder / f"{name}_B{band}.TIF", np.full((1, 4, 4), 10000, np.uint16),
                    origin=(x, 4500000.0),
                )  # fmt: skip
            write_geotiff(
                folder / f"{name}_BQA.TIF", np.full((1, 4, 4), value, np.uint16),
                origin=(x, 4500000.0),
            )  # fmt: skip
            (folder / f"{name}_MTL.txt").write_text(c1_mtl_text(name))
        return folder

    def test_the_mtl_given_picks_its_own_qa_band(self, tmp_path: Path) -> None:
        folder = self.two_products(tmp_path)
        for name in (self.A, self.B):
            for given in (folder / f"{name}_MTL.txt", folder / f"{name}_B4.TIF"):
                qa = find_qa_band(given)
                assert qa is not None and qa.path.name == f"{name}_BQA.TIF", given.name
        result = detect_clouds(
            folder / f"{self.B}_MTL.txt", tmp_path / "b.tif", DetectionParams(model="qa")
        )
        assert result.cloud_cover == pytest.approx(100.0)  # B's QA band, not A's

    def test_a_folder_of_two_products_is_refused(self, tmp_path: Path) -> None:
        folder = self.two_products(tmp_path)
        with pytest.raises(UnsupportedDataError, match="holds 2 products.*MTL file of the one"):
            detect_clouds(folder, tmp_path / "m.tif", DetectionParams(model="qa"))
        assert not (tmp_path / "m.tif").exists()
        from cloud_fcn_plugin.engine.scene.reader import inspect_input

        with pytest.raises(UnsupportedDataError, match="holds 2 products"):
            inspect_input(folder)  # a network run on the folder: which product's bands?

    @pytest.mark.parametrize(
        ("qa", "match"),
        [
            (np.full((1, 4, 4), np.nan, np.float32), "float32 values, not the 16-bit"),
            (np.zeros((1, 4, 4), np.int32), "int32 values, not the 16-bit"),
            (np.zeros((1, 2, 2), np.uint16), r"\(2x2\) is not on the grid"),
        ],
    )
    def test_wrong_type_or_grid_is_refused(
        self, tmp_path: Path, qa: np.ndarray, match: str
    ) -> None:
        from cloud_fcn_plugin.engine.errors import CloudFcnError

        name = "LC80200392015216LGN00"
        folder = product(tmp_path / name, name, "BQA", np.zeros((4, 4)))
        write_geotiff(folder / f"{name}_BQA.TIF", qa)
        with pytest.raises(CloudFcnError, match=match) as error:
            detect_clouds(folder, tmp_path / "m.tif", DetectionParams(model="qa"))
        assert "\n" not in str(error.value)
        assert not (tmp_path / "m.tif").exists()

    def test_another_scenes_qa_band_under_this_name_is_refused(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.errors import BandMismatchError

        name = "LC80200392015216LGN00"
        folder = product(tmp_path / name, name, "BQA", np.zeros((4, 4)))
        other = np.zeros((1, 4, 4), np.uint16)
        write_geotiff(folder / f"{name}_BQA.TIF", other, origin=(200000.0, 3900000.0))
        with pytest.raises(BandMismatchError, match="belongs to another scene"):
            detect_clouds(folder, tmp_path / "m.tif", DetectionParams(model="qa"))

    def test_a_truncated_qa_band_is_one_line(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.errors import InputReadError

        name = "LC80200392015216LGN00"
        qa = np.arange(300 * 300, dtype=np.uint16).reshape(300, 300) % 4
        folder = product(tmp_path / name, name, "BQA", qa)
        band = folder / f"{name}_BQA.TIF"
        band.write_bytes(band.read_bytes()[: band.stat().st_size // 2])
        with pytest.raises(InputReadError, match=f"{name}_BQA.TIF") as error:
            detect_clouds(folder, tmp_path / "m.tif", DetectionParams(model="qa"))
        assert "\n" not in str(error.value)

    def test_an_all_fill_qa_band_is_said_to_be_empty(self) -> None:
        empty = QaComparison(QaBand(Path("x_QA_PIXEL.TIF"), C2), ClassCounts(), ClassCounts())
        mask = ClassCounts()
        mask.add(np.ones((4, 4), np.uint8))
        empty = QaComparison(empty.band, ClassCounts(), mask)
        assert "all fill" in empty.summary() and empty.warning() is None
