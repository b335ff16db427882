"""Training and evaluation of the cloud detection networks (headless, no QGIS).

Modules: ``datasets`` (38-Cloud/95-Cloud, L8 Biome patches, image+mask pairs),
``augment`` (physically sound augmentation), ``losses`` (soft Jaccard, BCE),
``trainer`` (loop, checkpoints, resume, calibration) and ``evaluation``
(scores with the engine's own inference, 38-Cloud scene reassembly, overlays).
"""
