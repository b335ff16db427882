"""Resolve Qt names against PyQt6: run by the ``.venv-qt6`` Python, never imported by tests.

Reads a JSON list of ``{"module": "QtCore", "parts": ["Qt", "AlignLeft"], "where": ...}``
on stdin and prints a JSON list of sentences, one per name PyQt6 lacks, with the scoped
spelling when the missing name is an enum member of the class.
"""

from __future__ import annotations

import enum
import importlib
import json
import sys


def _scoped_spelling(owner: object, member: str) -> list[str]:
    """The nested enums of ``owner`` that have a member called ``member``."""
    found = []
    for attribute in dir(owner):
        value = getattr(owner, attribute, None)
        is_enum = isinstance(value, type) and issubclass(value, enum.Enum)
        if is_enum and member in value.__members__:
            found.append(f"{attribute}.{member}")
    return found


def resolve(module_name: str, parts: list[str]) -> str | None:
    """Return why ``module_name.parts`` does not exist in PyQt6, or ``None`` when it does."""
    try:
        current: object = importlib.import_module(f"PyQt6.{module_name}")
    except ImportError as exc:
        return f"PyQt6 has no module {module_name} ({exc})"
    for index, part in enumerate(parts):
        if not hasattr(current, part):
            owner = ".".join([module_name, *parts[:index]])
            hint = _scoped_spelling(current, part)
            if hint:
                scoped = " or ".join(".".join([*parts[:index], h]) for h in hint)
                return f"{'.'.join(parts)} is not in PyQt6 (unscoped enum): write {scoped}"
            return f"{'.'.join(parts)} is not in PyQt6: {owner} has no {part}"
        current = getattr(current, part)
    return None


def main() -> int:
    """Resolve the names given on stdin; print the failures as JSON."""
    failures = []
    for name in json.load(sys.stdin):
        why = resolve(name["module"], name["parts"])
        if why is not None:
            failures.append(f"{name['where']}: {why}")
    json.dump({"pyqt": _version(), "failures": failures}, sys.stdout)
    return 0


def _version() -> str:
    from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR

    return f"PyQt6 {PYQT_VERSION_STR} (Qt {QT_VERSION_STR})"


if __name__ == "__main__":
    sys.exit(main())
