"""ONNX runs that end (time limit, signals, cancel) and graph memory the guard counts."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cloud_fcn_plugin.engine.errors import CanceledError, OutOfMemoryError, WeightsError
from cloud_fcn_plugin.engine.inference.memory import StripLayout, fit_tile_size
from cloud_fcn_plugin.engine.models import onnx_guard
from cloud_fcn_plugin.engine.models.onnx_model import load_onnx_model
from tests.conftest import REPO_ROOT
from tests.onnx_models import contract, endless_loop_model, pointwise_model, quadratic_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture
def endless(tmp_path: Path) -> Path:
    return endless_loop_model(tmp_path / "loop.onnx", contract())


def test_an_endless_probe_is_stopped_at_its_time_limit(
    endless: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_guard, "PROBE_SECONDS", 1.0)
    monkeypatch.setattr("cloud_fcn_plugin.engine.models.onnx_model.PROBE_SECONDS", 1.0)
    with pytest.raises(WeightsError, match=r"ran more than 1 s on one tile") as error:
        load_onnx_model(endless)
    assert "\n" not in str(error.value)


def test_cancel_stops_a_run_on_a_worker_thread(endless: Path) -> None:
    """QGIS's Cancel: the task's is_canceled is polled by the watchdog, not by the stuck run."""
    from concurrent.futures import ThreadPoolExecutor

    model, _ = load_onnx_model(endless, probe=False)
    tiles = np.zeros((1, 4, 16, 16), np.float32)
    with onnx_guard.cancel_source(lambda: True), ThreadPoolExecutor(1) as pool:
        future = pool.submit(model._run, tiles)
        with pytest.raises(CanceledError):
            future.result()


STUCK = textwrap.dedent(
    """
    import sys
    from cloud_fcn_plugin.engine.files.interrupts import terminate_as_interrupt
    from cloud_fcn_plugin.engine.models.onnx_model import load_onnx_model
    model, _ = load_onnx_model(sys.argv[1], probe=False)
    try:
        with terminate_as_interrupt():
            print("running", flush=True)
            model.probe(4, 64)  # never ends by itself
    except KeyboardInterrupt as stopped:
        print("stopped:", getattr(stopped, "exit_code", None), flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")
def test_a_signal_ends_a_run_stuck_inside_the_runtime(endless: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(endless)], cwd=REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "running"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert out.strip() == "stopped: 143", err
    assert "Traceback" not in err


def test_graph_memory_is_counted_per_tile_size(tmp_path: Path) -> None:
    quadratic = quadratic_model(tmp_path / "q.onnx", contract())
    small, large = (onnx_guard.activation_bytes(quadratic, 4, size) for size in (64, 128))
    assert small is not None and large is not None
    assert large >= 15 * small  # (tile^2)^2: 16 times for twice the side
    plain = pointwise_model(tmp_path / "p.onnx", np.ones((1, 4), np.float32), contract())
    assert onnx_guard.activation_bytes(plain, 4, 128) == 0  # one Conv: only its output
    lying = pointwise_model(tmp_path / "l.onnx", np.ones((1, 4), np.float32), contract(),
                            out_shape=("N", 1, 2**40, 2**40))  # fmt: skip
    assert onnx_guard.activation_bytes(lying, 4, 128) == 0  # a declared shape is no memory
    assert onnx_guard.activation_bytes(tmp_path / "missing.onnx", 4, 64) is None


def test_the_memory_guard_holds_graph_memory_against_the_budget(tmp_path: Path) -> None:
    quadratic = quadratic_model(tmp_path / "q.onnx", contract())
    strips = StripLayout(width=512, height=512, bands=4, itemsize=2)

    def fit(budget: int) -> int:
        return fit_tile_size(
            256, 8, strips, architecture="onnx", arch_args={}, concurrent_tiles=1,
            budget=budget, network_bytes=lambda size: onnx_guard.activation_bytes(
                quadratic, 4, size),
        )  # fmt: skip

    assert fit(64 * 2**30) == 256
    assert fit(2 * 2**30) < 256  # 256 px would need 17 GB: lowered
    with pytest.raises(OutOfMemoryError):
        fit(2**20)


def test_runtime_options_bound_memory_and_silence_the_log() -> None:
    import onnxruntime

    options = onnx_guard.bounded_options(onnxruntime.SessionOptions())
    assert not options.enable_cpu_mem_arena and options.log_severity_level == 4
