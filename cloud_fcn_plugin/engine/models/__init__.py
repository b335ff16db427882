"""Fully convolutional cloud-detection networks and the registry that builds them by name."""

from .base import SegmentationModel
from .registry import available_models, build_model

__all__ = ["SegmentationModel", "available_models", "build_model"]
