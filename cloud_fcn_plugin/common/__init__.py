"""Parameter logic shared by the dock panel and the Processing algorithm.

Both front ends turn QGIS layers and widget values into one
:class:`~cloud_fcn_plugin.engine.params.DetectionParams`, call the engine through
:func:`run_detection`, and present its errors the same way.
"""
