"""``make package`` zip layout and ``make install`` dev links."""

from __future__ import annotations

import configparser
import shutil
import zipfile

import pytest

from tests.plugin.qgis_subprocess import REPO_ROOT, load_script

install_dev = load_script("install_dev")
package = load_script("package")


@pytest.fixture(scope="module")
def zip_names(tmp_path_factory) -> list[str]:
    archive = package.build(tmp_path_factory.mktemp("dist"))
    version = package.read_metadata(REPO_ROOT / "metadata.txt")["version"]
    assert archive.name == f"cloud_fcn_plugin-{version}.zip"
    with zipfile.ZipFile(archive) as opened:
        return opened.namelist()


class TestPackage:
    def test_one_top_folder_with_plugin_essentials(self, zip_names):
        assert {name.split("/")[0] for name in zip_names} == {"cloud_fcn_plugin"}
        for required in ("__init__.py", "metadata.txt", "LICENSE", "plugin.py",
                         "resources/icons/cloud_fcn.svg", "resources/styles/cloud_mask.qml"):
            assert f"cloud_fcn_plugin/{required}" in zip_names

    def test_help_page_ships_and_script_only_code_does_not(self, zip_names):
        assert "cloud_fcn_plugin/resources/help/index.html" in zip_names
        for name in zip_names:
            # Training, evaluation, Dask batch runs and previews are for the scripts only.
            assert "/engine/training/" not in name and "/engine/batch/" not in name
            assert not name.endswith("engine/outputs/preview.py")

    def test_no_tests_caches_or_build_files(self, zip_names):
        for name in zip_names:
            assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo"))
            assert "/tests/" not in name and "/." not in name and not name.endswith(".aux.xml")

    def test_translations_ship_compiled(self, zip_names):
        assert not any(name.endswith(".ts") for name in zip_names)
        assert "cloud_fcn_plugin/i18n/cloud_fcn_fr.qm" in zip_names

    def test_the_demo_sample_ships_with_its_default_style(self, zip_names):
        for name in ("LC80130312015295LGN00_B2-B5_toa_120m.tif",
                     "LC80130312015295LGN00_B2-B5_toa_120m.qml"):
            assert f"cloud_fcn_plugin/resources/sample/{name}" in zip_names

    def test_metadata_has_what_plugins_qgis_org_requires(self):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
        general = parser["general"]
        assert general["hasProcessingProvider"] == "yes"
        assert general["category"] == "Raster"
        assert general["qgisMinimumVersion"] == "3.22"
        # Experimental until the accuracy holds on unseen scenes.
        assert general["experimental"] == "True"
        version = general["version"]
        assert general["changelog"].startswith(f"{version} ")
        metadata = package.read_metadata(REPO_ROOT / "metadata.txt")  # raises when one lacks
        # No placeholder addresses: the project has no public home yet (item 15 of issue 18).
        assert "example.org" not in (REPO_ROOT / "metadata.txt").read_text(encoding="utf-8")
        assert package.upload_gaps(metadata) == ["email", "repository"]


def test_a_sidecar_qgis_wrote_beside_the_sample_is_not_shipped(tmp_path):
    root = _bare_tree(tmp_path / "tree")
    sample = root / "resources" / "sample"
    sample.mkdir(parents=True)
    (sample / "scene.tif").write_bytes(b"II*\x00")
    (sample / "scene.tif.aux.xml").write_text("<PAMDataset/>", encoding="utf-8")
    names = [name for _, name in package.plugin_files(root)]
    assert "cloud_fcn_plugin/resources/sample/scene.tif" in names
    assert not any(name.endswith(".aux.xml") for name in names)


def _bare_tree(root):
    """A source tree with the French .ts and no compiled .qm (a fresh clone)."""
    package_dir = root / "cloud_fcn_plugin"
    (package_dir / "i18n").mkdir(parents=True)
    (package_dir / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(REPO_ROOT / "cloud_fcn_plugin" / "i18n" / "cloud_fcn_fr.ts", package_dir / "i18n")
    for name in ("metadata.txt", "LICENSE"):
        shutil.copy(REPO_ROOT / name, root / name)
    return root


class TestTranslationsInTheZip:
    """Review 2026-12-05, defect 8: package.py alone built an English-only zip, silently."""

    def test_the_script_compiles_them_itself(self, qgis_app, tmp_path):
        from qgis.PyQt.QtCore import QTranslator

        if package.find_lrelease() is None:
            pytest.skip("lrelease is not installed")
        root = _bare_tree(tmp_path / "tree")
        archive = package.build(tmp_path / "dist", root)
        with zipfile.ZipFile(archive) as opened:
            qm = tmp_path / "fr.qm"
            qm.write_bytes(opened.read("cloud_fcn_plugin/i18n/cloud_fcn_fr.qm"))
        translator = QTranslator()
        assert translator.load(str(qm))
        assert translator.translate("@default", "Detect clouds and shadows") == (
            "Détecter les nuages et les ombres")
        assert not (root / "cloud_fcn_plugin" / "i18n" / "cloud_fcn_fr.qm").exists()

    def test_without_lrelease_it_refuses_in_one_line(self, tmp_path, capsys, monkeypatch):
        root = _bare_tree(tmp_path / "tree")
        with pytest.raises(package.TranslationError, match="lrelease") as refused:
            package.build(tmp_path / "dist", root, lrelease="")
        assert "\n" not in str(refused.value)
        assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())
        monkeypatch.setattr(package, "find_lrelease", lambda: None)
        monkeypatch.setattr(package, "REPO_ROOT", root)
        assert package.main(["--output", str(tmp_path / "dist")]) == 1
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0 and "lrelease" in error and "cloud_fcn_fr.ts" in error

    def test_a_fresh_qm_is_shipped_when_asked(self, tmp_path):
        root = _bare_tree(tmp_path / "tree")
        qm = root / "cloud_fcn_plugin" / "i18n" / "cloud_fcn_fr.qm"
        qm.write_bytes(b"qm")
        archive = package.build(tmp_path / "dist", root, lrelease="", allow_stale_qm=True)
        with zipfile.ZipFile(archive) as opened:
            assert opened.read("cloud_fcn_plugin/i18n/cloud_fcn_fr.qm") == b"qm"


class TestInstallDev:
    def test_links_and_enables(self, tmp_path):
        profile = tmp_path / "profile"
        ini = profile / "QGIS" / "QGIS3.ini"
        ini.parent.mkdir(parents=True)
        ini.write_text("[General]\nlocale=en\n\n[PythonPlugins]\nother=true\n", encoding="utf-8")
        assert install_dev.main(["--profile-dir", str(profile)]) == 0
        target = profile / "python" / "plugins" / "cloud_fcn_plugin"
        assert (target / "__init__.py").resolve() == REPO_ROOT / "cloud_fcn_plugin" / "__init__.py"
        assert (target / "metadata.txt").is_file()
        assert (target / "resources" / "styles" / "cloud_mask.qml").is_file()
        text = ini.read_text(encoding="utf-8")
        assert "locale=en" in text and "other=true" in text
        assert text.count("cloud_fcn_plugin=true") == 1
        assert install_dev.main(["--profile-dir", str(profile)]) == 0  # again: refreshes
        assert ini.read_text(encoding="utf-8").count("cloud_fcn_plugin=true") == 1

    def test_refuses_to_replace_an_installed_copy(self, tmp_path):
        plugins = tmp_path / "plugins"
        (plugins / "cloud_fcn_plugin").mkdir(parents=True)
        with pytest.raises(SystemExit, match="--force"):
            install_dev.link_plugin(plugins)
        assert install_dev.link_plugin(plugins, force=True).is_dir()
