"""The engine's sentences in French through the catalogue (common/engine_text.py).

Each sentence is made by the engine's own code, as a run makes it, so a reworded engine
sentence that no template matches any more fails here instead of reaching a French user
in English.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin import translation
from cloud_fcn_plugin.common.engine_call import qgis_wording
from cloud_fcn_plugin.common.engine_text import templates, translate_engine
from tests.conftest import DATA_DIR
from tests.plugin.english import english_words

pytestmark = pytest.mark.qgis


@pytest.fixture()
def french(qgis_app) -> Iterator[None]:
    translator = translation.PluginTranslator()
    if translator.install("fr") is None:
        pytest.skip("cloud_fcn_fr.qm is not compiled: `make i18n`")
    yield
    translator.remove()


def _qa_sentences() -> list[str]:
    from cloud_fcn_plugin.engine.inference.decision import ClassCounts
    from cloud_fcn_plugin.engine.scene.qa_band import FLAVOUR_NAMES, QaBand, QaComparison

    sentences = []
    for flavour in FLAVOUR_NAMES:
        comparison = QaComparison(
            QaBand(Path("LC80200392015216LGN00_BQA.TIF"), flavour),
            ClassCounts.of({0: 680, 1: 300, 2: 19, 3: 1}), ClassCounts.of({0: 948, 1: 50, 3: 2}),
        )
        assert comparison.warning() is not None
        sentences += [comparison.summary(), comparison.warning(),
                      f"Warning: {comparison.warning()}"]
    return sentences


def _model_sentences(sample: Path) -> list[str]:
    from cloud_fcn_plugin.engine.models.choice import BUNDLED, ENSEMBLE_SHORT, choose_model

    sentences = [choose_model(sample, "auto").reason]
    for name, model in BUNDLED.items():
        sentences += [choose_model(sample, name).reason, model.short, model.label]
    sentences += [choose_model(sample, "ensemble").reason, ENSEMBLE_SHORT]
    level2 = DATA_DIR / "scenes" / "LC08_L2SP_005009_20150710_C2_500m"
    if level2.is_dir():  # why auto runs the ensemble there, and what its physics does
        from cloud_fcn_plugin.engine.physics.stage import plan_fusion
        from cloud_fcn_plugin.engine.scene.opened import open_input

        sentences.append(choose_model(level2, "auto").reason)
        sentences.append(plan_fusion(open_input(level2), "sr", "ensemble", "auto").reason)
    return [*sentences, "product QA band"]


def _level_sentences(sample: Path) -> list[str]:
    from cloud_fcn_plugin.engine.scene.bands import LEVELS
    from cloud_fcn_plugin.engine.scene.reader import open_scene
    from cloud_fcn_plugin.engine.scene.scaling import infer_level, scaling_for

    sentences = []
    with open_scene(sample) as reader:
        sentences += reader.messages
    for product in LEVELS:
        with open_scene(sample, product=product) as reader:
            sentences += reader.messages
    samples = {
        "uint16": np.array([[8000, 9000], [12000, 30000]], np.uint16),
        "float32": np.array([[0.1, 0.2]], np.float32),
    }
    for dtype, values in samples.items():
        for names in ([], ["LC08_L1TP_016037_20170813_20170825_01_T1_B4.TIF"],
                      ["x_SR_B4.TIF"], ["x_B4_toa.tif"]):
            sentences.append(infer_level(dtype, values, names)[1])
    sentences.append(infer_level("uint16", np.array([[1000, 2000]], np.uint16))[1])
    sentences.append(infer_level("uint16", np.zeros((2, 2), np.uint16))[1])
    for level in LEVELS:
        for dtype in ("uint16", "float32"):
            sentences.append(f"Scaling: {scaling_for(level, dtype=dtype).reason}.")
    return sentences


def _refusals(tmp_path: Path, sample: Path) -> list[str]:
    import rasterio
    from rasterio.transform import from_origin

    from cloud_fcn_plugin.engine.errors import CloudFcnError
    from cloud_fcn_plugin.engine.scene.qa_band import require_qa_band
    from cloud_fcn_plugin.engine.scene.reader import open_scene

    sentences = []
    for name, count, dtype in (("rgb.tif", 3, "uint16"), ("picture.tif", 4, "uint8")):
        path = tmp_path / name
        with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=count,
                           dtype=dtype, crs="EPSG:32618",
                           transform=from_origin(0, 0, 30, 30)) as out:
            out.write(np.ones((count, 8, 8), dtype))
        with pytest.raises(CloudFcnError) as refused:
            open_scene(path).close()
        sentences.append(str(refused.value).splitlines()[0])
    with pytest.raises(CloudFcnError) as refused:
        require_qa_band(sample)
    return [*sentences, str(refused.value)]


class TestTheCatalogue:
    def test_every_engine_sentence_a_run_shows_is_french(self, french, tmp_path):
        sample = Path(__file__).resolve().parents[2] / "resources" / "sample" / (
            "LC80130312015295LGN00_B2-B5_toa_120m.tif")
        sentences = [*_qa_sentences(), *_model_sentences(sample), *_level_sentences(sample),
                     *_refusals(tmp_path, sample)]
        untranslated = {}
        for sentence in dict.fromkeys(sentences):
            shown = translate_engine(qgis_wording(sentence))
            if shown == qgis_wording(sentence) or english_words(shown):
                untranslated[sentence] = (shown, english_words(shown))
        assert not untranslated, untranslated

    def test_values_go_back_into_the_translation(self, french):
        shown = translate_engine(
            "The product's QA band flags 31.9 % cloud, this mask 5.2 %: check the mask; the "
            "probability layer shows where the network hesitated.")
        assert shown.startswith("La bande QA du produit signale 31.9 % de nuages, ce masque 5.2 %")
        assert translate_engine("Model: cloudfcn_rgbn.onnx (chosen).") == (
            "Modèle : cloudfcn_rgbn.onnx (choisi).")

    def test_english_without_a_translator_and_unknown_sentences_unchanged(self, qgis_app):
        sentence = "Model: 6-band (B2-B7: blue to SWIR2) (chosen)."
        assert translate_engine(sentence) == sentence
        assert translate_engine("Something new the engine says.") == (
            "Something new the engine says.")

    def test_every_template_has_a_french_translation(self, french):
        from cloud_fcn_plugin.common.engine_text import qt_translate

        missing = [t for t in templates()
                   if qt_translate(t) == t and english_words(re.sub(r"\{\w+\}", "", t))]
        assert not missing
