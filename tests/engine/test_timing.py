"""engine.timing: the stages' collector is a no-op until a collection opens."""

from __future__ import annotations

import threading

import pytest

from cloud_fcn_plugin.engine import timing


def _busy() -> None:
    sum(range(20000))


class TestTiming:
    def test_nothing_is_recorded_without_a_collection(self) -> None:
        assert not timing.enabled()
        first, second = timing.stage("read"), timing.stage("network")
        assert first is second  # one shared no-op context
        with first:
            _busy()

    def test_calls_wall_and_cpu_add_up_per_stage_across_threads(self) -> None:
        with timing.collecting() as profile:
            assert timing.enabled()
            with timing.stage("read"):
                _busy()
            worker = threading.Thread(target=lambda: [_busy() for _ in range(2)])
            with timing.stage("network"):
                worker.start()
                worker.join()
            for _ in range(3):
                with timing.stage("network"):
                    _busy()
        assert not timing.enabled()
        assert profile.stages["read"].calls == 1
        assert profile.stages["network"].calls == 4
        assert all(t.wall > 0 and t.cpu >= 0 for t in profile.stages.values())
        assert profile.wall > 0 and profile.process_cpu > 0
        assert [name for name, _ in profile.ordered()] == ["read", "network"]

    def test_a_stage_inside_another_counts_as_the_outer_one(self) -> None:
        @timing.timed("post-processing")
        def refine() -> None:
            with timing.stage("writing"):
                _busy()

        with timing.collecting() as profile:
            refine()
            with timing.stage("writing"):
                _busy()
        assert profile.stages["post-processing"].calls == 1
        assert profile.stages["writing"].calls == 1

    def test_report_as_json_and_markdown(self) -> None:
        with timing.collecting() as profile:
            with timing.stage("blending"):
                _busy()
            with timing.stage("custom stage"):
                _busy()
        data = profile.as_dict()
        assert list(data["stages"]) == ["blending", "custom stage"]
        assert {"calls", "wall_s", "cpu_s"} == set(data["stages"]["blending"])
        assert data["other_cpu_s"] >= 0
        table = profile.table()
        assert table.startswith("| stage | calls | CPU s | share of CPU |")
        assert "| blending | 1 |" in table and "**process**" in table

    def test_one_collection_at_a_time(self) -> None:
        with (
            timing.collecting(),
            pytest.raises(RuntimeError, match="already open"),
            timing.collecting(),
        ):
            pass
        assert not timing.enabled()
