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
conclusion is generated from these numbers by :func:`conclusion`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from utils.alerts.curves import REQUIRED_COLUMNS, CameraCurve, camera_curves
from utils.columns import require_columns
from utils.errors import InputError
from utils.metrics import bootstrap_ci, threshold_sweep

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
                point = roc_auc_score(y, p) if name == "auc" else average_precision_score(y, p)
                row[name] = float(point)
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


# --------------------------------------------------------------------------- conclusion


def _p(p: float) -> str:
    """A p-value for text: below double precision's resolution it is a bound, not a number."""
    return "p < 1e-15" if p < 1e-15 else f"p = {p:.2g}"


def _name(row: pd.Series) -> str:
    return f"store {row['store']} / camera {row['camera']}"


def _auc_text(row: pd.Series) -> str:
    return (f"{row['auc']:.2f} [{row['auc_low']:.2f}, {row['auc_high']:.2f}] on {_name(row)} "
            f"({row['n_thefts']} thefts)")


def _names(frame: pd.DataFrame, limit: int = 8) -> str:
    names = [_name(r) for _, r in frame.iterrows()]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def conclusion(table: pd.DataFrame, het: Heterogeneity, *,
               cost: GlobalThresholdCost | None = None, null: NullSimulation | None = None,
               calibration: CalibrationTest | None = None, alpha: float = 0.05,
               min_thefts: int = MIN_THEFTS_FOR_CI, recall: float = 0.8) -> str:
    """The Q2 answer in markdown, written from ``table`` (:func:`camera_table`), ``het``
    (:func:`heterogeneity`) and, when given, ``cost`` (:func:`global_threshold_cost`), ``null``
    (:func:`null_simulation`) and ``calibration`` (:func:`calibration_test`).

    Only the permutation test carries the verdict (Cochran's Q over DeLong variances is not
    calibrated with few thefts per camera: ``null`` measures it); AUC ranges and the cameras
    ranking thefts below normals use the cameras with an interval (``estimable``) only.
    """
    n_cams = len(table)
    rated = table[table["auc"].notna()].sort_values("auc")
    solid = rated[rated["n_thefts"] >= min_thefts]
    lines = [f"**Cameras analysed:** {n_cams} ({len(rated)} with both thefts and normal rows, "
             f"{len(solid)} of them with at least {min_thefts} thefts, enough for an AUC "
             "interval; ranking metrics over all kept rows, including those with "
             "probability < 0)."]
    if len(solid) >= 2:
        below = solid[solid["auc"] < 0.5]
        sure = below[below["auc_high"] < 0.5]
        lines.append(f"**ROC-AUC** of those cameras ranges from {_auc_text(solid.iloc[0])} to "
                     f"{_auc_text(solid.iloc[-1])}; "
                     + (f"{len(below)} rank thefts *below* normal rows (AUC < 0.5: "
                        f"{_names(below)}), {len(sure)} of them with the whole interval below "
                        "0.5." if len(below) else "none ranks thefts below normal rows."))
    elif len(rated):
        lines.append(f"Fewer than two cameras have {min_thefts} thefts or more: no AUC range "
                     "is reported.")
    if len(rated) - len(solid):
        lines.append(f"{len(rated) - len(solid)} camera(s) have fewer than {min_thefts} thefts: "
                     "too few thefts to estimate their AUC (a bootstrap interval there covers "
                     "the true AUC far less often than it claims).")
    if len(rated) >= 2 and het.n_cameras >= 2:
        uniform = not het.permutation_p < alpha
        floor = het.permutation_p <= 1 / (het.n_perm + 1)
        perm = (f"p ≤ {het.permutation_p:.3g} (none of {het.n_perm} permutations reached the "
                "observed spread" if floor else
                f"p = {het.permutation_p:.3g} ({het.n_perm} permutations")
        lines.append(f"**Heterogeneity of AUC:** permutation test {perm}, {het.n_cameras} "
                     "cameras).")
        if null is not None:
            lines.append(
                f"**Are the tests calibrated here?** On {null.n_rep} copies of the data with the "
                "cameras made alike (camera shuffled within thefts and within normals), the "
                f"permutation test rejected at {alpha:g} in {_pct(null.permutation_rejection)} "
                f"of them and Cochran's Q (DeLong variances) in "
                f"{_pct(null.cochran_rejection)}: "
                + ("Cochran's Q is not calibrated on these data and is not used as evidence."
                   if null.cochran_rejection > 2 * alpha else
                   "both are close to the nominal rate."))
        if uniform:
            lines.append(f"**Verdict:** no evidence at the {alpha:g} level that the model ranks "
                         "thefts differently across cameras. With few thefts per camera this is "
                         "weak evidence *for* uniformity, only an absence of evidence against it.")
        else:
            lines.append(f"**Verdict:** the model does **not rank thefts uniformly** across "
                         f"cameras (permutation test, p < {alpha:g}).")
    if calibration is not None and np.isfinite(calibration.p):
        differs = calibration.p < alpha
        lines.append(
            f"**Same score, same risk?** Over the {calibration.n_cameras} cameras with at least "
            f"{min_thefts} thefts, a logistic model of theft on the logit of the score with one "
            f"intercept per camera fits better than one shared intercept by a likelihood ratio of "
            f"{calibration.lr_stat:.1f} (df {calibration.df}, {_p(calibration.p)}): "
            + ("the same score does **not** mean the same theft risk on every camera."
               if differs else "no evidence that the same score means a different risk."))
    col = recall_column(recall)
    costs = table[table[col].notna()].sort_values(col)
    if len(costs) >= 2:
        cheap, dear = costs.iloc[0], costs.iloc[-1]
        lines.append(f"**Cost of {recall:.0%} recall:** from {cheap[col]:.0f} false positives "
                     f"on {_name(cheap)} to {dear[col]:.0f} on {_name(dear)}.")
    rates = table["theft_rate"]
    rate_text = (f"chi-square = {het.rate_chi2:.1f} (df {het.rate_df}), {_p(het.rate_p)}"
                 if np.isfinite(het.rate_chi2) else "no test possible")
    lines.append(f"**Theft rate** ranges from {100 * rates.min():.2f} % to "
                 f"{100 * rates.max():.2f} % ({rate_text}).")
    if cost is not None:
        saved = cost.global_fp - cost.per_camera_fp
        lines.append(
            f"**One global threshold** ({cost.global_threshold:.3g}) keeping {cost.recall:.0%} of "
            f"the {cost.tp_before} alerted thefts leaves {cost.global_fp} of {cost.fp_before} "
            f"false positives ({cost.global_tp_lost} thefts lost); per-camera thresholds losing "
            f"{cost.per_camera_tp_lost} leave {cost.per_camera_fp}, i.e. {saved} fewer "
            f"({saving_pct(cost):.0f} %).")
        if null is not None and null.saving_pct:
            q50, q95 = np.percentile(null.saving_pct, [50, 95])
            beyond = saving_pct(cost) > q95
            lines.append(
                f"With the cameras made alike the same comparison saves {q50:.0f} % (median of "
                f"{null.n_rep}; 95th percentile {q95:.0f} %) against {saving_pct(cost):.0f} % "
                "observed: "
                + ("the saving exceeds what alike cameras give, so part of it comes from the "
                   "cameras differing." if beyond else
                   "most of the saving is there even when the cameras are alike; it comes from "
                   "choosing thresholds per camera on these same rows (cameras differ in volume "
                   "and luck), not from non-uniformity."))
    if len(solid) >= 2 and het.permutation_p < alpha:
        sure = solid[solid["auc_high"] < 0.5]
        lines.append("**So** choose thresholds per camera (Q3) and check them on later data"
                     + (f"; look at {_names(sure)} (AUC interval below 0.5) before trusting any "
                        "threshold there." if len(sure) else "."))
    elif len(rated) >= 2:
        lines.append("**So a single global threshold** is defensible on this evidence; "
                     "per-camera thresholds (Q3) can still pay off when cameras differ in "
                     "volume or in score scale.")
    none = table[table["no_theft"]]
    caveats = []
    if len(none):
        caveats.append(f"{len(none)} camera(s) have no theft at all ({_names(none)}): AUC "
                       "undefined, left out of the AUC tests")
    if np.isfinite(het.rate_small_expected) and het.rate_small_expected > 0.2:
        caveats.append(f"{100 * het.rate_small_expected:.0f} % of the expected counts of the "
                       "theft-rate chi-square are below 5, so its p-value is approximate")
    if caveats:
        lines.append("**Caveats:** " + "; ".join(caveats) + ".")
    return "\n\n".join(lines)


# --------------------------------------------------------------------------- plots


def plot_forest(table: pd.DataFrame, metric: str = "auc") -> Figure:
    """Per-camera ``metric`` ("auc" or "ap") with its CI, sorted; no-theft cameras listed."""
    import matplotlib.pyplot as plt

    if metric not in ("auc", "ap"):
        raise InputError(f"metric must be 'auc' or 'ap', got {metric!r}")
    rated = table[table[f"{metric}_low"].notna()].sort_values(metric)
    labels = [f"{r.store} / {r.camera} (n+={r.n_thefts})" for r in rated.itertuples()]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.22 * max(len(rated), 1)))
    ypos = np.arange(len(rated))
    ax.hlines(ypos, rated[f"{metric}_low"], rated[f"{metric}_high"], colors="tab:blue")
    ax.scatter(rated[metric], ypos, c="tab:blue", zorder=3, s=14)
    ax.set_yticks(ypos, labels, fontsize=7)
    if metric == "auc":
        ax.axvline(0.5, color="grey", ls="--", lw=0.8, label="chance")
    else:
        ax.scatter(rated["theft_rate"], ypos, marker="|", color="grey", label="chance (theft rate)")
    top = np.nanmax(rated[f"{metric}_high"]) if len(rated) else 1.0
    ax.set_xlim(0, 1 if metric == "auc" else min(1.0, 1.1 * top + 0.01))
    name = {"auc": "ROC-AUC", "ap": "average precision"}[metric]
    ax.set_xlabel(f"{name} with 95 % bootstrap CI")
    n_none, n_few = int(table["no_theft"].sum()), int(table["few_thefts"].sum())
    hidden = [f"{n_few} with too few thefts to estimate"] if n_few else []
    hidden += [f"{n_none} without theft"] if n_none else []
    ax.set_title(f"Per-camera {name}" + (f" (not shown: {', '.join(hidden)})" if hidden else ""),
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    return fig


def plot_rate_vs_auc(table: pd.DataFrame) -> Figure:
    """Theft rate against AUC, marker area proportional to the camera's number of rows."""
    import matplotlib.pyplot as plt

    rated = table[table["auc"].notna()]
    fig, ax = plt.subplots(figsize=(6, 4))
    size = 400 * rated["n_rows"] / max(table["n_rows"].max(), 1)
    ax.scatter(100 * rated["theft_rate"], rated["auc"], s=size, alpha=0.5, edgecolors="k")
    ax.axhline(0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("theft rate (%)")
    ax.set_ylabel("ROC-AUC")
    ax.set_title("Theft rate vs ROC-AUC per camera (area = number of rows)", fontsize=9)
    return fig


def plot_fp_at_recall(table: pd.DataFrame, recall: float = 0.8) -> Figure:
    """Bar chart of the #FP each camera pays to keep ``recall`` of its alerted thefts."""
    import matplotlib.pyplot as plt

    col = recall_column(recall)
    if col not in table.columns:
        raise InputError(f"the table has no column {col!r}; pass recalls=... to camera_table")
    costs = table[table[col].notna()].sort_values(col)
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.22 * max(len(costs), 1)))
    ax.barh([f"{r.store} / {r.camera}" for r in costs.itertuples()], costs[col], color="tab:red")
    ax.barh([f"{r.store} / {r.camera}" for r in costs.itertuples()],
            costs["fp_before"] - costs[col], left=costs[col], color="lightgrey",
            label="FP removable")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel(f"false positives left at {recall:.0%} recall (red) out of the default (grey)")
    ax.set_title(f"#FP paid for {recall:.0%} recall per camera", fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    return fig


def plot_reliability(clean: pd.DataFrame, cameras: int = 6, n_bins: int = 8) -> Figure:
    """Reliability curves (theft rate against mean score per score bin, sklearn's
    ``calibration_curve`` with quantile bins) of the ``cameras`` cameras with the most thefts:
    if the same score meant the same risk everywhere, the curves would lie on one line."""
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    rows = clean[(clean["probability"] >= 0) & (clean["probability"] <= 1)]
    top = rows.groupby(["store", "camera"], observed=True)["is_theft"].sum().nlargest(cameras)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for (store, camera), n in top.items():
        g = rows[(rows["store"] == store) & (rows["camera"] == camera)]
        rate, score = calibration_curve(g["is_theft"], g["probability"], n_bins=n_bins,
                                        strategy="quantile")
        ax.plot(score, rate, marker="o", ms=3, label=f"{store} / {camera} ({n} thefts)")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8, label="score = theft rate")
    ax.set_xlabel("mean score in the bin")
    ax.set_ylabel("theft rate in the bin")
    ax.set_title(f"Reliability of the score, {len(top)} cameras with the most thefts", fontsize=9)
    ax.legend(fontsize=6)
    return fig


def plot_null_savings(null: NullSimulation, observed: float) -> Figure:
    """Histogram of the per-camera saving on data with cameras made alike, and the observed one."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(null.saving_pct, bins=20, color="lightgrey", edgecolor="grey",
            label=f"cameras made alike ({null.n_rep} shuffles)")
    ax.axvline(observed, color="tab:red", label=f"observed ({observed:.0f} %)")
    ax.set_xlabel("FP saved by per-camera thresholds vs one global threshold (%)")
    ax.set_ylabel("replicates")
    ax.set_title("Per-camera saving: observed vs under the null of alike cameras", fontsize=9)
    ax.legend(fontsize=7)
    return fig
