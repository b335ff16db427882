"""QGIS 4 (Qt 6) and QGIS 3 from one code base: every Qt name resolves in PyQt6.

The Qt names the plugin writes are resolved by a real PyQt6 (the ``.venv-qt6`` environment
that ``make test`` builds from PyPI); the QGIS names are checked against the real QGIS 3.22
for scoped enum access, which QGIS 4's sip 6 bindings require.
"""

from __future__ import annotations

import configparser
import enum
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.plugin.qt_names import QtName, SourceScan, qt_names, scan_package, scan_source

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "cloud_fcn_plugin"
RESOLVER = Path(__file__).with_name("qt6_resolve.py")
QT6_PYTHON = Path(
    os.environ.get("CLOUD_FCN_QT6_PYTHON", REPO_ROOT / ".venv-qt6" / "bin" / "python")
)


def resolve_in_pyqt6(names: list[QtName]) -> tuple[str, list[str]]:
    """Ask PyQt6 (in its own environment) which names it lacks; return its version too."""
    if not QT6_PYTHON.is_file():
        pytest.skip(f"no PyQt6 environment at {QT6_PYTHON}: `make .venv-qt6/.pip-done` builds it")
    payload = [{"module": n.module, "parts": list(n.parts), "where": n.where} for n in names]
    env = {"PATH": os.environ.get("PATH", ""), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [str(QT6_PYTHON), str(RESOLVER)], input=json.dumps(payload), env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    return answer["pyqt"], answer["failures"]


def _is_enum_member(value: object) -> bool:
    return isinstance(value, enum.Enum) or type(type(value)).__name__ == "enumtype"


def unscoped_in_qgis3(scan: SourceScan) -> list[str]:
    """Names that reach an enum member without its enum type (``Qgis.Warning``)."""
    import importlib

    problems = []
    for name in scan.names:
        module = importlib.import_module(
            name.module if name.module.startswith("qgis.") else f"qgis.PyQt.{name.module}"
        )
        chain: list[object] = [module]
        for part in name.parts:
            if not hasattr(chain[-1], part):
                break
            chain.append(getattr(chain[-1], part))
        else:
            if len(chain) > 2 and _is_enum_member(chain[-1]) and chain[-2] is not type(chain[-1]):
                problems.append(
                    f"{name.where}: {name.dotted} is an unscoped enum: write "
                    f"{'.'.join(name.parts[:-1])}.{type(chain[-1]).__name__}.{name.parts[-1]}"
                )
            continue
        if name.guard != "newer":
            problems.append(f"{name.where}: {name.dotted} does not exist in QGIS 3.22")
    return problems


@pytest.fixture(scope="module")
def plugin_scan() -> SourceScan:
    return scan_package(PACKAGE)


class TestThePluginOnQt6:
    def test_every_qt_name_resolves_in_pyqt6(self, plugin_scan):
        names = qt_names(plugin_scan)
        assert len(names) > 30  # the walk really found the plugin's Qt names
        version, failures = resolve_in_pyqt6(names)
        assert not failures, f"{version}:\n" + "\n".join(failures)

    def test_no_direct_pyqt_import_and_no_exec_(self, plugin_scan):
        assert not plugin_scan.problems, "\n".join(plugin_scan.problems)

    @pytest.mark.qgis
    def test_qgis_enums_are_scoped(self, plugin_scan):
        pytest.importorskip("qgis.core")
        problems = unscoped_in_qgis3(plugin_scan)
        assert not problems, "\n".join(problems)

    def test_metadata_lets_qgis_4_load_it(self):
        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
        general = metadata["general"]
        assert general["supportsQt6"].strip().lower() in ("true", "yes")
        assert float(general["qgisMinimumVersion"]) <= 3.22
        assert float(general["qgisMaximumVersion"]) >= 4.0


class TestTheCheckItself:
    SOURCE = (
        "from qgis.PyQt.QtCore import Qt\n"
        "from qgis.PyQt import QtWidgets\n"
        "from qgis.PyQt.QtWidgets import QAction, QDialog\n"
        "from qgis.core import Qgis\n"
        "label.setAlignment(Qt.AlignLeft)\n"
        "QtWidgets.QDialogButtonBox.Ok\n"
        "QDialog.DialogCode.Accepted\n"
        "Qgis.Warning\n"
        "dialog.exec_()\n"
    )

    def test_an_unscoped_qt_enum_fails_with_its_scoped_spelling(self):
        _, failures = resolve_in_pyqt6(qt_names(scan_source(self.SOURCE, "bad.py")))
        text = "\n".join(failures)
        assert "bad.py:5: AlignLeft" not in text
        assert "bad.py:5: Qt.AlignLeft is not in PyQt6 (unscoped enum): write " \
               "Qt.AlignmentFlag.AlignLeft" in text
        assert "bad.py:6: QDialogButtonBox.Ok is not in PyQt6 (unscoped enum): write " \
               "QDialogButtonBox.StandardButton.Ok" in text
        assert "bad.py:3: QAction is not in PyQt6: QtWidgets has no QAction" in text
        assert "Accepted" not in text
        assert len(failures) == 3

    def test_exec_underscore_and_direct_pyqt5_are_refused(self):
        scan = scan_source(self.SOURCE + "from PyQt5.QtCore import QTimer\n", "bad.py")
        assert any("bad.py:9: exec_()" in problem for problem in scan.problems)
        assert any("bad.py:10: import from PyQt5.QtCore" in problem for problem in scan.problems)

    def test_qt5_fallbacks_are_exempt(self):
        source = (
            "try:\n    from qgis.PyQt.QtGui import QAction\n"
            "except ImportError:\n    from qgis.PyQt.QtWidgets import QAction\n"
        )
        names = qt_names(scan_source(source, "ok.py"))
        assert [(n.module, n.dotted) for n in names] == [("QtGui", "QAction")]

    @pytest.mark.qgis
    def test_an_unscoped_qgis_enum_fails(self):
        pytest.importorskip("qgis.core")
        problems = unscoped_in_qgis3(scan_source(self.SOURCE, "bad.py"))
        assert "bad.py:8: Qgis.Warning is an unscoped enum: write Qgis.MessageLevel.Warning" \
            in problems
        assert any("bad.py:5: Qt.AlignLeft is an unscoped enum" in p for p in problems)
