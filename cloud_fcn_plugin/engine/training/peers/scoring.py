"""The peer's answers scored with the cross-validation's own report, as ours are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .peer import CLOUD_CLASS, SHADOW_CLASS


def score_peer(
    names: Sequence[str],
    groups: Sequence[str],
    fold_of: dict[str, int],
    truths: Sequence[np.ndarray],
    valids: Sequence[np.ndarray],
    classes: dict[int, np.ndarray],
    clouds: dict[int, np.ndarray],
    folds: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """Score one peer model with the cross-validation's report.

    Args:
        names, groups, truths, valids: every patch, in order.
        fold_of: fold of each group.
        classes: the peer's class map by patch index (patches it could not run are absent).
        clouds: its cloud probability by patch index.
        folds: held-out groups of each fold.

    Returns:
        ``{"decision": report, "probability": report}``: the decision report scores the
        peer's own class map (cloud class = 1.0), read at 0.5; the probability report
        its cloud probability at the best pooled threshold and at 0.5.
    """
    # Imported here: the cross-validation needs GDAL, which the peer's environment lacks.
    from ..oof_scores import OutOfFold, cv_report

    def results(maps: dict[int, np.ndarray]) -> list[OutOfFold]:
        return [
            OutOfFold(
                name=names[i],
                group=groups[i],
                fold=fold_of[groups[i]],
                gain=1.0,
                probability=maps[i],
                truth=truths[i],
                valid=valids[i],
            )
            for i in sorted(maps)
        ]

    decision = cv_report(
        results({i: (c == CLOUD_CLASS).astype(np.float32) for i, c in classes.items()}), folds
    )
    probability = cv_report(results(clouds), folds)
    return {"decision": decision, "probability": probability}


def score_peer_shadow(
    names: Sequence[str],
    groups: Sequence[str],
    fold_of: dict[str, int],
    shadows: Sequence[np.ndarray],
    known: Sequence[np.ndarray],
    classes: dict[int, np.ndarray],
    folds: Sequence[Sequence[str]],
) -> dict[str, Any]:
    """Score the peer's cloud-shadow class (its argmax) where shadow is labelled.

    Args:
        names, groups: every patch, in order.
        fold_of: fold of each group.
        shadows: shadow truth per patch; ``known``: where it is labelled (and valid).
        classes: the peer's class map by patch index.
        folds: held-out groups of each fold.

    Returns:
        The cross-validation report of the 0/1 shadow map (read it at 0.5); patches
        with no labelled shadow pixel are left out.
    """
    from ..oof_scores import OutOfFold, cv_report

    results = [
        OutOfFold(
            name=names[i], group=groups[i], fold=fold_of[groups[i]], gain=1.0,
            probability=(c == SHADOW_CLASS).astype(np.float32), truth=shadows[i],
            valid=known[i],
        )
        for i, c in sorted(classes.items())
        if known[i].any()
    ]  # fmt: skip
    return cv_report(results, folds)
