"""What the peer (ukis-csmask) takes and answers: its bands, classes and models."""

from __future__ import annotations

PEER = "ukis-csmask"
PEER_LEVEL = "l1c"  # its top-of-atmosphere models
PEER_BANDS = ("blue", "green", "red", "nir", "swir16", "swir22")  # its band names
CLOUD_CLASS = 1  # its classes: 0 clear, 1 cloud, 2 cloud shadow
SHADOW_CLASS = 2
# (key, label, number of bands); the peer picks its model from the band names it is given.
PEER_MODELS = (
    ("4b", "ukis-csmask 4-band (L1C)", 4),
    ("6b", "ukis-csmask 6-band (L1C)", 6),
)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
