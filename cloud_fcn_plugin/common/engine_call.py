"""Calling the engine from QGIS: lazy import, default threshold, error wording."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .. import deps
from ..engine.errors import CloudFcnError, DependencyMissingError
from ..engine.params import DetectionParams, DetectionResult
from ..engine.resources import default_weights_path

FALLBACK_THRESHOLD = 0.5


def dependency_error(exc: ImportError) -> DependencyMissingError:
    """Turn the ImportError of a missing package into the one-sentence engine error."""
    if isinstance(exc, DependencyMissingError):
        return exc
    name = (exc.name or "").split(".")[0]
    if name in ("", *deps.PACKAGES):
        return DependencyMissingError(deps.missing_torch_message())
    return DependencyMissingError(
        f"The Python package {name} is missing from QGIS's Python: install it and restart QGIS."
    )


def run_detection(
    input_path: Path,
    output_path: Path,
    params: DetectionParams,
    *,
    progress: Callable[[float], None] | None = None,
    is_canceled: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> DetectionResult:
    """Run the engine; PyTorch is imported only now, so the plugin loads without it.

    Raises:
        CloudFcnError: the engine's own errors, and DependencyMissingError when torch is absent.
    """
    deps.add_deps_to_path()
    try:
        from ..engine.pipeline import detect_clouds
    except ImportError as exc:
        raise dependency_error(exc) from exc
    try:
        return detect_clouds(
            input_path, output_path, params, progress=progress, is_canceled=is_canceled, log=log
        )
    except CloudFcnError:
        raise
    except ImportError as exc:
        raise dependency_error(exc) from exc


def model_checkpoint(model: str, input_path: Path | None) -> Path:
    """The bundled checkpoint a run with this model choice would use on ``input_path``."""
    from ..engine.model_choice import bundled_model_path, choose_model

    if model != "auto" or input_path is None:
        return bundled_model_path("rgbn" if model == "auto" else model)
    try:
        return choose_model(input_path, "auto").path
    except CloudFcnError:
        return bundled_model_path("rgbn")


def default_threshold(weights: Path | None = None) -> tuple[float, str | None]:
    """Return the calibrated threshold stored with the weights, and a note when it is not.

    Returns:
        The threshold and ``None``, or 0.5 and one sentence saying why the fallback is used.
    """
    path = Path(weights) if weights else default_weights_path()
    try:
        from ..engine.weights import read_metadata

        return float(read_metadata(path).threshold), None
    except (CloudFcnError, OSError, ImportError, ValueError, AttributeError) as exc:
        reason = first_line(exc) or type(exc).__name__
        return FALLBACK_THRESHOLD, (
            f"No threshold could be read from {path.name} ({reason}): using {FALLBACK_THRESHOLD}."
        )


def first_line(exc: BaseException) -> str:
    """Return the first line of an exception's message."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def error_sentence(exc: BaseException) -> str:
    """Word any failure as the one sentence shown in the message bar or Processing log."""
    if isinstance(exc, CloudFcnError):
        return first_line(exc) or type(exc).__name__
    if isinstance(exc, ImportError):
        return first_line(dependency_error(exc))
    return f"Cloud detection failed unexpectedly ({type(exc).__name__}: {first_line(exc)})."
