"""One input, opened once at the start of a run and handed down to every stage.

Checking the outputs against the input, choosing the model, reading and scaling the
bands, the QA band, the masked image and the preview all work from the :class:`Scene`
that :func:`open_input` makes, never from the path again: the input is inspected once
(headers, MTL, bands, grid, level), its read set listed once and its QA band looked up
once. Each is found on first use, so a run fails where it failed before, with the same
message, and a step that does not need a thing never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import UnsupportedDataError
from .inspection import InputInfo, inspect_input
from .qa_band import NO_QA_BAND, QaBand, find_qa_band
from .read_set import ReadSet, input_files


@dataclass(frozen=True)
class Scene:
    """An input of a run: a raster, a Landsat product folder or its ``*_MTL.txt``.

    Attributes:
        path: the input as the user gave it.
    """

    path: Path

    @property
    def name(self) -> str:
        """The input's file or folder name, for messages."""
        return self.path.name

    @cached_property
    def info(self) -> InputInfo:
        """What the input's headers say: bands, level, MTL, grid, nodata (read once).

        Raises:
            InputNotFoundError, InputReadError, BandMismatchError, MetadataError: as
                :func:`~.inspection.inspect_input`.
        """
        return inspect_input(self.path)

    @cached_property
    def files(self) -> tuple[Path, ...]:
        """Every file the run reads, which no output may replace (see :func:`input_files`)."""
        return tuple(input_files(self.path))

    @cached_property
    def read_set(self) -> ReadSet:
        """:attr:`files` as the set outputs are checked against and sweeps never touch."""
        return ReadSet(self.files)

    @cached_property
    def qa(self) -> QaBand | None:
        """The product's QA band, None without one.

        Raises:
            UnsupportedDataError, BandMismatchError, InputReadError: a QA band that cannot
                be told apart, belongs to another product, or cannot be read (as
                :func:`~.qa_band.find_qa_band`).
        """
        return find_qa_band(self.path)

    def require_qa(self) -> QaBand:
        """The product's QA band, or one line saying the input has none.

        Raises:
            UnsupportedDataError: the input has no QA band.
        """
        if self.qa is None:
            raise UnsupportedDataError(NO_QA_BAND.format(name=self.name))
        return self.qa


def open_input(source: str | Path | Scene) -> Scene:
    """The :class:`Scene` of an input path; a scene is handed back as it is."""
    if isinstance(source, Scene):
        return source
    return Scene(Path(source).expanduser())
