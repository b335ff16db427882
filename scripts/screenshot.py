"""Screenshots of QGIS with the "Detect clouds and shadows" panel.

Starts the real QGIS desktop under Xvfb with a throw-away profile in which the
working tree is linked and enabled (as ``make install`` does). By default it builds a
B2-B5 stack of the Long Island scene, runs the panel on it and saves the main window
to ``docs/screenshot.png``. With ``--panel LANG`` (``en``, ``fr``) QGIS runs in that
language, the panel sits at QGIS's default dock width (298 px) with every group open,
runs on the Gulf of Mexico product (30 m, with a BQA band: its QA comparison and the QA
band's mask beside the network's) and the whole panel, scrolled content included, is
saved to ``docs/panel_<LANG>.png``.

Usage: ``python scripts/screenshot.py [--output docs/screenshot.png] [--weights FILE]``
       ``python scripts/screenshot.py --panel fr [--output docs/panel_fr.png]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENE = REPO_ROOT.parent / "shared" / "data" / "scenes" / "LC80130312015295LGN00_toa_120m"
STEM = "LC80130312015295LGN00"
WINDOW = (1440, 900)
GULF = REPO_ROOT.parent / "shared" / "data" / "scenes" / "LC80200392015216LGN00_L1T_30m"
#: QGIS's default width of a dock on the right (QGIS 3 and 4).
DOCK_WIDTH = 298


def in_qgis_panel(options: dict) -> None:
    """Run inside QGIS: the panel at the default width, every group open, after a run."""
    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer
    from qgis.gui import QgsCollapsibleGroupBox
    from qgis.PyQt.QtCore import Qt, QTimer
    from qgis.utils import iface, plugins

    band = Path(options["scene"]) / "LC80200392015216LGN00_B4.TIF"
    layer = QgsRasterLayer(str(band), "LC80200392015216LGN00_B4", "gdal")
    QgsProject.instance().addMapLayer(layer)
    window = iface.mainWindow()
    window.resize(*WINDOW)
    plugin = plugins["cloud_fcn_plugin"]
    plugin.action.setChecked(True)
    dock = plugin.dock
    iface.setActiveLayer(layer)
    dock.follow_layer(layer)
    for box in dock.findChildren(QgsCollapsibleGroupBox):
        box.setCollapsed(False)
    dock.form.workflow.min_size_spin.setValue(10)
    dock.form.workflow.buffer_spin.setValue(2)
    dock.form.workflow.polygons_check.setChecked(True)
    dock.form.qa_check.setChecked(True)
    window.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def save() -> None:
        body = dock.body
        viewport = dock.widget().viewport()
        print(f"dock {dock.width()} px, viewport {viewport.width()} px, panel "
              f"{body.width()} x {body.height()} px", flush=True)
        body.grab().save(options["output"])
        print(f"saved {options['output']}", flush=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def failed() -> None:
        print("the run did not finish in time", file=sys.stderr, flush=True)
        QgsApplication.exit(1)

    dock.qa_mask_added.connect(lambda _layer: QTimer.singleShot(2000, save))
    QTimer.singleShot(1500, dock.run_button.click)
    QTimer.singleShot(int(options["timeout"]) * 1000, failed)


# ------------------------------------------------------------------ inside QGIS
def in_qgis(options: dict) -> None:
    """Run inside QGIS (``qgis --code``): load the scene, run the panel, save the window."""
    from osgeo import gdal
    from qgis.core import QgsApplication, QgsContrastEnhancement, QgsProject, QgsRasterLayer
    from qgis.PyQt.QtCore import Qt, QTimer
    from qgis.utils import iface, plugins

    work = Path(options["work"])
    bands = [str(Path(options["scene"]) / f"{STEM}_B{b}_toa.tif") for b in (2, 3, 4, 5)]
    stack = work / f"{STEM}_B2-B5_toa.vrt"
    gdal.BuildVRT(str(stack), bands, separate=True).FlushCache()
    layer = QgsRasterLayer(str(stack), "Long Island 2015-10-22 (B2-B5 TOA)", "gdal")
    renderer = layer.renderer()
    renderer.setRedBand(3)
    renderer.setGreenBand(2)
    renderer.setBlueBand(1)
    for band, setter in ((3, renderer.setRedContrastEnhancement),
                         (2, renderer.setGreenContrastEnhancement),
                         (1, renderer.setBlueContrastEnhancement)):
        enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(band))
        enhancement.setContrastEnhancementAlgorithm(
            QgsContrastEnhancement.ContrastEnhancementAlgorithm.StretchToMinimumMaximum
        )
        enhancement.setMinimumValue(0.02)
        enhancement.setMaximumValue(0.3)
        setter(enhancement)
    QgsProject.instance().addMapLayer(layer)

    window = iface.mainWindow()
    window.resize(*WINDOW)
    plugin = plugins["cloud_fcn_plugin"]
    plugin.action.setChecked(True)
    dock = plugin.dock
    iface.setActiveLayer(layer)
    dock.follow_layer(layer)
    if options.get("weights"):
        dock.form.advanced.model_widget.setFilePath(options["weights"])
    window.resizeDocks([dock], [440], Qt.Orientation.Horizontal)
    canvas = iface.mapCanvas()
    canvas.setExtent(layer.extent())

    def save() -> None:
        window.grab().save(options["output"])
        print(f"saved {options['output']}", flush=True)
        # QGIS 3.22 can crash while tearing down its layer tree and style dock on exit
        # (QgisApp::setMapStyleDockLayer); the picture is written, so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    def added(_mask) -> None:
        canvas.setExtent(layer.extent())
        canvas.refreshAllLayers()
        QTimer.singleShot(4000, save)

    def failed() -> None:
        print("the run did not finish in time", file=sys.stderr, flush=True)
        QgsApplication.exit(1)

    def check_failure() -> None:
        if dock.cover_label.text().endswith("failed"):
            bar = iface.messageBar().currentItem()
            print(f"the run failed: {bar.text() if bar else ''}", file=sys.stderr, flush=True)
            QgsApplication.exit(1)

    poll = QTimer(window)
    poll.timeout.connect(check_failure)
    poll.start(500)
    dock.mask_added.connect(added)
    QTimer.singleShot(1500, dock.run_button.click)
    QTimer.singleShot(int(options["timeout"]) * 1000, failed)


# ----------------------------------------------------------------- outside QGIS
def _venv_site_packages() -> list[str]:
    """The running venv's site-packages, where torch lives (QGIS uses the system Python)."""
    return [p for p in site.getsitepackages() if p.startswith(sys.prefix)]


def _load_install_dev():
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import install_dev
    finally:
        sys.path.pop(0)
    return install_dev


def main(argv: list[str] | None = None) -> int:
    """Start QGIS under Xvfb with the plugin linked in a temporary profile and take the shot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=None,
                        help="default: docs/screenshot.png, or docs/panel_<LANG>.png")
    parser.add_argument("--panel", metavar="LANG", choices=("en", "fr"), default=None,
                        help="the panel alone, expanded, at the default dock width, in LANG")
    parser.add_argument("--scene", type=Path, default=None,
                        help="scene folder (default: Long Island, or the Gulf product)")
    parser.add_argument("--weights", type=Path, default=None, help="default: bundled weights")
    parser.add_argument("--timeout", type=int, default=120, help="seconds to wait for the run")
    args = parser.parse_args(argv)
    if args.output is None:
        name = f"panel_{args.panel}.png" if args.panel else "screenshot.png"
        args.output = REPO_ROOT / "docs" / name
    if args.scene is None:
        args.scene = GULF if args.panel else SCENE
    qgis = shutil.which("qgis")
    if qgis is None:
        print("QGIS desktop (qgis) is not installed.", file=sys.stderr)
        return 1
    if not args.scene.is_dir():
        print(f"Scene not found at {args.scene}: pass --scene.", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cloud_fcn_shot_") as tmp:
        home = Path(tmp)
        install_dev = _load_install_dev()
        profile = home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
        install_dev.link_plugin(profile / "python" / "plugins")
        install_dev.enable_plugin(profile)
        if args.panel:
            ini = profile / "QGIS" / "QGIS3.ini"
            with ini.open("a", encoding="utf-8") as settings:
                settings.write(f"\n[locale]\noverrideFlag=true\nuserLocale={args.panel}\n"
                               "globalLocale=en_US\n")
        options = {
            "output": str(args.output.resolve()),
            "scene": str(args.scene.resolve()),
            "weights": str(args.weights.resolve()) if args.weights else "",
            "work": tmp,
            "timeout": args.timeout,
        }
        code = home / "shot.py"
        code.write_text(
            f"import sys\nsys.path.insert(0, {str(REPO_ROOT / 'scripts')!r})\n"
            f"import screenshot\nscreenshot.{'in_qgis_panel' if args.panel else 'in_qgis'}"
            f"({json.dumps(options)})\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("QGIS_")}
        env.pop("QT_QPA_PLATFORM", None)  # Xvfb gives a real display
        env.update(HOME=tmp, PYTHONPATH=os.pathsep.join(_venv_site_packages()))
        # QGIS would save its band histograms as .aux.xml files beside the shared data.
        env["GDAL_PAM_ENABLED"] = "NO"
        command = [qgis, "--nologo", "--noversioncheck", "--code", str(code)]
        if "DISPLAY" not in os.environ and shutil.which("xvfb-run"):
            size = f"{WINDOW[0] + 40}x{WINDOW[1] + 40}x24"
            command = ["xvfb-run", "-a", "-s", f"-screen 0 {size}", *command]
        done = subprocess.run(command, env=env, timeout=args.timeout + 60, check=False)
    if done.returncode != 0 or not args.output.is_file():
        print(f"QGIS exited with {done.returncode}; no screenshot written.", file=sys.stderr)
        return 1
    print(f"Screenshot written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
