"""One input, opened once at the start of a run and handed down to every stage.

Choosing the model, reading and scaling the bands, the QA band, the masked image, the
preview and the output checks all work from the :class:`Scene` that :func:`open_input`
makes, never from the path again: the input is inspected once (headers, MTL, bands,
grid, level), its QA band looked up once, and its read set listed once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .inspection import InputInfo, inspect_input
from .mtl import MtlMetadata
from .qa_band import QaBand, find_qa_band
from .read_set import ReadSet, input_files


@dataclass(frozen=True)
class Scene:
    """An inspected input: what it is, where its files are, and its QA band.

    Attributes:
        path: the input as the user gave it (raster, product folder or ``*_MTL.txt``).
        info: what :func:`~.inspection.inspect_input` learnt from its headers.
    """

    path: Path
    info: InputInfo

    @property
    def name(self) -> str:
        """The input's file or folder name, for messages."""
        return self.path.name

    @property
    def mtl(self) -> MtlMetadata | None:
        """The parsed MTL file of a product, if any."""
        return self.info.mtl

    @functools.cached_property
    def files(self) -> tuple[Path, ...]:
        """Every file the run reads (:func:`~.read_set.input_files`), listed once."""
        return tuple(input_files(self.path))

    @property
    def read_set(self) -> ReadSet:
        """The files no output may replace and no sweep may delete."""
        return ReadSet(self.files)

    @functools.cached_property
    def qa(self) -> QaBand | None:
        """The product's QA band, looked up on first use (None without one).

        Raises:
            UnsupportedDataError: a BQA whose collection cannot be told (at each use: a
                run that does not need the QA band is not refused for it).
        """
        return find_qa_band(self.path)


def open_input(path: str | Path | Scene) -> Scene:
    """Inspect an input once; a :class:`Scene` is handed back as it is.

    Raises:
        InputNotFoundError, InputReadError, BandMismatchError, MetadataError: as
            :func:`~.inspection.inspect_input`.
    """
    if isinstance(path, Scene):
        return path
    path = Path(path).expanduser()
    return Scene(path, inspect_input(path))
