"""Inputs: GDAL access, product folders, MTL files, bands and scaling, the QA band, the read set."""
