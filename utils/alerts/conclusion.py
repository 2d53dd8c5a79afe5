"""Lab 3's written conclusions, generated from the numbers (so no sentence states what the numbers
do not show): Q2's from :mod:`utils.alerts.uniformity`, and where a higher FP-reduction target's
extra lost thefts fall (``extra_loss_text``, from two plans of :mod:`utils.alerts.planning`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.uniformity import (
    MIN_THEFTS_FOR_CI,
    CalibrationTest,
    GlobalThresholdCost,
    Heterogeneity,
    NullSimulation,
    recall_column,
    saving_pct,
)
from utils.metrics import roc_auc


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


def extra_loss_text(plan: dict[str, Any], more: dict[str, Any], clean: pd.DataFrame) -> str:
    """Where the extra thefts lost by ``more`` (a plan JSON for a higher target) fall, compared
    with ``plan``, written from the numbers: Spearman correlation between each camera's ROC-AUC
    (on ``clean``) and its extra loss, and the share of the loss on above-median-AUC cameras."""
    from scipy.stats import spearmanr

    base = {(c["store"], c["camera"]): c["tp_lost"] for c in plan["cameras"]}
    extra = {(c["store"], c["camera"]): c["tp_lost"] - base.get((c["store"], c["camera"]), 0)
             for c in more["cameras"]}
    total = more["total"]["tp_lost"] - plan["total"]["tp_lost"]
    if total <= 0:
        return "The higher target loses no extra theft."
    auc = {key: roc_auc(g["is_theft"], g["probability"])
           for key, g in clean.groupby(["store", "camera"], observed=True)
           if 0 < g["is_theft"].sum() < len(g)}
    keys = [k for k in extra if k in auc]
    rho, p = spearmanr([auc[k] for k in keys], [extra[k] for k in keys])
    median = float(np.median([auc[k] for k in keys]))
    high = sum(extra[k] for k in keys if auc[k] > median) / total
    top = sorted(extra.values(), reverse=True)[:3]
    where = ("cameras that rank thefts *well* (higher AUC) carry more of it, not the poorly "
             "ranking ones" if rho > 0 and p < 0.05 else
             "cameras that rank thefts *poorly* (lower AUC) carry more of it"
             if rho < 0 and p < 0.05 else
             "no clear link between a camera's ranking quality and its extra loss")
    return (f"The {total} extra thefts lost fall on {sum(v > 0 for v in extra.values())} "
            f"cameras, the three largest carrying {sum(top) / total:.0%}. Spearman correlation "
            f"between a camera's AUC and its extra loss: {rho:+.2f} (p = {p:.2g}, {len(keys)} "
            f"cameras): {where}; {high:.0%} of the extra loss is on cameras with an AUC above "
            f"the median ({median:.2f}).")
