"""Logic shared by the dock panel and the Processing algorithm, free of widgets.

The algorithm turns QGIS layers and parameter values into one
:class:`~cloud_fcn_plugin.engine.params.DetectionParams` and calls the engine through
:func:`run_detection`; the panel is a front end of the algorithm and uses the shared
choices, layer description and styling to show what a run will do and did.
"""
