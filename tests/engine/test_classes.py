"""The classes: channel layouts, the per-pixel decision, a multi-class model end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from cloud_fcn_plugin.engine.classes import (
    CODE_NAMES,
    ChannelLayout,
    describe_codes,
    has_code,
    parse_mask_classes,
)
from cloud_fcn_plugin.engine.errors import ParameterError
from cloud_fcn_plugin.engine.inference.decision import ClassCounts, classify
from cloud_fcn_plugin.engine.inference.predictor import probability_layers
from cloud_fcn_plugin.engine.models import build_model
from cloud_fcn_plugin.engine.models.checkpoint_metadata import CheckpointMetadata
from cloud_fcn_plugin.engine.models.checkpoints import save_checkpoint
from cloud_fcn_plugin.engine.params import DetectionParams
from cloud_fcn_plugin.engine.pipeline import detect_clouds
from tests.conftest import write_geotiff

FOUR = ("clear", "thick_cloud", "thin_cloud", "cloud_shadow")


class TestCodes:
    def test_codes_and_names(self) -> None:
        assert CODE_NAMES == {0: "clear", 1: "thick cloud", 2: "thin cloud", 3: "cloud shadow"}

    @pytest.mark.parametrize(
        ("text", "codes"),
        [
            (None, (1, 2, 3)),
            ("thick,thin,shadow", (1, 2, 3)),
            ("shadow, thick", (1, 3)),
            ("THIN", (2,)),
            ([1, 3], (1, 3)),
            ("1,2", (1, 2)),
        ],
    )
    def test_parse_mask_classes(self, text: object, codes: tuple[int, ...]) -> None:
        assert parse_mask_classes(text) == codes  # type: ignore[arg-type]

    @pytest.mark.parametrize("text", ["clear", "rain", "", "thick,fog", "0"])
    def test_bad_mask_classes_say_what_to_do(self, text: str) -> None:
        with pytest.raises(ParameterError, match="thick, thin and shadow"):
            parse_mask_classes(text)

    def test_describe(self) -> None:
        assert describe_codes((3, 1)) == "thick cloud and cloud shadow"
        assert describe_codes((1, 2, 3)) == "thick cloud, thin cloud and cloud shadow"

    def test_params_take_the_words(self) -> None:
        assert DetectionParams(mask_classes="thick,shadow").mask_classes == (1, 3)  # type: ignore[arg-type]


class TestLayout:
    @pytest.mark.parametrize(
        ("classes", "layers"),
        [
            (("cloud",), ("cloud",)),
            (FOUR, ("cloud", "thin", "shadow")),
            (("clear", "cloud", "cloud_shadow"), ("cloud", "shadow")),
            (("clear", "thick_cloud", "thin_cloud"), ("cloud", "thin")),
            (("clear", "thin_cloud"), ("cloud",)),
        ],
    )
    def test_layers(self, classes: tuple[str, ...], layers: tuple[str, ...]) -> None:
        assert ChannelLayout(classes).layers == layers

    def test_probability_layers_of_four_channels(self) -> None:
        logits = torch.log(torch.tensor([0.1, 0.5, 0.3, 0.1])).view(1, 4, 1, 1)
        layers = probability_layers(logits, ChannelLayout(FOUR))
        torch.testing.assert_close(layers.view(3), torch.tensor([0.8, 0.3, 0.1]))

    def test_one_channel_is_a_sigmoid(self) -> None:
        logits = torch.tensor([0.0, 2.0]).view(1, 1, 1, 2)
        layers = probability_layers(logits, ChannelLayout())
        torch.testing.assert_close(layers, torch.sigmoid(logits))


class TestClassify:
    def _mask(self, p: list[tuple[float, float, float]], **kw: float) -> list[int]:
        """Classify pixels given as (p_thick, p_thin, p_shadow)."""
        thick, thin, shadow = (np.array([[v[i] for v in p]], np.float32) for i in range(3))
        layers = np.stack([thick + thin, thin, shadow])
        valid = np.ones(thick.shape, bool)
        return classify(layers, valid, ChannelLayout(FOUR), kw.get("t", 0.5), kw.get("s", 0.5))[
            0
        ].tolist()

    def test_every_rule(self) -> None:
        pixels = [
            (0.6, 0.1, 0.0),  # cloud, thick > thin: 1
            (0.2, 0.4, 0.0),  # cloud, thin > thick: 2
            (0.3, 0.3, 0.0),  # a tie is thick: 1
            (0.3, 0.1, 0.55),  # not cloud (0.4), shadow above 0.5: 3
            (0.3, 0.25, 0.45),  # cloud 0.55 beats shadow: 1
            (0.1, 0.1, 0.4),  # nothing: 0
        ]
        assert self._mask(pixels) == [1, 2, 1, 3, 1, 0]

    def test_shadow_threshold(self) -> None:
        assert self._mask([(0.0, 0.0, 0.35)], s=0.3) == [3]
        assert self._mask([(0.0, 0.0, 0.35)], s=0.4) == [0]

    def test_nodata_and_cloud_only(self) -> None:
        layers = np.array([[[0.7, 0.2, 0.9]]], np.float32)
        valid = np.array([[True, True, False]])
        assert classify(layers, valid, ChannelLayout(), 0.5).tolist() == [[1, 0, 255]]

    def test_only_thin_model_gives_thin_cloud(self) -> None:
        layers = np.array([[[0.7, 0.2]]], np.float32)
        mask = classify(layers, np.ones((1, 2), bool), ChannelLayout(("clear", "thin_cloud")), 0.5)
        assert mask.tolist() == [[2, 0]]

    def test_counts(self) -> None:
        counts = ClassCounts()
        counts.add(np.array([[0, 1, 2, 3, 255, 1, 1, 3]], np.uint8))
        assert counts.pixels == {0: 1, 1: 3, 2: 1, 3: 2}
        assert counts.valid == 7
        assert counts.cloud_cover == pytest.approx(400 / 7)
        assert counts.shadow_cover == pytest.approx(200 / 7)

    def test_counts_of_a_mask_larger_than_a_chunk_are_a_bincounts(self) -> None:
        mask = np.random.default_rng(3).choice(
            np.array([0, 1, 2, 3, 4, 255], np.uint8), size=(700, 900)
        )[:, ::2]  # not contiguous either
        counts = ClassCounts()
        counts.add(mask)
        expected = np.bincount(mask.ravel(), minlength=256)
        assert counts.pixels == {code: int(expected[code]) for code in (0, 1, 2, 3)}


def four_class_checkpoint(path: Path) -> Path:
    """A pixel_linear model whose class logits are the input bands themselves.

    Logit of clear, thick, thin, shadow = red, green, blue, NIR (normalised input, mean
    0, std 1), so the mask of any pixel follows from its four values by arithmetic.
    """
    model = build_model("pixel_linear", out_channels=4)
    conv = model.linear
    with torch.no_grad():
        conv.weight.copy_(torch.eye(4).view(4, 4, 1, 1))
        conv.bias.zero_()
    meta = CheckpointMetadata(
        "pixel_linear", {"in_channels": 4, "out_channels": 4}, classes=FOUR,
        threshold=0.5, shadow_threshold=0.5, tile_size=32, overlap=4,
    )  # fmt: skip
    save_checkpoint(path, model, meta)
    return path


class TestFourClassModel:
    def test_mask_probabilities_and_covers(self, tmp_path: Path) -> None:
        weights = four_class_checkpoint(tmp_path / "four.safetensors")
        # Each pixel: (red = clear, green = thick, blue = thin, NIR = shadow) logits.
        pixel = {
            0: (5.0, 0.0, 0.0, 0.0),
            1: (0.0, 5.0, 0.0, 0.0),
            2: (0.0, 1.0, 5.0, 0.0),
            3: (0.0, 0.0, 0.0, 5.0),
        }
        codes = np.tile(np.array([0, 1, 2, 3, 1, 0, 0, 0]), (50, 9))[:, :70]
        rgbn = np.zeros((4, *codes.shape), np.float32)
        for code, values in pixel.items():
            for band, value in enumerate(values):
                rgbn[band][codes == code] = value
        stack = rgbn[[2, 1, 0, 3]]  # written in B2, B3, B4, B5 order
        stack[:, :, -3:] = 0.0  # fill
        expected = codes.astype(np.uint8)
        expected[:, -3:] = 255
        scene = write_geotiff(tmp_path / "scene.tif", stack)
        params = DetectionParams(
            weights=weights, product="toa", probability=tmp_path / "p.tif", device="cpu",
            shadow="network",  # the model's own classes: shadow by geometry is tested apart
        )
        result = detect_clouds(scene, tmp_path / "mask.tif", params)
        with rasterio.open(tmp_path / "mask.tif") as dataset:
            np.testing.assert_array_equal(dataset.read(1), expected)
            assert dataset.colormap(1)[3][:3] == (90, 40, 130)
        with rasterio.open(tmp_path / "p.tif") as dataset:
            assert dataset.count == 3
            assert dataset.descriptions == (
                "cloud probability (thick + thin)", "thin cloud probability",
                "cloud shadow probability",
            )  # fmt: skip
            cloud, thin, shadow = dataset.read()
        e5 = np.exp(5.0)
        assert cloud[0, 1] == pytest.approx((e5 + 1) / (e5 + 3), rel=1e-4)  # thick + thin
        assert thin[0, 2] == pytest.approx(e5 / (e5 + np.e + 2), rel=1e-4)
        assert shadow[0, 3] == pytest.approx(e5 / (e5 + 3), rel=1e-4)
        valid = expected != 255
        assert result.class_pixels == {c: int((expected[valid] == c).sum()) for c in range(4)}
        assert result.cloud_cover == pytest.approx(
            100.0 * np.isin(expected[valid], (1, 2)).mean()
        )
        assert result.shadow_cover == pytest.approx(100.0 * (expected[valid] == 3).mean())
        assert "cloud shadow" in result.summary()


class TestNetworkBesideQa:
    def test_network_run_reports_the_qa_cover_and_warns(
        self, tmp_path: Path, brightness_weights: Path
    ) -> None:
        name = "LC08_L1TP_016037_20170813_20170814_01_T1"
        folder = tmp_path / name
        folder.mkdir()
        # DN 5000 is TOA 0.0: clear for the brightness model.
        dark = np.full((1, 20, 20), 5000, np.uint16)
        for band in (2, 3, 4, 5):
            write_geotiff(folder / f"{name}_B{band}.TIF", dark)
        qa = np.full((1, 20, 20), 3 << 5, np.uint16)  # every pixel high-confidence cloud
        write_geotiff(folder / f"{name}_BQA.TIF", qa)
        seen: list[str] = []
        result = detect_clouds(
            folder, tmp_path / "mask.tif",
            DetectionParams(weights=brightness_weights, product="l1", device="cpu"),
            log=seen.append,
        )  # fmt: skip
        assert result.cloud_cover == 0.0
        assert result.qa_comparison is not None
        assert result.qa_comparison.qa.cloud_cover == pytest.approx(100.0)
        warning = (
            "The product's QA band flags 100.0 % cloud, this mask 0.0 %: check the mask; the "
            "probability layer shows where the network hesitated."
        )
        assert f"Warning: {warning}" in seen
        assert warning in result.messages


class TestPreview:
    def test_shadow_is_outlined_apart_from_cloud(self, tmp_path: Path) -> None:
        from cloud_fcn_plugin.engine.outputs.preview import (
            OUTLINE_RGB,
            SHADOW_OUTLINE_RGB,
            write_preview,
        )

        scene = write_geotiff(tmp_path / "scene.tif", np.full((4, 12, 12), 0.2, np.float32))
        codes = np.zeros((1, 12, 12), np.uint8)
        codes[0, 1:5, 1:5] = 2  # thin cloud
        codes[0, 7:11, 7:11] = 3  # shadow
        mask = write_geotiff(tmp_path / "mask.tif", codes, nodata=255)
        png = write_preview(scene, mask, tmp_path / "p.png", product="toa")
        with rasterio.open(png) as dataset:
            image = dataset.read()
        assert tuple(image[:, 1, 1]) == OUTLINE_RGB
        assert tuple(image[:, 7, 7]) == SHADOW_OUTLINE_RGB
        assert tuple(image[:, 0, 0]) not in (OUTLINE_RGB, SHADOW_OUTLINE_RGB)


@pytest.mark.parametrize(
    "codes", [(1, 2), (2, 1), (3,), (0, 1, 2, 3), (1, 3), (255,), (0, 255), ()]
)
def test_has_code_is_isin_for_every_value_of_a_byte(codes):
    mask = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(has_code(mask, codes), np.isin(mask, codes))
