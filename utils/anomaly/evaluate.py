"""The supervised check of the unsupervised signal.

The ground truth is used only here, after scoring: frame-level ROC-AUC of the raw anomaly
score (1 - regularity), and of a random forest fitted on the per-frame metrics with
cross-validation grouped by video (sklearn ``GroupKFold``: no video has frames in both the
fitting and the scored fold, so the forest cannot learn a video's look). Intervals resample
videos (frames of one video are not independent), with
:func:`utils.finetune.thresholds.grouped_bootstrap`. Feature importances are scikit-learn's
permutation importances on each held-out fold (drop in ROC-AUC), averaged over folds.

The forest's inputs, and why (:func:`per_video_features`). Its folds are scored on videos it
has never seen, so every feature must mean the same thing in every video: raw errors do not
(scenes and cameras differ), hence each metric is expressed within its own video, twice.
Min-max over the video is the regularity score's own normalisation (PSNR min-max is exactly
the regularity score), but it rests on two frames only, the video's extremes, and puts every
video's worst frame at 1 however mild it is. The z-score (distance from the video's mean in
its standard deviations) rests on all frames and keeps how far out a frame is: a frame 4
deviations out is unusual in any video. Each is also averaged over the centred
:data:`SMOOTH_FRAMES` frames, because an anomaly lasts several frames. With only a few videos
per fold, the forest is held to the one thing known in advance: more error (lower PSNR) never
makes a frame less anomalous (scikit-learn's ``monotonic_cst``), so it cannot fit a rise and
fall that one training video happens to show. Whether the forest then beats the single score
is measured, not assumed: the notebook prints both AUCs from its own run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.anomaly.scoring import METRICS
from utils.columns import require_columns
from utils.errors import InputError
from utils.finetune.thresholds import grouped_bootstrap
from utils.metrics import roc_auc

if TYPE_CHECKING:
    import pandas as pd

SMOOTH_FRAMES = 5


def auc_by_video(labels: Any, scores: Any, videos: Any, *, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, float]:
    """Frame-level ROC-AUC with a 95 % percentile interval from resampling videos."""
    interval = grouped_bootstrap(labels, scores, videos, 0.5, n_boot=n_boot,
                                 seed=seed)["roc_auc"]
    return {"estimate": roc_auc(labels, scores), "low": interval["low"],
            "high": interval["high"], "defined_resamples": interval["defined"]}


def per_video_features(table: pd.DataFrame) -> pd.DataFrame:
    """Each metric expressed within its video, min-max normalised (``<metric>_video``, as the
    regularity score normalises the PSNR) and z-scored (``<metric>_z``: minus the video's mean,
    over its population standard deviation), plus each of those averaged over the centred
    :data:`SMOOTH_FRAMES` frames (``..._mean5``). Why both: see the module docstring. A metric
    constant over a video gives 0 in both. Rows of a video must be in frame order."""
    import pandas as pd

    require_columns(table.columns, (*METRICS, "video"), "score table")
    values = table[list(METRICS)]
    grouped = values.groupby(table["video"].to_numpy(), sort=False)
    low, high = grouped.transform("min"), grouped.transform("max")
    mean, std = grouped.transform("mean"), grouped.transform(lambda c: c.std(ddof=0))
    normalised = pd.concat([
        ((values - low) / (high - low).where(high > low, 1.0)).add_suffix("_video"),
        ((values - mean) / std.where(std > 0, 1.0)).add_suffix("_z")], axis=1)
    # An anomaly lasts several frames: each feature's centred 5-frame mean gives the context.
    smooth = normalised.groupby(table["video"].to_numpy(), sort=False).transform(
        lambda column: column.rolling(SMOOTH_FRAMES, center=True, min_periods=1).mean())
    return pd.concat([normalised, smooth.add_suffix(f"_mean{SMOOTH_FRAMES}")], axis=1)


def monotone_signs(features: list[str]) -> list[int]:
    """scikit-learn ``monotonic_cst`` for :func:`per_video_features` columns: +1 (more error,
    more anomalous) for every error metric, -1 for the PSNR (higher PSNR, better prediction)."""
    return [-1 if name.startswith("psnr") else 1 for name in features]


@dataclass
class ForestResult:
    scores: np.ndarray  # out-of-fold probability of "anomalous" for every row
    importances: pd.DataFrame  # feature, mean, std (drop in ROC-AUC), folds used
    folds: int


def forest_cv(table: pd.DataFrame, *, folds: int = 4, seed: int = 0, n_estimators: int = 200,
              n_repeats: int = 5) -> ForestResult:
    """Out-of-fold forest scores on :func:`per_video_features`, with folds grouped by
    ``video`` (every video's frames in one fold), monotone in every error (see the module
    docstring)."""
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import GroupKFold

    require_columns(table.columns, ("label", "video"), "score table")
    frame = per_video_features(table)
    features = list(frame.columns)
    n_videos = table["video"].nunique()
    if n_videos < 2:
        raise InputError(f"grouped cross-validation needs >= 2 videos, got {n_videos}")
    folds = min(folds, n_videos)
    x = frame.to_numpy(dtype=np.float64)
    y = table["label"].to_numpy(dtype=np.int64)
    oof = np.full(len(table), np.nan)
    per_fold = []
    for train, test in GroupKFold(n_splits=folds).split(x, y, groups=table["video"]):
        if len(np.unique(y[train])) < 2:
            raise InputError("a training fold holds one class only: fewer folds or more videos")
        forest = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=5,
                                        monotonic_cst=monotone_signs(features),
                                        random_state=seed, n_jobs=1)
        forest.fit(x[train], y[train])
        oof[test] = forest.predict_proba(x[test])[:, 1]
        if len(np.unique(y[test])) == 2:  # ROC-AUC needs both classes in the held-out fold
            drop = permutation_importance(forest, x[test], y[test], scoring="roc_auc",
                                          n_repeats=n_repeats, random_state=seed)
            per_fold.append(drop.importances_mean)
    if per_fold:
        stacked = np.vstack(per_fold)
        importances = pd.DataFrame({"feature": features, "mean": stacked.mean(0),
                                    "std": stacked.std(0), "folds": len(per_fold)})
    else:
        importances = pd.DataFrame({"feature": features, "mean": np.nan, "std": np.nan,
                                    "folds": 0})
    return ForestResult(oof, importances.sort_values("mean", ascending=False,
                                                     ignore_index=True), folds)


def evaluate_table(table: pd.DataFrame, *, folds: int = 4, seed: int = 0, n_boot: int = 1000,
                   n_estimators: int = 200) -> dict[str, Any]:
    """The numbers a lab reports: sizes, AUC of the raw score and of the forest (intervals by
    video), and the permutation importances."""
    require_columns(table.columns, ("video", "label", "anomaly_score"), "score table")
    labels = table["label"].to_numpy()
    if labels.min() == labels.max():
        raise InputError("the score table holds one class only: frame AUC is undefined")
    forest = forest_cv(table, folds=folds, seed=seed, n_estimators=n_estimators)
    return {
        "frames": len(table), "videos": int(table["video"].nunique()),
        "anomalous_frames": int(labels.sum()), "folds": forest.folds, "seed": seed,
        "auc_regularity": auc_by_video(labels, table["anomaly_score"], table["video"],
                                       n_boot=n_boot, seed=seed),
        "auc_forest": auc_by_video(labels, forest.scores, table["video"], n_boot=n_boot,
                                   seed=seed),
        "importances": forest.importances.to_dict(orient="records"),
        "forest_scores": forest.scores,
    }
