"""QGIS-free cloud detection engine: numpy, torch and rasterio only.

Never import ``qgis`` or Qt from this package: the command line, the training
scripts and the Dask workers use it without QGIS.
"""
