"""engine/batch/exit_status: every way a detection command fails, as one line and a code."""

from __future__ import annotations

import signal

import pytest

from cloud_fcn_plugin.engine.batch.exit_status import ending, last_resort
from cloud_fcn_plugin.engine.errors import CanceledError, InputNotFoundError
from cloud_fcn_plugin.engine.files.interrupts import Terminated


class TestEnding:
    def test_engine_errors_are_their_message(self) -> None:
        assert ending(InputNotFoundError("No file x.tif.")) == ("error: No file x.tif.", 1)

    def test_interruptions_say_nothing_was_written(self) -> None:
        assert ending(KeyboardInterrupt()) == ("canceled: interrupted, no output was written.", 130)
        line, code = ending(Terminated(signal.SIGTERM))
        assert line == "canceled: terminated by SIGTERM, no output was written." and code == 143

    def test_a_batch_canceled_by_a_signal_keeps_its_code(self) -> None:
        try:
            try:
                raise Terminated(signal.SIGHUP)
            except Terminated:
                raise CanceledError("2 scenes were not run.")  # noqa: B904: its context
        except CanceledError as error:
            assert ending(error) == ("canceled: 2 scenes were not run.", 128 + signal.SIGHUP)
        assert ending(CanceledError("stopped."))[1] == 130

    def test_missing_torch_says_how_to_install_it(self) -> None:
        line, code = ending(ModuleNotFoundError("No module named 'torch'", name="torch"))
        assert code == 1 and "pip install torch" in line
        other = ending(ModuleNotFoundError("No module named 'tqdm'", name="tqdm"))[0]
        assert other.startswith("error: ModuleNotFoundError: No module named 'tqdm'")


class TestLastResort:
    @pytest.mark.parametrize(
        ("error", "hint"),
        [(MemoryError(), "smaller --tile-size"), (RecursionError("deep"), "nests too deeply"),
         (OverflowError("x"), "too large"), (RuntimeError("a\n b"), "report this")],
    )  # fmt: skip
    def test_one_line_with_what_to_do(self, error: BaseException, hint: str) -> None:
        line = last_resort(error)
        assert line.startswith(f"error: {type(error).__name__}") and hint in line
        assert "\n" not in line and line.endswith(").")
