"""BLAS thread pools are held at one thread while the engine's workers run."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from cloud_fcn_plugin.engine.inference.threads import single_threaded_blas

threadpoolctl = pytest.importorskip("threadpoolctl")


def test_without_threadpoolctl_nothing_is_limited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    with single_threaded_blas():
        pass


def _blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool["user_api"] == "blas"]  # fmt: skip


def test_blas_is_single_threaded_inside_and_restored_after() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's BLAS is loaded by now
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can control is loaded")
    with single_threaded_blas():
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def test_overlapping_runs_restore_the_limits_when_the_last_ends() -> None:
    np.ones((2, 2)) @ np.ones((2, 2))
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can control is loaded")
    first, second = single_threaded_blas(), single_threaded_blas()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first run ends while the second goes on
    assert _blas_threads() == [1] * len(before)
    second.__exit__(None, None, None)
    assert _blas_threads() == before
