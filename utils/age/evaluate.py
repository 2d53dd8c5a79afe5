"""How far off the predicted ages are: MAE with a bootstrap interval, the constant (median-age)
baseline, and MAE by age band."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.metrics import BootstrapCI, bootstrap_ci

if TYPE_CHECKING:
    import pandas as pd

BANDS = (0, 13, 18, 25, 40, 60, 121)  # edges: 0-12, 13-17, 18-24, 25-39, 40-59, 60+
GOAL_MAE = 8.0  # the retail brief's target, years


def checked_ages(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y.shape != p.shape or y.ndim != 1 or not len(y):
        raise InputError(f"real and predicted ages must be equal-length non-empty 1-d arrays, "
                         f"got shapes {y.shape} and {p.shape}")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise InputError("real and predicted ages must be finite")
    return y, p


def mae(y_true: Any, y_pred: Any) -> float:
    y, p = checked_ages(y_true, y_pred)
    return float(np.abs(y - p).mean())


def mae_interval(y_true: Any, y_pred: Any, *, legal_age: float = 18, n_boot: int = 1000,
                 level: float = 0.95, seed: int = 0) -> BootstrapCI:
    """MAE with a percentile bootstrap interval over photos (:func:`utils.metrics.bootstrap_ci`,
    resamples stratified by minor/adult so each keeps the test set's number of minors)."""
    y, p = checked_ages(y_true, y_pred)
    return bootstrap_ci(y < legal_age, np.abs(y - p), lambda _, err: float(np.mean(err)),
                        n_boot=n_boot, level=level, seed=seed)


def median_baseline(train_ages: Any, y_true: Any) -> tuple[float, float]:
    """(median training age, MAE of predicting it for everyone): the best constant under L1."""
    median = float(np.median(np.asarray(train_ages, dtype=float)))
    y = np.asarray(y_true, dtype=float)
    return median, mae(y, np.full_like(y, median))


def band_labels(edges: Any = BANDS) -> list[str]:
    edges = list(edges)
    labels = [f"{lo}-{hi - 1}" for lo, hi in pairwise(edges[:-1])]
    return [*labels, f"{edges[-2]}+"]


def age_band(ages: Any, edges: Any = BANDS) -> np.ndarray:
    """Band index of each age: band k holds edges[k] <= age < edges[k+1]."""
    a = np.asarray(ages, dtype=float)
    edges = np.asarray(edges, dtype=float)
    if (a < edges[0]).any() or (a >= edges[-1]).any():
        raise InputError(f"ages must lie in [{edges[0]:g}, {edges[-1]:g})")
    return np.searchsorted(edges, a, side="right") - 1


def mae_by_band(y_true: Any, y_pred: Any, edges: Any = BANDS) -> pd.DataFrame:
    """Per band of the *real* age: photos, MAE and mean signed error (predicted - real; a
    negative bias means the model makes that band look younger). Empty bands have NaN."""
    import pandas as pd

    y, p = checked_ages(y_true, y_pred)
    band = age_band(y, edges)
    rows = []
    for k, label in enumerate(band_labels(edges)):
        sel = band == k
        rows.append({"band": label, "photos": int(sel.sum()),
                     "mae": float(np.abs(p[sel] - y[sel]).mean()) if sel.any() else np.nan,
                     "bias": float((p[sel] - y[sel]).mean()) if sel.any() else np.nan})
    return pd.DataFrame(rows)
