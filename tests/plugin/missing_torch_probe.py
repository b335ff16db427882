"""Run in a subprocess with torch hidden: load the plugin, inspect the dock, run the algorithm.

Prints one JSON object with what it saw (read by test_missing_torch.py).
"""

from __future__ import annotations

import json
import sys

sys.path.append("/usr/share/qgis/python/plugins")


def main() -> None:
    """Load the plugin without torch and report the panel and algorithm behaviour."""
    from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback

    app = QgsApplication([], True)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from qgis import processing

    import cloud_fcn_plugin
    from tests.plugin.qgis_iface import IfaceStandIn

    iface = IfaceStandIn()
    plugin = cloud_fcn_plugin.classFactory(iface)
    plugin.initGui()
    dock = plugin.dock
    report = {
        "torch_imported": "torch" in sys.modules and sys.modules["torch"] is not None,
        "banner_shown": not dock.torch_frame.isHidden(),
        "banner_text": dock.torch_label.text(),
        "install_button": dock.install_button.text(),
        "run_enabled": dock.run_button.isEnabled(),
    }
    try:
        processing.run(
            "cloud_fcn:detectclouds",
            {"INPUT": sys.argv[1], "OUTPUT": sys.argv[2]},
            feedback=QgsProcessingFeedback(),
        )
        report["error"] = None
    except QgsProcessingException as exc:
        report["error"] = str(exc)
    plugin.unload()
    print("REPORT " + json.dumps(report))
    app.exitQgis()


if __name__ == "__main__":
    main()
