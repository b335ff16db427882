"""Training and evaluation of the cloud detection networks (headless, no QGIS).

Modules: ``datasets`` (38-Cloud/95-Cloud, L8 Biome patches, image+mask pairs),
``augment`` (physically sound augmentation), ``losses`` (soft Jaccard, BCE),
``config`` (the training recipe), ``patches`` (patch bank, augmented crops),
``schedule`` (learning rate), ``state`` (resume files), ``validation``
(validation, threshold calibration), ``history`` (CSV log, curves), ``trainer``
(the loop and its checkpoints), ``crossval`` (grouped cross-validation) and
``evaluation`` (scores with the engine's own inference, 38-Cloud scene
reassembly, overlays); ``patch_sets`` (a command's datasets, held-out share) and
``launch`` (one training command: train, cross-validate then train, recalibrate);
``peers`` scores public cloud models on the same folds.
"""
