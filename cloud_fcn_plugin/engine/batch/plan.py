"""What a detection command writes, checked before any work: one scene's outputs, or a batch's.

Every output is checked up front, the preview and the batch report included: never an
input, never each other, writable. A run that fails here has read no pixel and
replaced no file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OutputNotWritableError, ParameterError
from ..outputs.checks import check_outputs, run_outputs
from ..params import DetectionParams
from .inputs import expand_inputs
from .jobs import Job
from .run import check_batch_outputs, plan_jobs


@dataclass(frozen=True)
class BatchPlan:
    """A batch's scenes paired with their masks.

    Attributes:
        jobs: one input and its mask each.
        lists: the list files read to expand the inputs (the batch reads them too).
    """

    jobs: list[Job]
    lists: list[Path] = field(default_factory=list)


def check_scene_outputs(
    input_path: str | Path, output: str | Path, params: DetectionParams
) -> None:
    """Check one scene's mask and the other outputs its parameters ask for.

    Raises:
        OutputConflictError: an output is an input file, or two outputs share a path.
        OutputNotWritableError, OutputExistsError: an output cannot or may not be written.
    """
    check_outputs(input_path, run_outputs(output, params), params.overwrite)


def plan_batch(
    inputs: Sequence[str | Path],
    *,
    output: Path | None = None,
    output_dir: Path | None = None,
    report: Path | None = None,
) -> BatchPlan:
    """Expand the inputs and pair each with its mask; check every output.

    Args:
        inputs: rasters, product folders, MTL files, globs, folders or list files.
        output: the one mask of an input that must give one scene, or None.
        output_dir: the folder of the masks (created), named ``<stem>_cloudmask.tif``;
            used when ``output`` is None.
        report: the batch report to write, if any.

    Raises:
        ParameterError: ``output`` with several scenes, no scene, or two scenes with
            one mask name. OutputNotWritableError: the folder cannot be made.
        OutputConflictError: a mask or the report would replace what the batch reads.
    """
    lists: list[Path] = []
    scenes = expand_inputs(inputs, read=lists)
    if output is not None:
        if len(scenes) != 1:
            raise ParameterError(
                f"-o names one mask but the input gives {len(scenes)} scenes: use --output-dir."
            )
        jobs = [Job(scenes[0], output.expanduser().absolute())]
    else:
        assert output_dir is not None, "give output or output_dir"
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputNotWritableError(
                f"Cannot create the output folder {output_dir}: {error.strerror or error}."
            ) from error
        jobs = plan_jobs(scenes, output_dir)
    # The report like every output, now rather than after hours of work: never a file
    # the batch reads (a scene, the list file) and never one of its masks.
    check_batch_outputs(jobs, report=report, read=lists)
    return BatchPlan(jobs, lists)
