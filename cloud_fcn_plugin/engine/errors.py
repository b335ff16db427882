"""One error hierarchy for the whole project.

Every error carries a one-line message that says what went wrong and what to do.
Each class also inherits the matching builtin so callers that only know Python's
exceptions still catch it (as rasterio's errors do).
"""

from __future__ import annotations


class CloudFcnError(Exception):
    """Base class of every error the engine raises on purpose."""


class InputNotFoundError(CloudFcnError, FileNotFoundError):
    """The input raster, product folder or MTL file does not exist."""


class InputReadError(CloudFcnError, OSError):
    """The input exists but cannot be read as a raster or Landsat product."""


class BandMismatchError(CloudFcnError, ValueError):
    """The raster lacks a band the model needs, or a band index is out of range."""


class MetadataError(CloudFcnError, ValueError):
    """A Landsat MTL file is malformed or lacks a required key."""


class NoValidPixelsError(CloudFcnError, ValueError):
    """Every pixel of the input is fill (nodata)."""


class WeightsError(CloudFcnError, ValueError):
    """A checkpoint is missing, corrupt, unsafe or does not match its architecture."""


class OutputExistsError(CloudFcnError, FileExistsError):
    """The output file exists and overwriting was not asked for."""


class OutputNotWritableError(CloudFcnError, PermissionError):
    """The output folder does not exist or cannot be written."""


class ParameterError(CloudFcnError, ValueError):
    """A processing parameter (threshold, tile size, device...) is invalid."""


class DeviceError(CloudFcnError, RuntimeError):
    """The requested compute device is not available."""


class CanceledError(CloudFcnError):
    """The user canceled the run; nothing was written."""


class DependencyMissingError(CloudFcnError, ImportError):
    """A Python package the engine needs (PyTorch) is not importable."""


class UnsupportedDataError(CloudFcnError, ValueError):
    """The pixels cannot be Landsat data: complex numbers, 8-bit pictures, an alpha band."""


class OutputConflictError(ParameterError):
    """An output would replace the input, one of its files, or another output of the run."""


class OutOfMemoryError(CloudFcnError, MemoryError):
    """The run cannot fit in the memory this machine has free."""


def shown(value: object, limit: int = 40) -> str:
    """A value from a file, for an error line: its repr, cut short (a number 4,000 digits long)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print (Python's digit limit)
        return f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
