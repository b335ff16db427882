"""The plugin without PyTorch: it loads, the panel explains, the algorithm fails cleanly."""

from __future__ import annotations

import json
import re
import sys

import pytest

from cloud_fcn_plugin import deps
from tests.plugin.qgis_subprocess import REPO_ROOT, qgis_env, run

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

SENTENCE = "PyTorch is not installed in the Python that QGIS uses"


def test_plugin_without_torch(tmp_path, toa_band_file):
    home = tmp_path / "home"
    home.mkdir()
    output = tmp_path / "mask.tif"
    env = qgis_env(home, hide_torch=True, extra_path=[str(REPO_ROOT)])
    result = run(
        [sys.executable, str(REPO_ROOT / "tests" / "plugin" / "missing_torch_probe.py"),
         str(toa_band_file), str(output)],
        env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("REPORT "))
    report = json.loads(line.removeprefix("REPORT "))
    assert report["torch_imported"] is False
    assert report["banner_shown"] is True
    assert report["banner_text"].startswith(SENTENCE)
    assert report["install_button"] == "Install PyTorch"
    assert report["run_enabled"] is False
    assert report["error"].startswith(SENTENCE)
    assert report["error"] == report["banner_text"]  # the same sentence in both places
    assert not output.exists()


class TestDeps:
    def test_pip_arguments_target_the_plugin_folder(self, monkeypatch, tmp_path):
        monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(tmp_path / "deps"))
        cpu = deps.pip_install_arguments(cuda=False)
        assert cpu[:3] == ["-m", "pip", "install"]
        assert cpu[cpu.index("--target") + 1] == str(tmp_path / "deps")
        assert cpu[cpu.index("--index-url") + 1] == deps.CPU_INDEX
        assert f"torch=={deps.VERSIONS['torch']}" in cpu
        cuda = deps.pip_install_arguments(cuda=True)
        assert cuda[cuda.index("--index-url") + 1] == deps.CUDA_INDEX

    def test_cuda_build_chosen_from_nvidia_smi(self, monkeypatch):
        monkeypatch.setattr(deps.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
        assert deps.CUDA_INDEX in deps.pip_install_arguments()
        monkeypatch.setattr(deps.shutil, "which", lambda name: None)
        assert deps.CPU_INDEX in deps.pip_install_arguments()

    def test_deps_folder_goes_last_on_sys_path(self, monkeypatch, tmp_path):
        folder = tmp_path / "deps"
        folder.mkdir()
        monkeypatch.setenv("CLOUD_FCN_DEPS_DIR", str(folder))
        monkeypatch.setattr(sys, "path", list(sys.path))
        deps.add_deps_to_path()
        deps.add_deps_to_path()
        # QGIS's own packages (numpy, osgeo) must never be shadowed by pip's copies.
        assert sys.path.count(str(folder)) == 1 and sys.path[-1] == str(folder)

    def test_versions_are_the_tested_ones(self):
        makefile = (REPO_ROOT / "Makefile").read_text()
        pins = dict(re.findall(r"\b(torch|safetensors)==([\w.]+)", makefile))
        assert pins and all(deps.VERSIONS[name] == version for name, version in pins.items())
        # The Makefile installs torch's own dependencies at the users' pins, whatever Debian has.
        for name, version in deps.TORCH_DEPENDENCIES.items():
            assert f"{name}=={version}" in makefile, name
        commands = deps.pip_install_commands(cuda=False)
        every = {**deps.VERSIONS, **deps.TORCH_DEPENDENCIES}
        wanted = {f"{name}=={version}" for name, version in every.items()}
        assert {arg for command in commands for arg in command if "==" in arg} == wanted

    def test_torch_own_dependencies_are_pinned_to_what_the_tests_run_with(self):
        from importlib import metadata

        # Audit L5: sympy, networkx, jinja2... came unpinned from PyTorch's index.
        required = {
            re.split(r"[ ;<>=!\[]", text, maxsplit=1)[0].lower().replace("_", "-")
            for text in metadata.requires("torch") or ()
            if "extra ==" not in text
        }
        pinned = {name.lower() for name in deps.TORCH_DEPENDENCIES}
        assert required <= pinned
        for name, version in deps.TORCH_DEPENDENCIES.items():
            assert metadata.version(name) == version, name
        torch_run = deps.pip_install_commands(cuda=False)[0]
        assert "--no-deps" in torch_run  # nothing unpinned comes with the CPU build

    def test_each_index_serves_only_its_own_packages(self):
        torch_run, registry_run = deps.pip_install_commands(cuda=True)
        for command in (torch_run, registry_run):
            assert "--extra-index-url" not in command and command.count("--index-url") == 1
        assert torch_run[torch_run.index("--index-url") + 1] == deps.CUDA_INDEX
        assert [a for a in torch_run if "==" in a] == [f"torch=={deps.VERSIONS['torch']}"]
        assert registry_run[registry_run.index("--index-url") + 1] == deps.PYPI_INDEX
        assert not any(a.startswith("torch==") for a in registry_run)

    def test_installs_with_qgis_own_python_not_any_python3(self, monkeypatch, tmp_path):
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        prefix, elsewhere = tmp_path / "prefix", tmp_path / "elsewhere"
        (prefix / "bin").mkdir(parents=True)
        elsewhere.mkdir()
        (elsewhere / "python3").write_text("#!/bin/sh\n")
        (elsewhere / "python3").chmod(0o755)
        monkeypatch.setattr(sys, "executable", "/usr/bin/qgis")
        monkeypatch.setattr(sys, "exec_prefix", str(prefix))
        monkeypatch.setenv("PATH", str(elsewhere))
        assert deps.python_executable() != str(elsewhere / "python3")
        (prefix / "bin" / version).write_text("#!/bin/sh\n")
        assert deps.python_executable() == str(prefix / "bin" / version)
