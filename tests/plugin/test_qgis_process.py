"""``qgis_process run cloud_fcn:detectclouds`` as a user types it, in a subprocess."""

from __future__ import annotations

import shutil
import sys
import zipfile

import pytest

from tests.plugin.qgis_subprocess import (
    QGIS_PROCESS,
    REPO_ROOT,
    load_script,
    profile_dir,
    qgis_env,
    run,
)

pytestmark = [
    pytest.mark.qgis,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(QGIS_PROCESS) is None, reason="qgis_process is not installed"),
]


def _install_dev(home) -> None:
    result = run(
        [sys.executable, str(REPO_ROOT / "scripts" / "install_dev.py"),
         "--profile-dir", str(profile_dir(home))],
        qgis_env(home, hide_torch=False),
    )
    assert result.returncode == 0, result.stderr


class TestQgisProcess:
    def test_run_from_a_dev_install(self, tmp_path, toa_band_file, tiny_weights):
        home = tmp_path / "home"
        home.mkdir()
        _install_dev(home)
        output = tmp_path / "mask.tif"
        result = run(
            [QGIS_PROCESS, "run", "cloud_fcn:detectclouds", "--",
             f"INPUT={toa_band_file}", f"MODEL={tiny_weights}", f"OUTPUT={output}"],
            qgis_env(home, hide_torch=False),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "CLOUD_COVER:" in result.stdout
        assert output.is_file()

    def test_run_from_the_zip_on_qgis_pluginpath(self, tmp_path, toa_band_file, tiny_weights):
        install_dev = load_script("install_dev")
        package = load_script("package")
        archive = package.build(tmp_path / "dist")
        plugins = tmp_path / "plugins"
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(plugins)
        home = tmp_path / "home"
        install_dev.enable_plugin(profile_dir(home))
        env = qgis_env(home, hide_torch=False)
        env["QGIS_PLUGINPATH"] = str(plugins)
        listed = run([QGIS_PROCESS, "plugins"], env)
        assert "cloud_fcn_plugin" in listed.stdout
        output = tmp_path / "mask.tif"
        result = run(
            [QGIS_PROCESS, "run", "cloud_fcn:detectclouds", "--",
             f"INPUT={toa_band_file}", f"MODEL={tiny_weights}", "THRESHOLD=0.4",
             f"OUTPUT={output}"],
            env,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert output.is_file()

    def test_missing_torch_fails_with_one_sentence(self, tmp_path, toa_band_file):
        home = tmp_path / "home"
        home.mkdir()
        _install_dev(home)
        output = tmp_path / "mask.tif"
        result = run(
            [QGIS_PROCESS, "run", "cloud_fcn:detectclouds", "--",
             f"INPUT={toa_band_file}", f"OUTPUT={output}"],
            qgis_env(home, hide_torch=True),
        )
        assert result.returncode != 0
        text = result.stdout + result.stderr
        assert "PyTorch is not installed in the Python that QGIS uses" in text
        assert "Traceback" not in text
        assert not output.exists()
