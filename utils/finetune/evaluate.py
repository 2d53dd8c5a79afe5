"""Metrics of a run from its stored scores, and the course's two mistakes measured.

Everything here reads ``scores.csv`` (clip, source_video, split, label, score): the model is
never run again. ``evaluate_scores`` chooses the threshold on the validation rows and applies it
to the test rows; the two mistakes of the original course are measured against that:

* ``threshold_optimism``: the threshold tuned on the test set itself (the course reported the best
  F1 over test thresholds) vs the one chosen on validation;
* ``leakage_comparison``: a clip-level random split (clips of one source video in train and test)
  vs the grouped split, with the same embeddings and the same head settings.
Optimism is reported in F1 points (x 100).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.finetune.thresholds import (
    binary_report,
    choose_threshold,
    grouped_bootstrap,
)

if TYPE_CHECKING:
    import pandas as pd

SCORE_COLUMNS = ("clip", "source_video", "split", "label", "score")


def read_scores(path: Any) -> pd.DataFrame:
    """Read a run's ``scores.csv`` (or a folder holding one), checking its columns."""
    from pathlib import Path

    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / "scores.csv"
    try:
        frame = pd.read_csv(path, dtype={"clip": str, "source_video": str, "split": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read scores ({exc})") from exc
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: lacks columns {missing}; expected {list(SCORE_COLUMNS)}")
    return frame


def _rows(scores: pd.DataFrame, split: str) -> pd.DataFrame:
    rows = scores[scores["split"] == split]
    if rows.empty:
        raise InputError(f"no {split} rows in the scores")
    return rows


def evaluate_scores(scores: pd.DataFrame, *, rule: str = "max_f1", target_recall: float = 0.8,
                    n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Threshold from the val rows only, applied to val and test; bootstrap 95 % intervals of
    every test (and val) metric, resampling source videos."""
    val, test = _rows(scores, "val"), _rows(scores, "test")
    threshold = choose_threshold(val["label"], val["score"], rule, target_recall=target_recall)
    out: dict[str, Any] = {"threshold": threshold.to_dict()}
    intervals = {}
    for name, rows in (("val", val), ("test", test)):
        out[name] = binary_report(rows["label"], rows["score"], threshold.value)
        intervals[name] = grouped_bootstrap(rows["label"], rows["score"], rows["source_video"],
                                            threshold.value, n_boot=n_boot, seed=seed)
    out["bootstrap"] = {"resampled": "source_video", "n_boot": n_boot, "level": 0.95,
                        **intervals}
    return out


def threshold_optimism(scores: pd.DataFrame, *, rule: str = "max_f1",
                       target_recall: float = 0.8) -> dict[str, Any]:
    """Test F1 with the threshold chosen on val vs tuned on test (the course's way)."""
    val, test = _rows(scores, "val"), _rows(scores, "test")
    honest = choose_threshold(val["label"], val["score"], rule, target_recall=target_recall)
    tuned = choose_threshold(test["label"], test["score"], rule, target_recall=target_recall,
                             chosen_on="test")
    f1_val = binary_report(test["label"], test["score"], honest.value)["f1"]
    f1_test = binary_report(test["label"], test["score"], tuned.value)["f1"]
    return {"rule": rule, "threshold_from_val": honest.value, "threshold_from_test": tuned.value,
            "test_f1_threshold_from_val": f1_val, "test_f1_threshold_from_test": f1_test,
            "optimism_f1_points": 100 * (f1_test - f1_val)}


def random_split(labels: np.ndarray, val: float, test: float, seed: int) -> np.ndarray:
    """Clip-level stratified random split (the course's): an array of split names."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(labels))
    rest, test_idx = train_test_split(index, test_size=test, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=val / (1 - test),
                                          stratify=labels[rest], random_state=seed)
    split = np.empty(len(labels), dtype=object)
    split[train_idx], split[val_idx], split[test_idx] = "train", "val", "test"
    return split


def split_scores(x: Any, table: pd.DataFrame, split: Any, **train_kwargs: Any) -> pd.DataFrame:
    """Train a head on the rows whose ``split`` is "train" (early-stopped on "val") and score
    every row: ``table`` (one row per row of ``x``, with a ``label`` column) plus ``split`` and
    ``score``. ``train_kwargs`` go to :func:`train_head`."""
    from utils.finetune.head import predict, train_head

    x = np.asarray(x, dtype=np.float32)
    split = np.asarray(split, dtype=object)
    if not len(x) == len(table) == len(split):
        raise InputError(f"x has {len(x)} rows, table {len(table)}, split {len(split)}")
    labels = table["label"].to_numpy(dtype=np.int64)
    train, val = split == "train", split == "val"
    result = train_head(x[train], labels[train], x[val], labels[val],
                        **{**train_kwargs, "progress": False})
    device = train_kwargs.get("device", "cpu")  # the head stays where it was trained
    return table.assign(split=split, score=predict(result.head, x, device=device))


def leakage_comparison(x: Any, table: pd.DataFrame, *, seeds: Sequence[int] = (0, 1, 2),
                       val: float = 0.15, test: float = 0.15, rule: str = "max_f1",
                       **train_kwargs: Any) -> pd.DataFrame:
    """Train the same head on a clip-level random split and on a grouped split, per seed.

    ``x`` holds one embedding per row of ``table`` (columns clip, source_video, label). Returns
    one row per (seed, split kind) with the test F1 (threshold chosen on its own val), AP and
    ROC-AUC, and ``videos_shared``: test source videos that also have clips in training.
    ``train_kwargs`` go to :func:`train_head`; its seed is each split's seed.
    """
    import pandas as pd

    from utils.datasets.splits import grouped_split

    x = np.asarray(x, dtype=np.float32)
    labels = table["label"].to_numpy(dtype=np.int64)
    rows = []
    for seed in seeds:
        grouped = grouped_split(table["clip"].tolist(), table["source_video"].tolist(),
                                labels.tolist(), val=val, test=test, seed=seed)["split"]
        for kind, split in (("clip-level random", random_split(labels, val, test, seed)),
                            ("grouped by source video", grouped.to_numpy())):
            part = {s: split == s for s in ("train", "val", "test")}
            scores = split_scores(x, table, split, **{**train_kwargs, "seed": seed})
            thr = choose_threshold(labels[part["val"]], scores["score"][part["val"]], rule)
            report = binary_report(labels[part["test"]], scores["score"][part["test"]],
                                   thr.value)
            shared = set(table["source_video"][part["test"]]) & set(
                table["source_video"][part["train"]])
            rows.append({"seed": seed, "split": kind, "test_f1": report["f1"],
                         "test_ap": report["average_precision"],
                         "test_roc_auc": report["roc_auc"], "videos_shared": len(shared)})
    return pd.DataFrame(rows)


def leakage_optimism(comparison: pd.DataFrame) -> dict[str, float]:
    """Mean test F1 of each split kind and the difference, in F1 points."""
    means = comparison.groupby("split")["test_f1"].mean()
    random_f1 = float(means["clip-level random"])
    grouped_f1 = float(means["grouped by source video"])
    return {"test_f1_random_split": random_f1, "test_f1_grouped_split": grouped_f1,
            "optimism_f1_points": 100 * (random_f1 - grouped_f1),
            "seeds": int(comparison["seed"].nunique())}
