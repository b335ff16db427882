"""SIGTERM and SIGHUP leave no temporary output behind, in the CLI and in batch workers."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals only")

# A process that writes an output and waits, the way a Dask worker runs a scene.
WORKER = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    from affine import Affine
    from cloud_fcn_plugin.engine.files.interrupts import clean_up_on_termination
    from cloud_fcn_plugin.engine.outputs.raster import AtomicRasterWriter

    # The default action, whatever the test runner inherited (under nohup SIGHUP is
    # ignored, and the clean-up rightly keeps ignoring it after deleting its files).
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    clean_up_on_termination()
    clean_up_on_termination()  # twice adds nothing
    writer = AtomicRasterWriter(
        sys.argv[1], width=64, height=64, crs=None, transform=Affine.identity(),
        dtype="uint8", nodata=255,
    )
    writer.write(np.zeros((64, 64), np.uint8), 0, 0)
    print("writing", flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_worker_removes_its_temporary_files_and_still_dies(tmp_path: Path, signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path / "mask.tif")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "writing"
        assert any(p.name.startswith(".mask.tif.partial-") for p in tmp_path.iterdir())
        process.send_signal(signum)
        assert process.wait(timeout=30) == -signum  # the signal still ends the process
    finally:
        process.kill()
    assert list(tmp_path.iterdir()) == []


def test_terminated_unwinds_like_ctrl_c() -> None:
    from cloud_fcn_plugin.engine.files.interrupts import Terminated, terminate_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as caught, terminate_as_interrupt():
        signal.raise_signal(signal.SIGTERM)
    assert isinstance(caught.value, Terminated) and caught.value.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is before


# Ctrl-C (or SIGTERM) while GDAL runs an algorithm: the signal arrives in its progress callback.
IN_GDAL = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import numpy as np
    from cloud_fcn_plugin.engine.files.interrupts import raise_if_terminated, terminate_as_interrupt
    from cloud_fcn_plugin.engine.outputs.polygons import AtomicPolygonWriter
    from tests.conftest import write_geotiff

    folder = Path(sys.argv[1])
    signum = getattr(signal, sys.argv[2])
    mask = write_geotiff(folder / "mask.tif", (np.arange(40000) % 3 == 0).astype(np.uint8)
                         .reshape(1, 200, 200), nodata=255)
    sent = []

    def progress(fraction):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signum)

    try:
        with terminate_as_interrupt(), AtomicPolygonWriter(folder / "c.gpkg") as writer:
            writer.write(mask, progress=progress, is_canceled=raise_if_terminated)
    except KeyboardInterrupt as stopped:
        print("stopped:", stopped, getattr(stopped, "exit_code", None))
    """
)


@pytest.mark.parametrize(("signum", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_inside_a_gdal_callback_stops_the_run_as_a_signal(
    tmp_path: Path, signum: str, code: int
) -> None:
    """H7: Ctrl-C inside polygonize printed a traceback, then blamed the disk."""
    done = subprocess.run(
        [sys.executable, "-c", IN_GDAL, str(tmp_path), signum],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("stopped:") and done.stdout.split()[-1] == str(code)
    assert "Traceback" not in done.stderr and "disk space" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.tif"]


def test_a_signal_while_gdal_runs_is_recorded_then_raised_after_it() -> None:
    """H7: a signal raised at any point of a GDAL callback reached SWIG, which printed it."""
    import os

    from cloud_fcn_plugin.engine.files.interrupts import (
        Terminated,
        deferred_signals,
        raise_if_terminated,
        signal_pending,
        terminate_as_interrupt,
    )

    with terminate_as_interrupt():
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, and only records
            assert signal_pending()
        with pytest.raises(Terminated) as stopped:
            raise_if_terminated()
        assert stopped.value.exit_code == 143
    assert not signal_pending()
