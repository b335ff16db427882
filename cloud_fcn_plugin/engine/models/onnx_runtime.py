"""ONNX Runtime, imported only when an ``.onnx`` model is used (it is optional for users)."""

from __future__ import annotations

from typing import Any

from ..errors import DependencyMissingError


def import_onnxruntime(name: str = "an .onnx model") -> Any:
    """Import ``onnxruntime``, or say in one sentence how to install it.

    Raises:
        DependencyMissingError: onnxruntime is not installed.
    """
    try:
        import onnxruntime
    except ImportError:
        from ...deps import ONNXRUNTIME_REQUIREMENT

        raise DependencyMissingError(
            f"ONNX Runtime is not installed and {name} needs it: run pip install "
            f"{ONNXRUNTIME_REQUIREMENT} (in QGIS: choose the file in the Detect clouds panel "
            "and click Install ONNX Runtime)."
        ) from None
    return onnxruntime
