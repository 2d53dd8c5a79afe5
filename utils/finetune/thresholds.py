"""Choosing a decision threshold on validation scores, and reporting what it does on test.

The rule is applied to the validation rows only; the test rows are scored once with the value it
gives. Tuning on the set one reports is the mistake that
:func:`utils.finetune.evaluate.threshold_optimism` measures. A clip is called positive when
``score >= threshold`` (as in :mod:`utils.metrics`).

Bootstrap intervals resample **source videos** with replacement (each drawn video brings all its
clips): clips of one video are not independent, so resampling clips would give intervals that are
too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.metrics import (
    ap_from_groups,
    auc_from_groups,
    average_precision,
    confusion_at,
    fbeta,
    grouped_weights,
    roc_auc,
    threshold_sweep,
)

if TYPE_CHECKING:
    import pandas as pd

RULES = ("max_f1", "max_f2", "target_recall")
METRICS = ("precision", "recall", "f1", "f2", "roc_auc", "average_precision")


@dataclass(frozen=True)
class Threshold:
    """A threshold, the rule that produced it and the set it was chosen on."""

    value: float
    rule: str
    chosen_on: str
    target_recall: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "chosen_on": self.chosen_on, "rule": self.rule}
        if self.target_recall is not None:
            out["target_recall"] = self.target_recall
        return out


def sweep_table(y_true: Any, y_score: Any) -> pd.DataFrame:
    """Every distinct score as a threshold (highest first): counts, precision, recall, F1, F2."""
    sweep = threshold_sweep(y_true, y_score)
    table = sweep.to_frame()
    table["f2"] = fbeta(sweep.tp, sweep.fp, sweep.fn, beta=2.0)
    return table


def choose_threshold(y_true: Any, y_score: Any, rule: str = "max_f1", *,
                     target_recall: float = 0.8, chosen_on: str = "val") -> Threshold:
    """The threshold ``rule`` picks on these rows.

    ``max_f1`` / ``max_f2``: the score maximising F1 / F2 (ties: the highest such threshold,
    i.e. the fewest alerts). ``target_recall``: going down from the highest score, the first
    threshold whose recall reaches ``target_recall`` (the fewest alerts for that recall).
    """
    if rule not in RULES:
        raise InputError(f"threshold rule must be one of {RULES}, got {rule!r}")
    y = np.asarray(y_true)
    if not np.any(y == 1):
        raise InputError(f"cannot choose a threshold on {chosen_on}: it has no positive clip")
    table = sweep_table(y_true, y_score)
    if rule == "target_recall":
        if not 0 < target_recall <= 1:
            raise InputError(f"target recall must be in (0, 1], got {target_recall}")
        reached = np.flatnonzero(table["recall"].to_numpy() >= target_recall - 1e-12)
        value = float(table["threshold"].iloc[reached[0]])
        return Threshold(value, rule, chosen_on, target_recall)
    column = table["f1" if rule == "max_f1" else "f2"].to_numpy()
    return Threshold(float(table["threshold"].iloc[int(np.argmax(column))]), rule, chosen_on)


def binary_report(y_true: Any, y_score: Any, threshold: float) -> dict[str, float | int]:
    """precision, recall, F1, F2 at ``threshold``, ROC-AUC and AP of the scores, and the counts.

    Precision is 0 when nothing is called positive (scikit-learn's ``zero_division=0``); the
    ranking metrics are NaN when a class is absent.
    """
    c = confusion_at(y_true, y_score, threshold)
    return {
        "precision": c.precision(zero_division=0.0),
        "recall": c.recall(zero_division=0.0),
        "f1": c.fbeta(1.0, zero_division=0.0),
        "f2": c.fbeta(2.0, zero_division=0.0),
        "roc_auc": roc_auc(y_true, y_score),
        "average_precision": average_precision(y_true, y_score),
        "tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn,
    }


def grouped_bootstrap(y_true: Any, y_score: Any, groups: Any, threshold: float, *,
                      n_boot: int = 1000, level: float = 0.95,
                      seed: int = 0) -> dict[str, dict[str, float]]:
    """Percentile intervals of every metric of :func:`binary_report`, resampling ``groups``.

    Each resample draws as many groups as there are, with replacement; a group's clips come
    with it. Resamples without a positive (or negative) clip leave the metrics that need one
    undefined; intervals use the defined resamples and ``defined`` says how many there were.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=float)
    names, group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    if not (len(y) == len(s) == len(group_of)) or len(y) == 0:
        raise InputError("y_true, y_score and groups must be non-empty and of equal length")
    if n_boot < 1 or not 0 < level < 1:
        raise InputError(f"need n_boot >= 1 and 0 < level < 1, got {n_boot}, {level}")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(names), size=(n_boot, len(names)))
    per_group = np.stack([np.bincount(d, minlength=len(names)) for d in draws])
    weights = per_group[:, group_of].astype(float)  # (B, n) multiplicity of every clip
    pred = s >= threshold
    tp = weights @ (pred & y)
    fp = weights @ (pred & ~y)
    fn = weights @ (~pred & y)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos, neg = grouped_weights(y, s, weights)
        stats = {
            "precision": np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 0.0),
            "recall": np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1e-300), np.nan),
            "f1": fbeta(tp, fp, fn, beta=1.0),
            "f2": fbeta(tp, fp, fn, beta=2.0),
            "roc_auc": auc_from_groups(pos, neg),
            "average_precision": ap_from_groups(pos, neg),
        }
    alpha = (1 - level) / 2
    out = {}
    for name, values in stats.items():
        ok = values[np.isfinite(values)]
        low, high = np.quantile(ok, [alpha, 1 - alpha]) if ok.size else (np.nan, np.nan)
        out[name] = {"low": float(low), "high": float(high), "defined": int(ok.size)}
    return out
