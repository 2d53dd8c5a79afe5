"""Figures of lab 3: per-camera #FP = f(recall) curves (Q1), the Q2 uniformity figures (forest
plots, rate against AUC, reliability, null savings) and the Q3 threshold-planning frontiers.
Each function returns its Figure; nothing is shown or saved here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from utils.alerts.uniformity import recall_column
from utils.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from utils.alerts.curves import CameraCurve
    from utils.alerts.planning import Frontier, Plan
    from utils.alerts.uniformity import NullSimulation


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return cast("Figure", ax.figure), ax  # a subfigure's axes are not made here
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def plot_camera_curve(curve: CameraCurve, ax: Axes | None = None, *,
                      compact: bool = False) -> Figure:
    """#FP still raised against recall kept, as the staircase of the camera's best thresholds.

    The staircase reads "at recall >= x, the fewest FP is y". The default threshold (0) is marked
    separately: it lies above the curve when normals scored below every theft can be removed for
    free. A camera without theft has no recall: its FP are drawn at x = 1 with a note.
    """
    fig, ax = _axes(ax, (5, 3.6))
    size = 7 if compact else 9
    fp = curve.fp_remaining()
    if curve.tp_before == 0:
        ax.plot([1.0, 1.0], [curve.fp_before, fp[-1]], "o--", color="tab:gray", ms=4)
        ax.text(0.5, 0.5, f"no theft: recall undefined;\nmuting removes all {curve.fp_before} FP"
                "\nat no TP cost", transform=ax.transAxes, ha="center", va="center",
                fontsize=size, color="tab:red")
    else:
        recall = curve.recall()[::-1]
        ax.step(recall, fp[::-1], where="pre", color="tab:blue", lw=1.5)
        ax.plot(recall, fp[::-1], "o", color="tab:blue", ms=2.5 if compact else 4,
                label="best threshold per TP lost")
    ax.plot([1.0], [curve.fp_before], marker="*", color="tab:orange", ms=9 if compact else 12,
            ls="none", label="default threshold 0")
    ax.set_xlim(-0.03, 1.05)
    ax.set_ylim(bottom=0, top=max(curve.fp_before, 1) * 1.08)
    ax.set_title(f"{curve.store} / camera {curve.camera}\n{curve.tp_before} thefts, "
                 f"{curve.fp_before} FP at threshold 0", fontsize=size)
    ax.tick_params(labelsize=size - 1)
    if not compact:
        ax.set_xlabel("recall kept (TP kept / TP at threshold 0)")
        ax.set_ylabel("#FP still raised")
        ax.legend(fontsize=size - 1, loc="upper left")
        ax.grid(alpha=0.3)
    return fig


def plot_curve_grid(curves: Sequence[CameraCurve], ncols: int = 6) -> Figure:
    """All cameras at a glance (one small panel each; no-theft cameras carry their note)."""
    import matplotlib.pyplot as plt

    nrows = max(1, math.ceil(len(curves) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols, 2.3 * nrows), squeeze=False)
    for ax, curve in zip(axes.flat, curves, strict=False):
        plot_camera_curve(curve, ax=ax, compact=True)
    for ax in axes.flat[len(curves):]:
        ax.set_axis_off()
    no_theft = sum(c.tp_before == 0 for c in curves)
    fig.suptitle(f"#FP (y) vs recall (x) per camera: {len(curves)} cameras, {no_theft} without "
                 "theft; star = default threshold 0", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    return fig


def plot_frontiers(frontier: Frontier | None = None,
                   plans: Mapping[str, Sequence[Plan]] | None = None, *,
                   reference: Mapping[float, int] | None = None,
                   reference_label: str = "published (50-point grid MILP, real data)",
                   ax: Axes | None = None) -> Figure:
    """TP lost against target FP reduction: the exact frontier as a staircase (no method can be
    below it), each method's plans as markers, and optional reference numbers.

    With both a frontier and plans (and no ``ax``), a lower panel shows each method's excess TP
    lost over the exact optimum, which the full-scale panel is too coarse to show.
    """
    if ax is None and frontier is not None and plans:
        import matplotlib.pyplot as plt

        fig, (ax, excess_ax) = plt.subplots(2, 1, figsize=(7, 6), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 1.3]})
    else:
        (fig, ax), excess_ax = _axes(ax, (7, 4.5)), None
    if frontier is not None:
        # from the origin: below the first point's reduction, no theft needs to be lost either
        ax.step(np.r_[0.0, 100 * frontier.reduction()], np.r_[0, frontier.tp_lost], where="pre",
                color="black", lw=1.2, label="exact frontier (all thresholds)")
    markers = "os^Dvx"
    for (name, method_plans), marker in zip((plans or {}).items(), markers * 4, strict=False):
        x = [100 * p.target_fp_reduction for p in method_plans]
        ax.plot(x, [p.tp_lost for p in method_plans], marker=marker, ls="none", ms=7, mfc="none",
                label=name)
        if excess_ax is not None and frontier is not None:
            excess = [p.tp_lost - frontier.min_tp_lost(p.fp_needed) for p in method_plans]
            excess_ax.plot(x, excess, marker=marker, ls=":", ms=6, mfc="none", label=name)
    if reference:
        ref = sorted(reference.items())
        ax.plot([100 * k for k, _ in ref], [v for _, v in ref], "k*", ms=9, label=reference_label)
    tp_before = frontier.tp_before if frontier is not None else _tp_before(plans)
    ax.set_ylabel(f"TP lost (of {tp_before})" if tp_before is not None else "TP lost")
    ax.set_xlim(0, 100)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Per-camera thresholds: thefts lost to remove a share of false positives")
    bottom = ax
    if excess_ax is not None:
        excess_ax.axhline(0, color="black", lw=1)
        excess_ax.set_ylabel("TP lost above exact")
        excess_ax.grid(alpha=0.3)
        bottom = excess_ax
        fig.tight_layout()
    bottom.set_xlabel("target FP reduction (%)")
    return fig


def _tp_before(plans: Mapping[str, Sequence[Plan]] | None) -> Any:
    for method_plans in (plans or {}).values():
        for p in method_plans:
            return p.tp_before
    return None



def mark_synthetic(fig: Figure, synthetic: bool = True) -> Figure:
    """Write "SYNTHETIC DATA" across ``fig`` (when ``synthetic``), so a figure saved or copied
    out of a notebook still says that its numbers are not findings."""
    if synthetic:
        fig.text(0.5, 0.5, "SYNTHETIC DATA", fontsize=28, color="tab:red", alpha=0.25,
                 rotation=25, ha="center", va="center", zorder=10)
    return fig


# ------------------------------------------------------------------- Q2: uniformity


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


def plot_drift_heatmap(drift: pd.DataFrame, *, vmax: float = 0.5) -> Figure:
    """PSI of every camera (rows) and monitored week (columns), colour capped at ``vmax``;
    ``s`` marks a score alarm, ``v`` a volume alarm; grey: too few alerts for a score test."""
    import matplotlib.pyplot as plt

    names = drift["store"].astype(str) + " / " + drift["camera"].astype(str)
    grid = drift.assign(name=names).pivot(index="name", columns="week", values="psi")
    marks = (np.where(drift["score_alarm"], "s", "") + np.where(drift["volume_alarm"], "v", ""))
    marked = drift.assign(name=names, mark=marks).pivot(index="name", columns="week",
                                                        values="mark")
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * grid.shape[1] + 3),
                                    max(3.0, 0.22 * grid.shape[0] + 1.5)))
    cmap = plt.get_cmap("viridis").with_extremes(bad="lightgray")
    image = ax.imshow(np.ma.masked_invalid(grid.to_numpy(float)), aspect="auto", cmap=cmap,
                      vmin=0, vmax=vmax, interpolation="nearest")
    for (i, j), mark in np.ndenumerate(marked.to_numpy(object)):
        if mark:
            ax.text(j, i, mark, ha="center", va="center", fontsize=7, color="red",
                    fontweight="bold")
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=6)
    ax.set_xticks(range(grid.shape[1]),
                  [pd.Timestamp(w).strftime("%m-%d") for w in grid.columns], fontsize=6,
                  rotation=90)
    ax.set_xlabel("week starting (month-day)")
    ax.set_title("Alert-score drift per camera and week (PSI vs the reference window)\n"
                 "s = score alarm, v = volume alarm")
    fig.colorbar(image, ax=ax, label=f"PSI (capped at {vmax})")
    return fig
