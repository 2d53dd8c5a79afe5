"""Q2: does the model behave the same on every camera?

Per camera (a camera is the pair store, camera) we measure how well the score ranks thefts above
normal rows (ROC-AUC, average precision, with bootstrap CIs), what a recall target costs in false
positives (from the per-camera curve of :mod:`utils.alerts.curves`), and how often thefts occur.
Ranking metrics use **every kept row of the camera**, including rows with probability < 0 (which
are not alerts at the default threshold 0): they describe the score, not the current alerts. The
#FP costs use the curve, i.e. the alerts (probability >= 0), and recall relative to the thefts
alerted at threshold 0.

Two heterogeneity tests answer "is the spread of per-camera AUCs more than chance?":
a permutation test (camera labels shuffled *within each class*, so every camera keeps its numbers
of thefts and normals; statistic = size-weighted variance of the per-camera AUCs), and Cochran's Q
with I² on DeLong variances. A chi-square test asks the same of theft rates. The written
conclusion is :func:`utils.alerts.conclusion.conclusion`; the figures are in
:mod:`utils.alerts.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.curves import REQUIRED_COLUMNS, CameraCurve, camera_curves
from utils.columns import require_columns
from utils.errors import InputError
from utils.metrics import average_precision, bootstrap_ci, roc_auc, threshold_sweep

RECALL_TARGETS: tuple[float, ...] = (0.5, 0.8, 0.9)
# Fewest thefts for which a camera's 95 % bootstrap AUC interval is reported: from this count the
# simulated coverage (:func:`interval_coverage`, checked in the tests) is at least 90 % at AUC 0.75
# and 0.9 (92 % and 90 % over 300 cameras); with 1, 2, 5, 10 thefts it is 8-10 %, 53 %, 75-84 %,
# 81-89 %.
MIN_THEFTS_FOR_CI = 30


def _check(clean: pd.DataFrame) -> None:
    require_columns(clean.columns, REQUIRED_COLUMNS,
                    "the alerts frame (pass the clean frame of utils.alerts.validate.load_alerts)")
    if clean.empty:
        raise InputError("the alerts frame is empty: no camera to analyse")


def recall_column(recall: float) -> str:
    """Name of the table column holding the #FP paid for ``recall`` (e.g. ``fp_at_recall_80``)."""
    return f"fp_at_recall_{round(recall * 100):d}"


def fp_at_recall(curve: CameraCurve, recall: float) -> float:
    """Fewest false positives left while keeping at least ``recall`` of the camera's alerted
    thefts (NaN when the camera has no alerted theft: any recall is undefined there)."""
    if curve.tp_before == 0:
        return float("nan")
    keep = curve.recall() >= recall - 1e-12
    return float(np.min(curve.fp_remaining()[keep]))


def camera_table(clean: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0,
                 min_thefts: int = MIN_THEFTS_FOR_CI, level: float = 0.95,
                 recalls: Sequence[float] = RECALL_TARGETS, progress: bool = True) -> pd.DataFrame:
    """One row per camera, sorted by (store, camera): volume, thefts, theft rate, ROC-AUC and AP,
    #FP paid for each recall in ``recalls``, and flags: ``no_theft`` (AUC undefined) and
    ``few_thefts`` (fewer than ``min_thefts``).

    Percentile bootstrap CIs (stratified, ``n_boot`` resamples, seed ``seed + i`` for the i-th
    camera) are given only for cameras with at least ``min_thefts`` thefts (``estimable``):
    below that the interval does not cover the true AUC as often as it claims
    (:func:`interval_coverage`), so the bounds are NaN: too few thefts to estimate."""
    from utils.alerts.progress import progress_bar

    _check(clean)
    curves = {c.key: c for c in camera_curves(clean)}
    groups = clean.groupby(["store", "camera"], sort=True, observed=True)
    rows = []
    for i, ((store, camera), g) in enumerate(
            progress_bar(groups, total=groups.ngroups, desc="cameras", unit="camera",
                 disable=not progress)):
        y = g["is_theft"].to_numpy(bool)
        p = g["probability"].to_numpy(float)
        n_thefts = int(y.sum())
        curve = curves[str(store), str(camera)]
        row: dict[str, Any] = {
            "store": str(store), "camera": str(camera), "n_rows": len(g),
            "n_alerts": curve.n_alerts, "n_thefts": n_thefts, "tp_before": curve.tp_before,
            "fp_before": curve.fp_before, "theft_rate": n_thefts / len(g),
        }
        # AUC needs both classes; AP only needs a theft.
        estimable = min_thefts <= n_thefts < len(g)
        for name, metric, defined in (("auc", "roc_auc", 0 < n_thefts < len(g)),
                                      ("ap", "average_precision", n_thefts > 0)):
            row |= {name: np.nan, f"{name}_low": np.nan, f"{name}_high": np.nan}
            if defined and estimable:
                ci = bootstrap_ci(y, p, metric, n_boot=n_boot, level=level, seed=seed + i)
                row |= {name: ci.estimate, f"{name}_low": ci.low, f"{name}_high": ci.high}
            elif defined:
                row[name] = roc_auc(y, p) if name == "auc" else average_precision(y, p)
        for r in recalls:
            row[recall_column(r)] = fp_at_recall(curve, r)
        row["no_theft"] = n_thefts == 0
        row["few_thefts"] = 0 < n_thefts < min_thefts
        row["estimable"] = estimable
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class GlobalThresholdCost:
    """What one threshold shared by all cameras costs, against per-camera thresholds.

    ``global_*``: the best single threshold keeping at least ``recall`` of all alerted thefts;
    ``per_camera_*``: the exact per-camera thresholds losing no more thefts than it does.
    """

    recall: float
    tp_before: int
    fp_before: int
    global_threshold: float
    global_tp_lost: int
    global_fp: int
    per_camera_tp_lost: int
    per_camera_fp: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def global_threshold_cost(clean: pd.DataFrame, recall: float = 0.8) -> GlobalThresholdCost:
    """The false positives a single global threshold leaves at ``recall``, and those left by
    per-camera thresholds (exact frontier) for the same number of thefts lost or fewer."""
    from utils.alerts.planning import exact_frontier

    _check(clean)
    if not 0 < recall <= 1:
        raise InputError(f"recall must be in (0, 1], got {recall}")
    alerts = clean[clean["probability"] >= 0]
    y = alerts["is_theft"].to_numpy(bool)
    if not y.any():
        raise InputError("no alerted theft: recall, hence this comparison, is undefined")
    sweep = threshold_sweep(y, alerts["probability"].to_numpy(float))
    # FP falls as the threshold rises: the best threshold is the highest one keeping the recall.
    best = np.flatnonzero(sweep.tp >= recall * y.sum() - 1e-9)[0]
    frontier = exact_frontier(camera_curves(clean), progress=False)
    budget = int(sweep.fn[best])
    point = int(np.searchsorted(frontier.tp_lost, budget, side="right")) - 1
    return GlobalThresholdCost(
        recall=recall, tp_before=int(y.sum()), fp_before=int((~y).sum()),
        global_threshold=float(sweep.threshold[best]), global_tp_lost=budget,
        global_fp=int(sweep.fp[best]), per_camera_tp_lost=int(frontier.tp_lost[point]),
        per_camera_fp=int(frontier.fp_before - frontier.fp_removed[point]))


# --------------------------------------------------------------------------- heterogeneity


@dataclass
class Heterogeneity:
    """Tests of "same behaviour on every camera" (cameras with both classes for the AUC tests)."""

    n_cameras: int                 # cameras with both classes, in the AUC tests
    auc_spread: float              # size-weighted variance of their AUCs (observed)
    permutation_p: float
    n_perm: int
    cochran_q: float
    cochran_df: int
    cochran_p: float
    i2: float                      # share of the AUC variance beyond chance, 0..1
    cochran_excluded: list[str] = field(default_factory=list)  # zero or undefined variance
    rate_chi2: float = float("nan")
    rate_df: int = 0
    rate_p: float = float("nan")
    rate_small_expected: float = float("nan")  # share of expected counts < 5 (chi-square caveat)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _codes(clean: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Camera index of every row (small ints: numpy's stable sort is then a radix sort), and the
    camera names ("store / camera") in (store, camera) order."""
    groups = clean.groupby(["store", "camera"], sort=True, observed=True)
    names = [f"{s} / {c}" for s, c in groups.size().index]
    return groups.ngroup().to_numpy(np.int16 if len(names) < 2**15 else np.int32), names


def _camera_aucs(codes: np.ndarray, y: np.ndarray, order: np.ndarray, tie_id: np.ndarray,
                 n_cams: int) -> np.ndarray:
    """Per-camera ROC-AUC for every camera code at once, from one global ascending score order.

    A stable sort by camera keeps each camera's rows in score order; average ranks within each
    (camera, tied score) run give the Mann-Whitney U of every camera.
    """
    by_cam = np.argsort(codes[order], kind="stable")
    rows = order[by_cam]
    cam, tie, yy = codes[rows], tie_id[by_cam], y[rows]
    n = rows.size
    cam_start = np.flatnonzero(np.r_[True, cam[1:] != cam[:-1]])
    run_start = np.flatnonzero(np.r_[True, (cam[1:] != cam[:-1]) | (tie[1:] != tie[:-1])])
    run_end = np.r_[run_start[1:], n]
    offset = np.repeat(cam_start, np.diff(np.r_[cam_start, n]))
    run_rank = (run_start + run_end + 1) / 2.0  # mean of 1-based positions in the run
    rank = np.repeat(run_rank, run_end - run_start) - offset
    n_pos = np.bincount(cam, weights=yy, minlength=n_cams)
    n_all = np.bincount(cam, minlength=n_cams)
    rank_sum = np.bincount(cam, weights=rank * yy, minlength=n_cams)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * (n_all - n_pos))


def _spread(auc: np.ndarray, weight: np.ndarray) -> float:
    mean = np.sum(weight * auc) / np.sum(weight)
    return float(np.sum(weight * (auc - mean) ** 2) / np.sum(weight))


def _delong_variance(y: np.ndarray, s: np.ndarray) -> float:
    """DeLong variance of one camera's AUC (needs >= 2 samples of each class)."""
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    # Placement of each positive among negatives (ties 1/2), and of each negative among positives.
    v10 = (np.searchsorted(neg, pos, "left") + np.searchsorted(neg, pos, "right")) / (2 * neg.size)
    v01 = 1 - (np.searchsorted(pos, neg, "left") + np.searchsorted(pos, neg, "right")) / (
        2 * pos.size)
    return float(np.var(v10, ddof=1) / pos.size + np.var(v01, ddof=1) / neg.size)


def heterogeneity(clean: pd.DataFrame, *, n_perm: int = 1000, seed: int = 0,
                  progress: bool = True) -> Heterogeneity:
    """Permutation test and Cochran's Q on per-camera AUCs; chi-square test on theft rates.

    Only cameras holding both classes enter the AUC tests (the others have no AUC); Cochran's Q
    also leaves out cameras whose DeLong variance is zero or undefined (fewer than two samples of
    a class, or perfect separation), and names them. The permutation p-value is
    (1 + #{permuted spread >= observed}) / (1 + n_perm).
    """
    from scipy import stats

    from utils.alerts.progress import progress_bar

    _check(clean)
    if n_perm < 1:
        raise InputError(f"n_perm must be >= 1, got {n_perm}")
    y_all = clean["is_theft"].to_numpy(bool)
    codes_all, names_all = _codes(clean)
    n_pos_all = np.bincount(codes_all, weights=y_all, minlength=len(names_all))
    n_all = np.bincount(codes_all, minlength=len(names_all))
    result = Heterogeneity(n_cameras=0, auc_spread=np.nan, permutation_p=np.nan, n_perm=n_perm,
                           cochran_q=np.nan, cochran_df=0, cochran_p=np.nan, i2=np.nan)

    contingency = np.column_stack([n_pos_all, n_all - n_pos_all])
    if len(names_all) > 1 and n_pos_all.sum() > 0 and (n_all - n_pos_all).sum() > 0:
        chi2, p, dof, expected = stats.chi2_contingency(contingency, correction=False)
        result.rate_chi2, result.rate_p, result.rate_df = float(chi2), float(p), int(dof)
        result.rate_small_expected = float(np.mean(expected < 5))

    both = (n_pos_all > 0) & (n_pos_all < n_all)
    keep = both[codes_all]
    if both.sum() < 2:
        return result
    sub = clean.loc[keep]
    y = y_all[keep]
    s = sub["probability"].to_numpy(float)
    codes, names = _codes(sub)
    n_cams = len(names)
    order = np.argsort(s, kind="stable")
    s_sorted = s[order]
    tie_id = np.cumsum(np.r_[False, s_sorted[1:] != s_sorted[:-1]])
    auc = _camera_aucs(codes, y, order, tie_id, n_cams)
    n_pos = np.bincount(codes, weights=y, minlength=n_cams)
    n_neg = np.bincount(codes, minlength=n_cams) - n_pos
    weight = n_pos * n_neg / (n_pos + n_neg)  # effective size: AUC variance scales as 1/weight
    observed = _spread(auc, weight)

    rng = np.random.default_rng(seed)
    pos_idx, neg_idx = np.flatnonzero(y), np.flatnonzero(~y)
    shuffled = codes.copy()
    exceed = 0
    for _ in progress_bar(range(n_perm), desc="permutations", disable=not progress):
        shuffled[pos_idx] = rng.permutation(codes[pos_idx])
        shuffled[neg_idx] = rng.permutation(codes[neg_idx])
        exceed += _spread(_camera_aucs(shuffled, y, order, tie_id, n_cams), weight) >= observed
    result.n_cameras = n_cams
    result.auc_spread = observed
    result.permutation_p = (1 + exceed) / (1 + n_perm)

    variance = np.full(n_cams, np.nan)
    for c in np.flatnonzero((n_pos >= 2) & (n_neg >= 2)):
        variance[c] = _delong_variance(y[codes == c], s[codes == c])
    valid = np.isfinite(variance) & (variance > 0)
    result.cochran_excluded = [names[c] for c in np.flatnonzero(~valid)]
    if valid.sum() >= 2:
        w = 1 / variance[valid]
        pooled = np.sum(w * auc[valid]) / np.sum(w)
        q = float(np.sum(w * (auc[valid] - pooled) ** 2))
        df = int(valid.sum() - 1)
        result.cochran_q, result.cochran_df = q, df
        result.cochran_p = float(stats.chi2.sf(q, df))
        result.i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return result


# --------------------------------------------------------------------------- validity checks


def interval_coverage(n_thefts: int, *, auc: float = 0.75, n_normals: int = 500,
                      n_sim: int = 200, n_boot: int = 200, level: float = 0.95,
                      seed: int = 0) -> float:
    """Share of simulated cameras whose bootstrap AUC interval (the one :func:`camera_table`
    reports) contains the true AUC.

    Each camera has ``n_thefts`` thefts scored N(d, 1) and ``n_normals`` normals scored N(0, 1),
    so its true AUC is Phi(d / sqrt 2) = ``auc``. With few thefts the stratified resamples keep
    (nearly) the same thefts, so the interval is far narrower than the real uncertainty.
    """
    from statistics import NormalDist

    if n_thefts < 1 or n_normals < 1 or n_sim < 1:
        raise InputError("n_thefts, n_normals and n_sim must be >= 1")
    if not 0 < auc < 1:
        raise InputError(f"auc must be in (0, 1), got {auc}")
    rng = np.random.default_rng(seed)
    d = np.sqrt(2.0) * NormalDist().inv_cdf(auc)
    y = np.r_[np.ones(n_thefts, bool), np.zeros(n_normals, bool)]
    hits = 0
    for i in range(n_sim):
        s = rng.standard_normal(y.size) + np.where(y, d, 0.0)
        ci = bootstrap_ci(y, s, "roc_auc", n_boot=n_boot, level=level, seed=seed + i)
        hits += ci.low <= auc <= ci.high
    return hits / n_sim


def shuffle_cameras(clean: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The rows with their (store, camera) shuffled within thefts and within normals: every
    camera keeps its numbers of thefts and normals, but all cameras share one score
    distribution per class (the null of "the model is uniform")."""
    out = clean.copy()
    theft = out["is_theft"].to_numpy(bool)
    for rows in (np.flatnonzero(theft), np.flatnonzero(~theft)):
        pick = rows[rng.permutation(rows.size)]
        for col in ("store", "camera"):
            values = out[col].to_numpy(copy=True)
            values[rows] = values[pick]
            out[col] = values
    return out


@dataclass
class NullSimulation:
    """What the tests and the global-vs-per-camera saving give when cameras are made alike
    (:func:`shuffle_cameras`), over ``n_rep`` replicates."""

    n_rep: int
    alpha: float
    n_perm: int
    cochran_rejection: float       # share of replicates with Cochran's p < alpha
    permutation_rejection: float   # same for the permutation test (n_perm permutations each)
    saving_pct: list[float] = field(default_factory=list)  # per-camera saving, % of global FP

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def saving_pct(cost: GlobalThresholdCost) -> float:
    """FP saved by per-camera thresholds, in % of those a global threshold leaves."""
    return 100 * (cost.global_fp - cost.per_camera_fp) / max(cost.global_fp, 1)


def null_simulation(clean: pd.DataFrame, *, n_rep: int = 100, n_perm: int = 99,
                    recall: float = 0.8, alpha: float = 0.05, seed: int = 0,
                    progress: bool = True) -> NullSimulation:
    """Run :func:`heterogeneity` and :func:`global_threshold_cost` on ``n_rep`` within-class
    shuffles of ``clean``: a calibrated test rejects in about ``alpha`` of them, and the savings
    show how much per-camera thresholds save when the model *is* uniform."""
    from utils.alerts.progress import progress_bar

    _check(clean)
    if n_rep < 1:
        raise InputError(f"n_rep must be >= 1, got {n_rep}")
    rng = np.random.default_rng(seed)
    cochran, permutation, savings = [], [], []
    for i in progress_bar(range(n_rep), desc="null replicates", disable=not progress):
        alike = shuffle_cameras(clean, rng)
        het = heterogeneity(alike, n_perm=n_perm, seed=seed + i, progress=False)
        cochran.append(het.cochran_p < alpha)
        permutation.append(het.permutation_p < alpha)
        savings.append(saving_pct(global_threshold_cost(alike, recall)))
    return NullSimulation(n_rep, alpha, n_perm, float(np.mean(cochran)),
                          float(np.mean(permutation)), savings)


@dataclass
class CalibrationTest:
    """Does the same score mean the same theft risk on every camera? A logistic model of theft on
    logit(score) with one intercept per camera against one shared intercept (likelihood ratio)."""

    n_cameras: int
    n_rows: int
    lr_stat: float
    df: int
    p: float
    # per camera: mean score and theft rate of the rows scored in the top decile of all scores
    cameras: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def calibration_test(clean: pd.DataFrame, *, min_thefts: int = MIN_THEFTS_FOR_CI
                     ) -> CalibrationTest:
    """Likelihood-ratio test of per-camera intercepts (common slope on logit(score)) over the
    cameras with at least ``min_thefts`` thefts and rows with probability in [0, 1].

    A small p-value means that, at the same score, the odds of a theft differ between cameras.
    """
    from scipy import stats
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    _check(clean)
    rows = clean[(clean["probability"] >= 0) & (clean["probability"] <= 1)]
    thefts = rows.groupby(["store", "camera"], observed=True)["is_theft"].sum()
    keep = thefts[(thefts >= min_thefts) & (thefts < rows.groupby(
        ["store", "camera"], observed=True).size())].index
    rows = rows[rows.set_index(["store", "camera"]).index.isin(keep)]
    names = [f"{s} / {c}" for s, c in keep]
    if len(keep) < 2:
        return CalibrationTest(len(keep), len(rows), np.nan, 0, np.nan, names)
    y = rows["is_theft"].to_numpy(bool)
    x = _logit(rows["probability"].to_numpy(float))[:, None]
    cams = pd.get_dummies(pd.Categorical(list(zip(rows["store"], rows["camera"], strict=True))))
    shared = LogisticRegression(C=np.inf, max_iter=1000).fit(x, y)
    ll0 = -log_loss(y, shared.predict_proba(x)[:, 1], normalize=False)
    design = np.column_stack([x, cams.to_numpy(float)])
    own = LogisticRegression(C=np.inf, fit_intercept=False, max_iter=1000).fit(design, y)
    ll1 = -log_loss(y, own.predict_proba(design)[:, 1], normalize=False)
    lr = max(0.0, 2 * (ll1 - ll0))
    df = len(keep) - 1
    return CalibrationTest(len(keep), len(rows), float(lr), df, float(stats.chi2.sf(lr, df)),
                           names)
