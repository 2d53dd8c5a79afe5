"""Figures of lab 3: per-camera #FP = f(recall) curves (Q1) and the Q3 threshold-planning
frontiers. Each function returns its Figure; nothing is shown or saved here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from utils.alerts.curves import CameraCurve
    from utils.alerts.planning import Frontier, Plan


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
