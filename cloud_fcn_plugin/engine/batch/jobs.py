"""One scene of a batch: its input, its output and where the output goes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .inputs import MTL_SUFFIX, OUTPUT_SUFFIX, is_dir


@dataclass(frozen=True)
class Job:
    """One scene to process: where to read it and where to write its mask."""

    input: Path
    output: Path


def scene_stem(path: Path) -> str:
    """The scene's name: a folder's name (the product id), an MTL's product id, a file's stem."""
    name = path.name
    if is_dir(path) or not Path(name).suffix:
        return name
    if name.lower().endswith(MTL_SUFFIX):
        return name[: -len(MTL_SUFFIX)]
    return Path(name).stem


def output_path_for(input_path: Path, output_dir: Path) -> Path:
    """Return ``output_dir / <input stem>_cloudmask.tif``."""
    return Path(output_dir) / f"{scene_stem(Path(input_path))}{OUTPUT_SUFFIX}"
