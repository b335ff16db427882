"""``make package`` zip layout and ``make install`` dev links."""

from __future__ import annotations

import configparser
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
            assert not name.endswith(("engine/files/interrupts.py", "engine/outputs/preview.py"))

    def test_no_tests_caches_or_build_files(self, zip_names):
        for name in zip_names:
            assert "__pycache__" not in name and not name.endswith((".pyc", ".pyo"))
            assert "/tests/" not in name and "/." not in name and not name.endswith(".aux.xml")

    def test_translations_ship_compiled(self, zip_names):
        assert not any(name.endswith(".ts") for name in zip_names)
        if (REPO_ROOT / "cloud_fcn_plugin" / "i18n" / "cloud_fcn_fr.qm").is_file():
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
