"""What users type: choices by name and a product's MTL or folder as ``INPUT`` (issue 18).

Items 7 and 12 of the review: ``MODEL_CHOICE=fullband`` and ``INPUT=..._MTL.txt`` were
refused by Processing and ``qgis_process`` although the command line takes both.
"""

from __future__ import annotations

import shutil

import pytest

from cloud_fcn_plugin.common.choices import MODEL_CHOICES
from cloud_fcn_plugin.processing.typed_values import TypedValueError, choice_index
from tests.plugin.qgis_subprocess import QGIS_PROCESS, REPO_ROOT, profile_dir, qgis_env, run

ALG = "cloud_fcn:detectclouds"
SAMPLE_NAME = "LC80130312015295LGN00_B2-B5_toa_120m.tif"
L2_PRODUCT = "scenes/LC08_L2SP_001070_20190114_C2_500m"
L2_MTL = "LC08_L2SP_001070_20190114_20200830_02_T2_MTL.txt"


def _run(parameters: dict) -> dict:
    from qgis import processing
    from qgis.core import QgsProcessingFeedback

    return processing.run(ALG, parameters, feedback=QgsProcessingFeedback())


class TestChoiceIndex:
    def test_names_become_indices_and_numbers_stay(self):
        assert choice_index("MODEL_CHOICE", "fullband", MODEL_CHOICES) == 2
        assert choice_index("MODEL_CHOICE", " RGBN ", MODEL_CHOICES) == 1
        assert choice_index("MODEL_CHOICE", "2", MODEL_CHOICES) == "2"
        assert choice_index("MODEL_CHOICE", 0, MODEL_CHOICES) == 0
        assert choice_index("MODEL_CHOICE", None, MODEL_CHOICES) is None

    def test_an_unknown_name_says_which_exist(self):
        with pytest.raises(TypedValueError, match=r"MODEL_CHOICE=full is not one of the "
                           r"choices: use one of auto \(0\), rgbn \(1\), fullband \(2\), "
                           r"sixband \(3\), qa \(4\), physics \(5\), ensemble \(6\)\."):
            choice_index("MODEL_CHOICE", "full", MODEL_CHOICES)


@pytest.fixture()
def sample(tmp_path):
    """A copy of the demo scene: QGIS writes .aux.xml beside what it reads."""
    return shutil.copy(REPO_ROOT / "resources" / "sample" / SAMPLE_NAME, tmp_path / SAMPLE_NAME)


@pytest.mark.qgis
class TestProcessing:
    def test_model_choice_by_name(self, qgis_processing, sample, tmp_path):
        results = _run({"INPUT": str(sample), "MODEL_CHOICE": "rgbn", "DEVICE": "cpu",
                        "OUTPUT": str(tmp_path / "mask.tif")})  # fmt: skip
        assert results["USED_MODEL"] == "4-band model"
        assert results["USED_DEVICE"] == "cpu"

    def test_fullband_by_name_reaches_the_model_choice(self, qgis_processing, sample, tmp_path):
        from qgis.core import QgsProcessingException

        with pytest.raises(QgsProcessingException, match="Model: 4-band"):
            _run({"INPUT": str(sample), "MODEL_CHOICE": "fullband",
                  "OUTPUT": str(tmp_path / "mask.tif")})  # fmt: skip
        assert not (tmp_path / "mask.tif").exists()

    def test_a_wrong_name_is_one_sentence(self, qgis_processing, sample, tmp_path):
        from qgis.core import QgsProcessingException

        with pytest.raises(QgsProcessingException, match=r"use one of auto \(0\), l1 \(1\)"):
            _run({"INPUT": str(sample), "PRODUCT": "level1",
                  "OUTPUT": str(tmp_path / "mask.tif")})  # fmt: skip

    def test_the_parameter_help_lists_the_names(self, qgis_processing):
        from qgis.core import QgsApplication

        alg = QgsApplication.processingRegistry().algorithmById(ALG)
        help_text = alg.parameterDefinition("MODEL_CHOICE").help()
        assert "auto (0), rgbn (1), fullband (2)" in help_text
        assert "*_MTL.txt" in alg.parameterDefinition("INPUT").help()

    @pytest.mark.data
    @pytest.mark.parametrize("given", ["mtl", "folder"])
    def test_a_product_mtl_or_folder_as_input(
        self, qgis_processing, data_dir, tiny_weights, tmp_path, given
    ):
        folder = data_dir / L2_PRODUCT
        source = folder / L2_MTL if given == "mtl" else folder
        results = _run({"INPUT": str(source), "MODEL": str(tiny_weights),
                        "OUTPUT": str(tmp_path / "mask.tif")})  # fmt: skip
        assert (tmp_path / "mask.tif").is_file()
        assert 0.0 <= results["CLOUD_COVER"] <= 100.0

    @pytest.mark.data
    def test_the_algorithm_dialog_takes_an_mtl_in_its_input_widget(
        self, qgis_processing, data_dir, qtbot
    ):
        """The toolbox's own dialog: an MTL chosen with the file selector passes the check."""
        from processing.gui.AlgorithmDialog import AlgorithmDialog
        from qgis.core import QgsApplication, QgsProcessingContext

        alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
        dialog = AlgorithmDialog(alg)
        qtbot.addWidget(dialog)
        context = QgsProcessingContext()
        mtl = data_dir / L2_PRODUCT / L2_MTL
        dialog.mainWidget().wrappers["INPUT"].setParameterValue(str(mtl), context)
        parameters = dialog.createProcessingParameters()
        assert parameters["INPUT"].endswith("_SR_B4.TIF")  # the product's red band file
        assert dialog.algorithm().checkParameterValues(parameters, context) == (True, "")

    @pytest.mark.data
    def test_a_folder_without_band_files_is_one_sentence(self, qgis_processing, tmp_path):
        from qgis.core import QgsProcessingException

        empty = tmp_path / "LC08_empty"
        empty.mkdir()
        (empty / "notes.txt").write_text("no bands here", encoding="utf-8")
        with pytest.raises(QgsProcessingException, match="holds no Landsat band files"):
            _run({"INPUT": str(empty), "OUTPUT": str(tmp_path / "mask.tif")})


@pytest.mark.qgis
@pytest.mark.slow
@pytest.mark.data
@pytest.mark.skipif(shutil.which(QGIS_PROCESS) is None, reason="qgis_process is not installed")
def test_qgis_process_takes_an_mtl_and_a_model_by_name(tmp_path, data_dir):
    import sys

    home = tmp_path / "home"
    home.mkdir()
    installed = run([sys.executable, str(REPO_ROOT / "scripts" / "install_dev.py"),
                     "--profile-dir", str(profile_dir(home))], qgis_env(home, hide_torch=False))
    assert installed.returncode == 0, installed.stderr
    output = tmp_path / "mask.tif"
    result = run(
        [QGIS_PROCESS, "run", ALG, "--", f"INPUT={data_dir / L2_PRODUCT / L2_MTL}",
         "MODEL_CHOICE=rgbn", f"OUTPUT={output}"],
        qgis_env(home, hide_torch=False),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "USED_MODEL:\t4-band model" in result.stdout
    assert output.is_file()
