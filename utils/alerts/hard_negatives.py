"""Long term: the normal alerts the model is most sure are thefts, as extra training negatives.

A false positive that scores high is what a per-camera threshold cannot remove without losing
thefts; the lasting fix is a model that scores it low. This module lists, per camera and per
normal label, the highest-scoring normal alerts (reviewed verdicts applied, so a reviewed
theft is never listed). The list is what lab 2's fine-tuning reads with ``--extra-negatives``
(:mod:`utils.finetune.negatives`): one row per clip, columns :data:`COLUMNS`, the clip files
named ``video_name`` in the list's folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from utils.errors import InputError

COLUMNS = ("video_name", "store", "camera", "label", "score")


def hard_negatives(clean: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """Up to ``per_group`` highest-scoring normal alerts of every (store, camera, label), one row
    per video, sorted by camera, label and decreasing score (ties: video name)."""
    if per_group < 1:
        raise InputError(f"--per-group must be >= 1, got {per_group}")
    normals = clean[~clean["is_theft"] & (clean["probability"] >= 0)]
    normals = normals.sort_values(["probability", "video_name"], ascending=[False, True],
                                  kind="stable").drop_duplicates("video_name")
    top = normals.groupby(["store", "camera", "label"], sort=False, observed=True).head(per_group)
    out = top.rename(columns={"probability": "score"}).loc[:, list(COLUMNS)]
    return out.sort_values(["store", "camera", "label", "score", "video_name"],
                           ascending=[True, True, True, False, True],
                           kind="stable").reset_index(drop=True)


def hard_negatives_job(source: str | Path, out: str | Path, *, per_group: int,
                       table: str = "alerts") -> pd.DataFrame:
    """``alerts hard-negatives``: read ``source`` with its reviews applied, write the list to
    ``out`` (CSV, atomically) and return it."""
    from utils.alerts.review import apply_reviews
    from utils.alerts.reviews import read_reviews
    from utils.alerts.validate import load_alerts
    from utils.io import atomic_path

    if per_group < 1:  # before reading anything
        raise InputError(f"--per-group must be >= 1, got {per_group}")
    clean, _ = load_alerts(source, table=table)
    found = hard_negatives(apply_reviews(clean, read_reviews(source)), per_group)
    with atomic_path(out) as tmp:
        found.to_csv(tmp, index=False)
    return found
