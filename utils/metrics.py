"""Binary-classification metrics for scores and labels, on scikit-learn.

The point values (ROC-AUC, average precision, confusion counts) are scikit-learn's; what is
kept here is what it does not offer: ratios from counts over arrays (every threshold of a sweep
at once: ``benchmarks/bench_metrics.py`` finds the same numbers thousands of times faster than
scikit-learn's per-threshold ``precision_recall_fscore_support``), explicit NaN for undefined
ranking metrics, and a stratified bootstrap of ROC-AUC and AP computed for all resamples at once
(checked against ``scipy.stats.bootstrap`` in the tests).

Every function takes ``y_true`` (0/1 or bool) and, where relevant, ``y_score`` (higher = more
positive); a sample is predicted positive when ``score >= threshold``. Undefined values are made
explicit: ratios take a ``zero_division`` value, and ranking metrics return NaN (with an
:class:`UndefinedMetricWarning` saying why) when a class is absent, because a number there would
be an invention, not a measurement.

Bootstrap intervals resample *within each class* (stratified), so every resample keeps both classes
and the ranking metrics stay defined; the resamples are drawn as per-row multiplicities, which lets
ROC-AUC and average precision be computed for all resamples at once from one sort.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


class UndefinedMetricWarning(UserWarning):
    """A metric was asked for where it has no value (e.g. ROC-AUC with a single class)."""


def _labels(y_true: Any) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise InputError(f"y_true must be one-dimensional, got shape {y.shape}")
    if y.dtype != bool:
        bad = ~np.isin(y, (0, 1))
        if bad.any():
            raise InputError(f"y_true must hold 0/1 or booleans; found {y[bad][0]!r}")
    return y.astype(bool)


def _labels_scores(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _labels(y_true)
    s = np.asarray(y_score, dtype=float)
    if s.shape != y.shape:
        raise InputError(f"y_true and y_score differ in shape: {y.shape} vs {s.shape}")
    if not np.isfinite(s).all():
        raise InputError(f"y_score holds {int((~np.isfinite(s)).sum())} non-finite value(s)")
    return y, s


def undefined_reason(y_true: Any) -> str | None:
    """Why ROC-AUC is undefined for these labels (``None`` when it is defined)."""
    y = _labels(y_true)
    if y.size == 0:
        return "no samples"
    if not y.any():
        return "no positive samples"
    if y.all():
        return "no negative samples"
    return None


# --------------------------------------------------------------------------- counts and ratios


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary decision: true/false positives and negatives."""

    tp: int
    fp: int
    fn: int
    tn: int

    def precision(self, zero_division: float = np.nan) -> float:
        return float(precision(self.tp, self.fp, zero_division=zero_division))

    def recall(self, zero_division: float = np.nan) -> float:
        return float(recall(self.tp, self.fn, zero_division=zero_division))

    def fbeta(self, beta: float = 1.0, zero_division: float = np.nan) -> float:
        return float(fbeta(self.tp, self.fp, self.fn, beta=beta, zero_division=zero_division))


def confusion_at(y_true: Any, y_score: Any, threshold: float) -> Confusion:
    """Confusion counts when every sample with ``score >= threshold`` is called positive."""
    from sklearn.metrics import confusion_matrix

    y, s = _labels_scores(y_true, y_score)
    tn, fp, fn, tp = confusion_matrix(y, s >= threshold, labels=[False, True]).ravel()
    return Confusion(tp=int(tp), fp=int(fp), fn=int(fn), tn=int(tn))


def _ratio(num: Any, den: Any, zero_division: float) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), zero_division)


def precision(tp: Any, fp: Any, *, zero_division: float = np.nan) -> np.ndarray:
    """TP / (TP + FP); ``zero_division`` where nothing was called positive. Works on arrays."""
    return _ratio(tp, np.asarray(tp) + np.asarray(fp), zero_division)


def recall(tp: Any, fn: Any, *, zero_division: float = np.nan) -> np.ndarray:
    """TP / (TP + FN); ``zero_division`` where there is no positive sample. Works on arrays."""
    return _ratio(tp, np.asarray(tp) + np.asarray(fn), zero_division)


def fbeta(tp: Any, fp: Any, fn: Any, *, beta: float = 1.0,
          zero_division: float = np.nan) -> np.ndarray:
    """F-beta from counts: (1+b²)TP / ((1+b²)TP + b²FN + FP) (beta > 1 favours recall).

    Written on counts rather than on precision and recall so it stays defined when only one of
    them is (e.g. no predicted positive but some positives: F = 0); ``zero_division`` applies only
    when TP = FP = FN = 0.
    """
    if not beta > 0:
        raise InputError(f"beta must be positive, got {beta}")
    b2 = beta * beta
    tp = np.asarray(tp, dtype=float)
    return _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * np.asarray(fn) + np.asarray(fp),
                  zero_division)


def f1(tp: Any, fp: Any, fn: Any, *, zero_division: float = np.nan) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN)."""
    return fbeta(tp, fp, fn, beta=1.0, zero_division=zero_division)


# --------------------------------------------------------------------------- threshold sweep


@dataclass(frozen=True)
class ThresholdSweep:
    """Counts and ratios at every distinct score used as threshold, highest threshold first."""

    threshold: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    @property
    def precision(self) -> np.ndarray:  # never 0/0: each threshold calls >= 1 sample positive
        return precision(self.tp, self.fp)

    @property
    def recall(self) -> np.ndarray:
        return recall(self.tp, self.fn)

    @property
    def f1(self) -> np.ndarray:
        return f1(self.tp, self.fp, self.fn)

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"threshold": self.threshold, "tp": self.tp, "fp": self.fp,
                             "fn": self.fn, "tn": self.tn, "precision": self.precision,
                             "recall": self.recall, "f1": self.f1})


def _tie_groups(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order sorting ``s`` descending, and the start index of each run of equal scores in it."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    return order, starts


def threshold_sweep(y_true: Any, y_score: Any) -> ThresholdSweep:
    """Confusion counts at each distinct score (one sort and two cumulative sums)."""
    y, s = _labels_scores(y_true, y_score)
    if y.size == 0:
        raise InputError("threshold_sweep needs at least one sample")
    order, starts = _tie_groups(s)
    ends = np.r_[starts[1:], y.size] - 1  # last index of each tie group
    tp = np.cumsum(y[order])[ends]
    fp = (ends + 1) - tp
    n_pos = int(y.sum())
    return ThresholdSweep(threshold=s[order][starts], tp=tp, fp=fp, fn=n_pos - tp,
                          tn=(y.size - n_pos) - fp)


# --------------------------------------------------------------------------- ranking metrics


def grouped_weights(y: np.ndarray, s: np.ndarray, weights: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per tie group (highest score first): total positive and negative weight, shape (B, G).

    ``weights`` has shape (B, n): B weightings of the same samples (bootstrap multiplicities, or a
    single row of ones).
    """
    order, starts = _tie_groups(s)
    w = weights[:, order].astype(float)
    pos = np.add.reduceat(np.where(y[order], w, 0.0), starts, axis=1)
    neg = np.add.reduceat(np.where(y[order], 0.0, w), starts, axis=1)
    return pos, neg


def auc_from_groups(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUC: each positive scores 1 per lower negative and 1/2 per tied one."""
    n_neg = neg.sum(axis=1, keepdims=True)
    neg_below = n_neg - np.cumsum(neg, axis=1)
    u = (pos * (neg_below + 0.5 * neg)).sum(axis=1)
    return u / (pos.sum(axis=1) * n_neg[:, 0])


def ap_from_groups(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """Step-wise AP: sum over thresholds of (recall increase) x (precision at that threshold)."""
    tp = np.cumsum(pos, axis=1)
    called = tp + np.cumsum(neg, axis=1)
    prec = np.divide(tp, called, out=np.zeros_like(tp), where=called > 0)
    return (pos * prec).sum(axis=1) / pos.sum(axis=1)


def _undefined(metric: str, reason: str) -> float:
    warnings.warn(f"{metric} is undefined ({reason}); returning NaN",
                  UndefinedMetricWarning, stacklevel=3)
    return float("nan")


def roc_auc(y_true: Any, y_score: Any) -> float:
    """ROC-AUC as P(score of a positive > score of a negative), ties counted 1/2 (average ranks).

    NaN (with a warning naming the reason) when either class is absent.
    """
    from sklearn.metrics import roc_auc_score

    y, s = _labels_scores(y_true, y_score)
    reason = undefined_reason(y)
    if reason:
        return _undefined("ROC-AUC", reason)
    return float(roc_auc_score(y, s))


def average_precision(y_true: Any, y_score: Any) -> float:
    """Average precision, scikit-learn's step-wise definition: sum_n (R_n - R_{n-1}) P_n.

    No interpolation; tied scores form one threshold. NaN (with a warning) without positives.
    """
    from sklearn.metrics import average_precision_score

    y, s = _labels_scores(y_true, y_score)
    if not y.any():
        return _undefined("average precision", "no positive samples")
    return float(average_precision_score(y, s))


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapCI:
    """A point estimate with a percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high,
                "level": self.level, "n_boot": self.n_boot}


BATCH_CELLS = 2_000_000  # resamples x rows held at once (a few float arrays of this size)

_VECTORISED: dict[str, tuple[Callable[[Any, Any], float],
                             Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "roc_auc": (roc_auc, auc_from_groups),
    "average_precision": (average_precision, ap_from_groups),
}


def stratified_counts(y_true: Any, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap multiplicities, shape (n_boot, n): each row resamples the positives among the
    positives and the negatives among the negatives, so class sizes are those of ``y_true``."""
    y = _labels(y_true)
    offsets = (np.arange(n_boot) * y.size)[:, None]
    picks = [members[rng.integers(0, members.size, size=(n_boot, members.size))] + offsets
             for members in (np.flatnonzero(y), np.flatnonzero(~y)) if members.size]
    flat = np.concatenate([p.ravel() for p in picks]) if picks else np.empty(0, dtype=int)
    return np.bincount(flat, minlength=n_boot * y.size).reshape(n_boot, y.size)


def bootstrap_ci(y_true: Any, y_score: Any, metric: str | Callable[[Any, Any], float] = "roc_auc",
                 *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> BootstrapCI:
    """Percentile bootstrap CI of ``metric`` with class-stratified resampling (seeded).

    ``metric`` is ``"roc_auc"`` or ``"average_precision"`` (resamples computed together, in
    batches of about :data:`BATCH_CELLS` resample x row cells to bound memory) or any callable
    ``f(y_true, y_score) -> float`` (evaluated once per resample; the same resamples as the
    named metrics for the same seed). NaN bounds when the metric itself is undefined.
    """
    y, s = _labels_scores(y_true, y_score)
    if n_boot < 1:
        raise InputError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < level < 1:
        raise InputError(f"level must be in (0, 1), got {level}")
    if isinstance(metric, str):
        if metric not in _VECTORISED:
            raise InputError(f"metric must be one of {sorted(_VECTORISED)} or a callable, "
                             f"got {metric!r}")
        point_fn, batch_fn = _VECTORISED[metric]
    else:
        point_fn, batch_fn = metric, None
    estimate = point_fn(y, s)
    if not np.isfinite(estimate):
        return BootstrapCI(float(estimate), np.nan, np.nan, level, n_boot)
    rng = np.random.default_rng(seed)
    stats = []
    chunk = max(1, BATCH_CELLS // max(y.size, 1))
    for start in range(0, n_boot, chunk):
        counts = stratified_counts(y, min(chunk, n_boot - start), rng)
        if batch_fn is not None:
            stats.append(batch_fn(*grouped_weights(y, s, counts)))
        else:
            stats.append(np.array([point_fn(np.repeat(y, c), np.repeat(s, c)) for c in counts]))
    alpha = (1 - level) / 2
    low, high = np.quantile(np.concatenate(stats), [alpha, 1 - alpha])
    return BootstrapCI(float(estimate), float(low), float(high), level, n_boot)
