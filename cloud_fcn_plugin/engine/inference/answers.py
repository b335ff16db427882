"""A model's answer, checked on every batch where it is used, not once on a trial tile.

A model (a checkpoint or an ONNX file) is a program from somewhere else: it may be
finite on a blank trial tile and NaN on real pixels, or call "probabilities" values
that run from -2 to 3. Every forward pass goes through :func:`check_output` (the raw
output: shape and finiteness) and :func:`check_layers` (the probability layers the
mask is decided from), so nothing unchecked reaches the threshold or a file.

The contract on the range, for a model that says its output is ``probabilities``:
values within :data:`TOLERANCE` of 0..1 are rounding and are clamped into 0..1; values
further out mean the model does not give probabilities, and the run is refused. Logits
(the bundled models, and ONNX models that say ``logits``) go through a sigmoid or a
softmax, whose results are clamped against rounding the same way.
"""

from __future__ import annotations

import torch

from ..errors import WeightsError

#: How far outside 0..1 a "probability" may be and still be taken as rounding.
TOLERANCE = 1e-3


def check_output(
    output: torch.Tensor, channels: int, name: str, declared_probabilities: bool
) -> None:
    """Refuse a raw model output (N, K, H, W) that breaks the contract of the module.

    Args:
        output: what the model returned for one batch.
        channels: the number of classes its metadata declares.
        name: the model, for messages.
        declared_probabilities: whether the model says its output is probabilities (an
            ONNX model may); its values must then lie within 0..1 (see the module).

    Raises:
        WeightsError: the channels differ from the declared classes, a value is NaN or
            infinite, or declared probabilities lie (further than :data:`TOLERANCE`)
            outside 0..1.
    """
    if output.ndim != 4 or output.shape[1] != channels:
        raise WeightsError(
            f"{name} returned {tuple(output.shape)} for a batch of tiles, not (N, {channels}, "
            f"H, W) for its {channels} declared class(es): fix its classes metadata or "
            "choose another model."
        )
    if output.numel() == 0:
        return
    if not bool(torch.isfinite(output).all()):
        raise WeightsError(
            f"{name} returns NaN or infinity on the pixels of this scene (not only on a "
            "blank tile): the model is broken; choose another model."
        )
    if declared_probabilities:
        low, high = float(output.min()), float(output.max())
        if low < -TOLERANCE or high > 1.0 + TOLERANCE:
            raise WeightsError(
                f"{name} says it outputs probabilities, but they run from {low:.3g} to "
                f"{high:.3g}, outside 0..1: say logits in its cloud_fcn.output metadata if "
                "that is what it gives, or choose another model."
            )


def check_layers(layers: torch.Tensor, name: str) -> torch.Tensor:
    """The probability layers (N, L, H, W) the mask is decided from, finite and in 0..1.

    A sum of channels (thick + thin cloud) of a model whose channels do not add up to
    one may pass 1: it is clamped, as rounding is.

    Raises:
        WeightsError: a value is NaN or infinite.
    """
    if not bool(torch.isfinite(layers).all()):
        raise WeightsError(
            f"{name} returns NaN or infinity on the pixels of this scene: the model is "
            "broken; choose another model."
        )
    return layers.clamp(0.0, 1.0)
