"""Calling the engine from QGIS: lazy import, default threshold, error and warning wording."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import deps
from ..engine.errors import CloudFcnError, DependencyMissingError
from ..engine.files.resources import default_weights_path
from ..engine.params import DetectionParams, DetectionResult

if TYPE_CHECKING:
    from ..engine.models.choice import ModelChoice

FALLBACK_THRESHOLD = 0.5
#: Engine notes that deserve a warning: scaling without the MTL (no sun-angle
#: correction), a product level guessed from the pixel values, and a mask whose cloud
#: cover differs strongly from the product QA band's.
WARNING_MARKERS = ("without MTL", "if this is wrong", "check the mask;")
#: A level read from a Landsat file name (``_toa``, ``SR_B4``, ``_L1TP_``) is a note: the
#: bundled demo and every product band file carry one, and a warning on each run would
#: teach users to skip warnings (issue 18, item 9).
NAMED_LEVEL = "from the file name"
# The engine speaks the command line's language; QGIS users see parameters instead.
_QGIS_WORDING = (
    (re.compile(r"set the product level \(l1, toa or sr\) if this is wrong"),
     "choose another product level if this is wrong"),
    (re.compile(r",? as chosen with --product \w+"), ", as chosen"),
    (re.compile(r"\(--model rgbn\)"), "(Model: 4-band)"),
    (re.compile(r"\(--model fullband\)"), "(Model: full-band)"),
    (re.compile(r"--bands"), "the band parameters"),
)


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


def model_choice(model: str, input_path: Path | None) -> ModelChoice:
    """The bundled model (or ensemble) a run with this model choice would use on ``input_path``."""
    from ..engine.models.choice import choose_model

    if model == "qa":  # no network: the threshold shown is the 4-band model's, unused
        return choose_model(None, "rgbn")
    if model != "auto" or input_path is None:
        return choose_model(None, "rgbn" if model == "auto" else model)
    try:
        return choose_model(input_path, "auto")
    except CloudFcnError:
        return choose_model(None, "rgbn")


def model_checkpoint(model: str, input_path: Path | None) -> Path:
    """The bundled checkpoint a run with this model choice would use (an ensemble's base)."""
    return model_choice(model, input_path).path


def choice_threshold(choice: ModelChoice) -> tuple[float, str | None]:
    """:func:`default_threshold` of a model choice; an ensemble's is its own (0.5)."""
    if choice.also:
        from ..engine.models.union import UNION_THRESHOLD

        return UNION_THRESHOLD, None
    return default_threshold(choice.path)


def default_threshold(weights: Path | None = None) -> tuple[float, str | None]:
    """Return the calibrated threshold stored with the weights, and a note when it is not.

    Returns:
        The threshold and ``None``, or 0.5 and one sentence saying why the fallback is used.
    """
    path = Path(weights) if weights else default_weights_path()
    try:
        from ..engine.models.checkpoints import read_metadata

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


def user_sentence(exc: BaseException) -> str:
    """:func:`error_sentence` in QGIS's words and the user's language."""
    from .engine_text import translate_engine

    return translate_engine(qgis_wording(error_sentence(exc)))


def is_warning(message: str) -> bool:
    """Tell whether an engine note is a warning (no MTL, a level guessed from values)."""
    if NAMED_LEVEL in message and "without MTL" not in message:
        return False
    return any(marker in message for marker in WARNING_MARKERS)


def qgis_wording(message: str) -> str:
    """Reword an engine message's command-line hints for QGIS's parameters."""
    for pattern, replacement in _QGIS_WORDING:
        message = pattern.sub(replacement, message)
    return message


def available_devices() -> dict[str, bool]:
    """Which devices torch can use here: ``{"cpu": True, "cuda": ..., "mps": ...}``.

    Imports torch (seconds the first time); all but the CPU are ``False`` without it.
    """
    deps.add_deps_to_path()
    try:
        import torch
    except ImportError:
        return {"cpu": True, "cuda": False, "mps": False}
    mps = getattr(torch.backends, "mps", None)
    return {
        "cpu": True,
        "cuda": bool(torch.cuda.is_available()),
        "mps": bool(mps is not None and mps.is_available()),
    }


#: The QA warning's words (``qa_band.QaComparison.warning``): how a run's warnings are
#: told from the product QA band's, which a new threshold recomputes.
QA_WARNING_MARKER = "check the mask;"


def qa_counts_of(input_path: Path):
    """The product QA band of ``input_path`` and its class counts, or ``None`` without one.

    Reads the whole band (a tenth of a second for a 30 m scene): call it off the GUI thread.
    """
    from ..engine.scene.qa_band import find_qa_band, qa_counts

    band = find_qa_band(input_path)
    return None if band is None else (band, qa_counts(band))


def qa_comparison(qa, class_pixels: dict[int, int]):
    """The engine's ``QaComparison`` of a QA band's counts (:func:`qa_counts_of`) and a
    mask's pixels per class, or ``None`` without a QA band."""
    if qa is None:
        return None
    from ..engine.inference.decision import ClassCounts
    from ..engine.scene.qa_band import QaComparison

    band, counts = qa
    return QaComparison(band, counts, ClassCounts.of(class_pixels))
