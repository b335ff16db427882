"""Every Qt and QGIS name the plugin spells out, collected from its source by an AST walk.

QGIS 4 runs on PyQt6, which has only scoped enums (``Qt.AlignmentFlag.AlignLeft``, never
``Qt.AlignLeft``), no ``exec_()`` and a few classes in other modules (``QAction`` is in
``QtGui``). QGIS 4 cannot be installed here, so the names are checked where they can be:
the Qt names against a real PyQt6 (``qt6_resolve.py`` in the ``.venv-qt6`` environment),
the QGIS names against the real QGIS 3.22 for scoped enum access.

Code meant for one Qt version only is recognised by the two usual guards and exempted from
the other version's check: an import inside ``except ImportError:`` (the Qt 5 fallback) and
the ``else`` branch of ``if hasattr(...)`` (the spelling of older versions); what they guard
(the ``try`` body, the ``if`` body) may be missing from QGIS 3.22.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

QT_PACKAGE = "qgis.PyQt"
QGIS_MODULES = ("qgis.core", "qgis.gui")


@dataclass(frozen=True)
class QtName:
    """One dotted name rooted at an imported Qt or QGIS object, and where it is written.

    Attributes:
        module: the module it is imported from, ``QtCore`` for Qt, ``qgis.core`` for QGIS.
        parts: the dotted name from the imported object on, e.g. ``("Qt", "AlignmentFlag")``.
        where: ``file:line`` in the source.
        guard: ``""``, ``"fallback"`` (Qt 5 / older QGIS only) or ``"newer"`` (behind
            ``hasattr``: may not exist in QGIS 3.22).
    """

    module: str
    parts: tuple[str, ...]
    where: str
    guard: str = ""

    @property
    def dotted(self) -> str:
        """The name as written, e.g. ``Qt.AlignmentFlag.AlignLeft``."""
        return ".".join(self.parts)


@dataclass
class SourceScan:
    """What one scan found: names to resolve, and problems visible without resolving."""

    names: list[QtName]
    problems: list[str]


def _is_hasattr_test(node: ast.AST) -> bool:
    return any(
        isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "hasattr"
        for sub in ast.walk(node)
    )


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
    return any(
        isinstance(name, ast.Name) and name.id in ("ImportError", "ModuleNotFoundError")
        for name in names
    )


def _guards(tree: ast.AST) -> dict[int, str]:
    """Map ``id(node)`` to its guard for every node under a version guard."""
    guards: dict[int, str] = {}

    def mark(nodes: list[ast.AST], guard: str) -> None:
        for top in nodes:
            for sub in ast.walk(top):
                guards.setdefault(id(sub), guard)

    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_hasattr_test(node.test):
            mark(node.orelse, "fallback")
            mark(node.body, "newer")
        elif isinstance(node, ast.Try):
            if any(_catches_import_error(handler) for handler in node.handlers):
                mark(node.body, "newer")
                for handler in node.handlers:
                    mark(handler.body, "fallback")
    return guards


def _dotted(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    parts.append(current.id)
    return parts[::-1]


def scan_source(text: str, filename: str) -> SourceScan:
    """Collect the Qt/QGIS names of one Python source.

    Args:
        text: the module's source code.
        filename: shown in ``where`` and in problems.
    """
    tree = ast.parse(text, filename=filename)
    guards = _guards(tree)
    roots: dict[str, str] = {}  # local name -> module it comes from
    names: list[QtName] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if module.split(".")[0] in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
                problems.append(f"{where}: import from {module}: import from qgis.PyQt instead")
                continue
            if module.startswith(QT_PACKAGE + ".") or module in QGIS_MODULES:
                short = module.removeprefix(QT_PACKAGE + ".")
                for alias in node.names:
                    roots[alias.asname or alias.name] = short
                    names.append(QtName(short, (alias.name,), where, guards.get(id(node), "")))
            elif module == QT_PACKAGE:
                for alias in node.names:  # from qgis.PyQt import QtCore
                    roots[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
                    problems.append(f"{where}: import {alias.name}: import qgis.PyQt instead")
        elif isinstance(node, ast.Attribute) and node.attr == "exec_":
            problems.append(f"{where}: exec_() does not exist in PyQt6: call exec()")
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.Attribute):
                continue
            if isinstance(node, ast.Attribute) and node.value is child:
                continue  # not the longest chain
            parts = _dotted(child)
            if not parts or parts[0] not in roots:
                continue
            module = roots[parts[0]]
            if parts[0] == module:  # from qgis.PyQt import QtCore; QtCore.Qt.X
                parts = parts[1:]
            where = f"{filename}:{child.lineno}"
            names.append(QtName(module, tuple(parts), where, guards.get(id(child), "")))
    return SourceScan(names, problems)


def scan_package(package: Path) -> SourceScan:
    """Collect the names of every module of ``package`` (the engine has no Qt at all)."""
    names: list[QtName] = []
    problems: list[str] = []
    for path in sorted(package.rglob("*.py")):
        scan = scan_source(path.read_text(encoding="utf-8"), str(path.relative_to(package.parent)))
        names += scan.names
        problems += scan.problems
    return SourceScan(names, problems)


def qt_names(scan: SourceScan) -> list[QtName]:
    """The names that PyQt6 must resolve: Qt modules only, Qt 5 fallbacks left out."""
    return [n for n in scan.names if n.module.startswith("Qt") and n.guard != "fallback"]
