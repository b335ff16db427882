"""The plugin in French: a QTranslator chosen by QGIS's locale, and a complete translation.

``make i18n`` updates ``cloud_fcn_plugin/i18n/cloud_fcn_fr.ts`` with pylupdate5 and compiles
the ``.qm`` that QGIS loads (``make test`` compiles it first).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

import cloud_fcn_plugin
from cloud_fcn_plugin import translation
from tests.plugin.qgis_subprocess import (
    QGIS_PROCESS,
    REPO_ROOT,
    profile_dir,
    qgis_env,
    run,
)

pytestmark = pytest.mark.qgis

TS_FILE = translation.I18N_DIR / "cloud_fcn_fr.ts"
QM_FILE = translation.I18N_DIR / "cloud_fcn_fr.qm"
PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(ts).getroot()
    return {
        (context.findtext("name"), message.findtext("source")): message.find("translation")
        for context in root.iter("context")
        for message in context.iter("message")
    }


@pytest.fixture()
def french(qgis_app) -> Iterator[translation.PluginTranslator]:
    """The plugin's French translation installed, removed afterwards."""
    if not QM_FILE.is_file():
        pytest.skip(f"{QM_FILE.name} is not compiled: `make i18n` (make test does it)")
    translator = translation.PluginTranslator()
    assert translator.install("fr_FR") == QM_FILE
    yield translator
    translator.remove()


@pytest.fixture()
def user_locale(qgis_app) -> Iterator:
    """Set QGIS's ``locale/userLocale`` for a test and restore it."""
    from qgis.core import QgsSettings

    settings = QgsSettings()
    before = settings.value("locale/userLocale", None)

    def set_locale(value: str) -> None:
        settings.setValue("locale/userLocale", value)

    yield set_locale
    if before is None:
        settings.remove("locale/userLocale")
    else:
        settings.setValue("locale/userLocale", before)


class TestTheFrenchTranslation:
    def test_every_message_is_translated_with_its_placeholders(self):
        messages = _messages(TS_FILE)
        assert len(messages) > 150
        for (context, source), translated in messages.items():
            assert translated.get("type") is None, f"unfinished in {context}: {source}"
            assert translated.text and translated.text.strip(), source
            assert sorted(PLACEHOLDER.findall(source)) == sorted(
                PLACEHOLDER.findall(translated.text)
            ), source

    @pytest.mark.skipif(shutil.which("pylupdate5") is None, reason="pylupdate5 is not installed")
    def test_it_holds_every_tr_string_of_the_plugin(self, tmp_path):
        """What `make i18n` would collect now: no string of the code is missing."""
        fresh = tmp_path / "fresh.ts"
        sources = sorted(
            str(path) for path in (REPO_ROOT / "cloud_fcn_plugin").rglob("*.py")
            if "engine" not in path.parts
        )
        subprocess.run(["pylupdate5", "-noobsolete", *sources, "-ts", str(fresh)],
                       check=True, capture_output=True)
        missing = set(_messages(fresh)) - set(_messages(TS_FILE))
        assert not missing, f"run `make i18n` and translate: {sorted(missing)}"


class TestTheTranslatorInQgis:
    def test_the_locale_chooses_the_file(self, user_locale):
        user_locale("fr_FR")
        assert translation.user_locale() == "fr_FR"
        if QM_FILE.is_file():  # fr_FR falls back to fr
            assert translation.translation_file(translation.user_locale()) == QM_FILE
        user_locale("de")
        assert translation.translation_file(translation.user_locale()) is None

    def test_the_algorithm_speaks_french(self, french, qgis_processing):
        from qgis.core import QgsApplication

        alg = QgsApplication.processingRegistry().createAlgorithmById("cloud_fcn:detectclouds")
        assert alg.displayName() == "Détecter les nuages et les ombres"
        assert alg.parameterDefinition("INPUT").description() == "Raster en entrée"
        assert "<h3>Finition du masque</h3>" in alg.shortHelpString()
        assert "Modèle toutes bandes (B2-B7, cirrus, thermique)" in (
            alg.parameterDefinition("MODEL_CHOICE").options()
        )

    def test_the_panel_speaks_french(self, french, qtbot, qgis_iface, qgis_processing):
        from cloud_fcn_plugin.gui.dock import DetectCloudsDock

        dock = DetectCloudsDock(qgis_iface, qgis_iface.mainWindow())
        qtbot.addWidget(dock)
        try:
            assert dock.windowTitle() == "Détecter les nuages et les ombres"
            assert dock.run_button.text() == "Exécuter"
            combo = dock.form.product_combo
            assert combo.itemText(0) == "Détection automatique"
        finally:
            dock.shutdown()

    def test_the_plugin_installs_it_for_qgis_locale_and_removes_it(
        self, user_locale, qgis_iface, no_provider
    ):
        if not QM_FILE.is_file():
            pytest.skip(f"{QM_FILE.name} is not compiled: `make i18n` (make test does it)")
        user_locale("fr")
        plugin = cloud_fcn_plugin.classFactory(qgis_iface)
        plugin.initGui()
        try:
            assert [a.text() for a in qgis_iface.toolbar.actions()] == [
                "Détecter les nuages et les ombres"]
            assert translation.tr("Detect clouds and shadows") == (
                "Détecter les nuages et les ombres")
        finally:
            plugin.unload()
        assert translation.tr("Detect clouds and shadows") == "Detect clouds and shadows"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(QGIS_PROCESS) is None, reason="qgis_process is not installed")
def test_qgis_process_speaks_the_profile_language(tmp_path):
    """qgis_process loads the plugin without a GUI: the translator is installed there too."""
    import sys

    if not QM_FILE.is_file():
        pytest.skip(f"{QM_FILE.name} is not compiled: `make i18n` (make test does it)")
    home = tmp_path / "home"
    home.mkdir()
    env = qgis_env(home, hide_torch=False)
    installed = run([sys.executable, str(REPO_ROOT / "scripts" / "install_dev.py"),
                     "--profile-dir", str(profile_dir(home))], env)
    assert installed.returncode == 0, installed.stderr
    ini = profile_dir(home) / "QGIS" / "QGIS3.ini"
    ini.write_text(ini.read_text(encoding="utf-8") + "\n[locale]\nuserLocale=fr\n",
                   encoding="utf-8")
    result = run([QGIS_PROCESS, "help", "cloud_fcn:detectclouds"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Détecter les nuages et les ombres (cloud_fcn:detectclouds)")
    assert "INPUT: Raster en entrée" in result.stdout
    assert "0 = dégagé, 1 = nuage épais" in result.stdout
