"""The engine imports and runs with QGIS and Qt made unimportable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, pkgutil, sys

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"qgis", "PyQt5", "PyQt6", "sip"}:
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, Blocker())
    import cloud_fcn_plugin.engine as engine
    names = [m.name for m in pkgutil.walk_packages(engine.__path__, "cloud_fcn_plugin.engine.")]
    for name in names:
        __import__(name)
    from cloud_fcn_plugin.engine.pipeline import detect_clouds
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"qgis", "PyQt5", "PyQt6"})
    assert not leaked, leaked
    print(len(names), "modules")
    """
)


def test_engine_imports_without_qgis() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "modules" in result.stdout
