"""``qgis_process run cloud_fcn:detectclouds`` as a user types it, in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
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

SAMPLE = "LC80130312015295LGN00_B2-B5_toa_120m.tif"

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


def readme_qgis_process_line() -> str:
    """The shell line of the README's ``qgis_process`` example, exactly as written there."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    lines = [
        line.strip() for line in text.splitlines()
        if line.strip().startswith("qgis_process") and " run cloud_fcn:detectclouds" in line
    ]
    assert len(lines) == 1, f"expected one qgis_process example in README.md, found {lines}"
    return lines[0]


class TestTheReadmeCommand:
    def test_the_readme_line_runs_as_typed(self, tmp_path):
        """Item 1 of issue 18: the README's command, typed in a shell, writes the mask."""
        line = readme_qgis_process_line()
        home = tmp_path / "home"
        home.mkdir()
        _install_dev(home)  # `make install`, as the README says before
        shutil.copy(REPO_ROOT / "resources" / "sample" / SAMPLE, home / "scene.tif")
        env = qgis_env(home, hide_torch=False)
        env["QGIS_OPTS"] = "--noversioncheck"  # what /etc/default/qgis sets on Debian
        result = subprocess.run(
            line, shell=True, cwd=home, env=env, capture_output=True, text=True, timeout=600,
            check=False,
        )
        text = result.stdout + result.stderr
        assert result.returncode == 0, f"{line}\n{text}"
        assert "CLOUD_COVER:" in result.stdout
        assert (home / "mask.tif").is_file()
        assert "not known" not in text and "Traceback" not in text
