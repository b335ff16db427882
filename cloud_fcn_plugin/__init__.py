"""Cloud FCN: cloud detection in Landsat 8/9 imagery for QGIS."""


def classFactory(iface):  # the name QGIS looks for
    """Return the plugin; imported here so the engine never needs QGIS."""
    from .plugin import CloudFcnPlugin

    return CloudFcnPlugin(iface)
