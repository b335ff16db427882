"""Low-level file access every stage shares: GDAL opening, atomic writes, safe JSON, signals."""
