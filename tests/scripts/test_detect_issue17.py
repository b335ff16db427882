"""scripts/detect.py against the second reliability audit (issue 17), its commands made small."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.test_detect import assert_one_line_error, detect, partials, random_scene

LONG = "a" * 300


@pytest.fixture
def weights(brightness_weights: Path) -> list[str]:
    return ["--weights", str(brightness_weights)]


class TestNeverTheInput:
    def test_resume_never_deletes_the_input(self, tmp_path: Path, weights: list[str]) -> None:
        """C1: ``detect.py in.tif -o in.tif --resume`` deleted the scene."""
        scene = random_scene(tmp_path / "in.tif", 32)
        before = scene.read_bytes()
        assert_one_line_error(detect(scene, "-o", scene, "--resume", *weights), "destroy")
        assert scene.read_bytes() == before

    @pytest.mark.parametrize("which", ["scene", "list", "mask"])
    def test_report_never_replaces_what_the_batch_reads(
        self, tmp_path: Path, weights: list[str], which: str
    ) -> None:
        """C2: ``--report`` wrote CSV over the scene, the list file or a mask, exit 0."""
        scene = random_scene(tmp_path / "a.tif", 32)
        listing = tmp_path / "list.txt"
        listing.write_text(f"{scene}\n")
        mask = tmp_path / "m" / "a_cloudmask.tif"
        report = {"scene": scene, "list": listing, "mask": mask}[which]
        before = {path: path.read_bytes() for path in (scene, listing)}
        result = detect(listing, "--output-dir", tmp_path / "m", "--report", report, *weights)
        assert_one_line_error(result, "report" if which == "mask" else "destroy")
        assert {path: path.read_bytes() for path in before} == before
        assert not mask.exists()

    @pytest.mark.parametrize("option", ["-o", "--masked-image"])
    def test_a_nested_vrt_source_is_never_replaced(
        self, tmp_path: Path, weights: list[str], option: str
    ) -> None:
        """C4: ``outer.vrt -> inner.vrt -> src.tif``: the source scene was replaced."""
        source = random_scene(tmp_path / "src.tif", 32)
        inner, outer = tmp_path / "inner.vrt", tmp_path / "outer.vrt"
        subprocess.run(["gdalbuildvrt", "-q", str(inner), str(source)], check=True)
        subprocess.run(["gdalbuildvrt", "-q", str(outer), str(inner)], check=True)
        before = source.read_bytes()
        outputs = {"-o": tmp_path / "m.tif", option: source}
        args = [str(item) for pair in outputs.items() for item in pair]
        assert_one_line_error(detect(outer, *args, "--overwrite", *weights), "destroy")
        assert source.read_bytes() == before


class TestCommittedTogether:
    def test_a_preview_that_cannot_be_written_leaves_the_mask_alone(
        self, tmp_path: Path, weights: list[str]
    ) -> None:
        """H3 (and old D12): as root /proc passes the up-front check, then the write fails."""
        if os.geteuid() != 0:
            pytest.skip("/proc is writable in name only for root")
        scene = random_scene(tmp_path / "s.tif", 32)
        mask = tmp_path / "m.tif"
        result = detect(scene, "-o", mask, "--preview", "/proc/x.png", *weights)
        assert_one_line_error(result, "/proc")
        assert not mask.exists() and partials(tmp_path) == []

    def test_disk_full_on_the_preview_keeps_the_old_mask(
        self, tmp_path: Path, tiny_disk: Path, weights: list[str]
    ) -> None:
        """H3: the mask was replaced, then the preview failed with a libpng traceback."""
        small, big = random_scene(tmp_path / "s.tif", 32), random_scene(tmp_path / "b.tif", 800)
        mask, png = tiny_disk / "m.tif", tiny_disk / "p.png"
        assert detect(small, "-o", mask, "--preview", png, *weights).returncode == 0
        old = mask.read_bytes(), png.read_bytes()
        result = detect(big, "-o", mask, "--preview", png, "--overwrite", *weights)
        assert_one_line_error(result, "free disk space")
        assert (mask.read_bytes(), png.read_bytes()) == old
        assert sorted(p.name for p in tiny_disk.iterdir()) == ["m.tif", "p.png"]


class TestPathsTheOsRejects:
    def test_over_long_names_and_link_loops_are_one_line(
        self, tmp_path: Path, weights: list[str]
    ) -> None:
        """H8: OSError and RuntimeError tracebacks from Path.exists/resolve."""
        scene = random_scene(tmp_path / "s.tif", 32)
        (tmp_path / "la.tif").symlink_to(tmp_path / "lb.tif")
        (tmp_path / "lb.tif").symlink_to(tmp_path / "la.tif")
        cases = [
            ([tmp_path / f"{LONG}.tif", "-o", tmp_path / "x.tif"], "too long"),
            ([scene, "-o", tmp_path / f"{LONG}.tif"], "too long"),
            ([scene, "-o", tmp_path / "x.tif", "--polygons", tmp_path / f"{LONG}.gpkg"], "long"),
            ([tmp_path / "la.tif", "-o", tmp_path / "x.tif"], "loops"),
            ([scene, "-o", tmp_path / "la.tif"], "loops"),
        ]
        for args, words in cases:
            assert_one_line_error(detect(*args, *weights), words)

    def test_a_fifo_is_refused_at_once(self, tmp_path: Path, weights: list[str]) -> None:
        """H10: GDAL's open blocked on the FIFO and ignored SIGTERM."""
        fifo = tmp_path / "f.tif"
        os.mkfifo(fifo)
        assert_one_line_error(detect(fifo, "-o", tmp_path / "x.tif", *weights), "regular file")


class TestLeftovers:
    def test_a_single_run_sweeps_dead_partials_only(
        self, tmp_path: Path, weights: list[str]
    ) -> None:
        """L1: SIGKILL left hidden partials that nothing removed later."""
        scene = random_scene(tmp_path / "s.tif", 32)
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        gone = tmp_path / f".m.tif.partial-{dead}-x"
        kept = tmp_path / f".m.tif.partial-{os.getpid()}-x"  # this test's own: alive
        gone.write_text("x")
        kept.write_text("x")
        assert detect(scene, "-o", tmp_path / "m.tif", *weights).returncode == 0
        assert not gone.exists() and kept.exists()


class TestLastResort:
    @pytest.mark.parametrize("error", [MemoryError(), RecursionError("deep"), OverflowError("x")])
    def test_unforeseen_errors_are_one_line(
        self, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, error: Exception
    ) -> None:
        """Nothing real raises these on demand, so ``run`` is swapped for one that does."""
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
        import detect as script

        def fails(args: object) -> int:
            raise error

        monkeypatch.setattr(script, "run", fails)
        assert script.main(["in.tif", "-o", "out.tif"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and type(error).__name__ in err
