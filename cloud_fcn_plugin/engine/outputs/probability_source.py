"""The probability raster a re-threshold reads: an input like any other.

It goes through the gate (:mod:`~..files.gate`), joins the files no output may replace
(an output named like it, or like one of its files, is refused), and must lie on the
grid of the scene it is re-thresholded for: a probability of another scene would give
that scene's mask, written as this one's.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import BandMismatchError, OutputConflictError
from ..files.gate import gate_raster
from ..scene.read_set import ReadSet, input_files


def check_probability_source(
    probability: Path, input_path: str | Path, outputs: Iterable[Path | None]
) -> None:
    """Refuse a probability raster that an output would replace or that is not the input's.

    Raises:
        InputNotFoundError, InputReadError: it fails the gate (missing, not a regular file).
        OutputConflictError: an output is the probability raster or one of its files.
        BandMismatchError: it is not on the grid (size, transform) of the input.
    """
    gate_raster(probability, "the probability raster")
    reads = ReadSet(input_files(probability))
    for output in outputs:
        if output is not None and reads.find(output) is not None:
            raise OutputConflictError(
                f"{output} is the probability raster being re-thresholded ({probability.name}) "
                "or one of its files: writing there would destroy it; choose another name."
            )
    from ..files.gdal_read import open_raster, reading
    from ..scene.inspection import inspect_input

    info = inspect_input(input_path)
    with open_raster(probability) as dataset, reading(probability):
        found = (dataset.width, dataset.height, dataset.transform)
    if found != (info.width, info.height, info.transform):
        raise BandMismatchError(
            f"{probability.name} ({found[0]}x{found[1]}) is not on the grid of "
            f"{Path(input_path).name} ({info.width}x{info.height}): it is another scene's "
            "probability; run the detection on this scene again."
        )
