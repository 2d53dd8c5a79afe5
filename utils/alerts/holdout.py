"""Out-of-sample check of per-camera thresholds: plan on the earlier weeks, measure on the later.

Thresholds chosen and judged on the same rows promise too much: each camera's curve is fitted to
the very thefts and normals it is scored on. ``video_name`` carries the alert's start time, so
the rows can be split in time: plan on the weeks before a cutoff (a Monday), apply those
thresholds to the rows after it, and count the false positives removed and the thefts lost
there. A camera first seen after the cutoff keeps the default threshold 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from utils.alerts.curves import camera_curves
from utils.alerts.planning import Plan, apply_floor, exact_frontier, fp_needed
from utils.errors import InputError

TIME_FORMAT = "%Y-%m-%d_%Hh%Mm%Ss"  # start_time as parsed from video_name


def start_times(clean: pd.DataFrame) -> pd.Series:
    """The alert start times (``start_time`` column of the clean frame) as timestamps."""
    if "start_time" not in clean.columns:
        raise InputError("the alerts frame has no start_time column; pass the clean frame of "
                         "utils.alerts.validate.load_alerts")
    return pd.to_datetime(clean["start_time"], format=TIME_FORMAT)


def weekly_cutoff(clean: pd.DataFrame, train_share: float = 2 / 3) -> pd.Timestamp:
    """The Monday (00:00) closest to the ``train_share`` quantile of the start times."""
    if not 0 < train_share < 1:
        raise InputError(f"train_share must be in (0, 1), got {train_share}")
    times = start_times(clean)
    q = times.quantile(train_share)
    monday = (q - pd.Timedelta(days=q.day_of_week)).normalize()
    return monday + pd.Timedelta(days=7) if q - monday > pd.Timedelta(days=3.5) else monday


@dataclass(frozen=True)
class Split:
    cutoff: pd.Timestamp
    train: pd.DataFrame
    test: pd.DataFrame


def split_in_time(clean: pd.DataFrame, cutoff: pd.Timestamp | str | None = None, *,
                  train_share: float = 2 / 3) -> Split:
    """Rows starting before ``cutoff`` (default: :func:`weekly_cutoff`) and from it on."""
    times = start_times(clean)
    cut = weekly_cutoff(clean, train_share) if cutoff is None else pd.Timestamp(cutoff)
    before = (times < cut).to_numpy()
    if before.all() or not before.any():
        raise InputError(f"cutoff {cut} leaves no row on one side ({times.min()} to "
                         f"{times.max()})")
    return Split(cut, clean[before], clean[~before])


def apply_plan(plan: Plan, rows: pd.DataFrame) -> tuple[int, int, int, int]:
    """(FP removed, TP lost, FP before, TP before) when ``plan``'s thresholds are applied to
    ``rows``: an alert (probability >= 0) is removed when its probability is below its camera's
    threshold; cameras absent from the plan keep threshold 0."""
    thresholds = pd.Series(plan.thresholds(), dtype=float)
    key = pd.MultiIndex.from_arrays([rows["store"], rows["camera"]])
    t = thresholds.reindex(key).fillna(0.0).to_numpy()
    p = rows["probability"].to_numpy(float)
    y = rows["is_theft"].to_numpy(bool)
    alert = p >= 0
    removed = alert & (p < t)
    return (int((removed & ~y).sum()), int((removed & y).sum()), int((alert & ~y).sum()),
            int((alert & y).sum()))


def temporal_holdout(clean: pd.DataFrame, targets: Sequence[float], *,
                     cutoff: pd.Timestamp | str | None = None, train_share: float = 2 / 3,
                     max_threshold: float | None = None,
                     min_recall: float | None = None) -> pd.DataFrame:
    """One row per target F: the exact plan made on the earlier weeks, what it promises there
    (FP removed, TP lost, in % of those weeks' alerts) and what it does on the later weeks;
    ``planned_target_needed`` is the smallest target (1 % steps) whose earlier-weeks plan reaches
    F on the later weeks (NaN when none does): the margin to plan with."""
    split = split_in_time(clean, cutoff, train_share=train_share)
    curves = camera_curves(split.train)
    if max_threshold is not None or min_recall is not None:
        curves = apply_floor(curves, max_threshold=max_threshold, min_recall=min_recall)
    frontier = exact_frontier(curves, progress=False)
    reachable = float(frontier.fp_removed[-1]) / max(frontier.fp_before, 1)
    grid = [g for g in np.round(np.arange(1, 101) / 100, 2)
            if fp_needed(frontier.fp_before, g) <= frontier.fp_removed[-1]]
    realised = {}
    for g, plan in zip(grid, frontier.plans(grid), strict=True):
        fp, _, fp_before, _ = apply_plan(plan, split.test)
        realised[g] = fp / max(fp_before, 1)
    rows = []
    for target, plan in zip(targets, frontier.plans(targets), strict=True):
        fp, tp, fp_before, tp_before = apply_plan(plan, split.test)
        needed = [g for g in grid if g >= target and realised[g] >= target - 1e-12]
        rows.append({
            "target": float(target),
            "train_fp_removed_pct": 100 * plan.fp_removed / max(plan.fp_before, 1),
            "train_tp_lost": plan.tp_lost,
            "train_tp_lost_pct": 100 * plan.tp_lost / max(plan.tp_before, 1),
            "test_fp_removed_pct": 100 * fp / max(fp_before, 1),
            "test_tp_lost": tp,
            "test_tp_lost_pct": 100 * tp / max(tp_before, 1),
            "planned_target_needed": needed[0] if needed else np.nan,
        })
    table = pd.DataFrame(rows)
    table.attrs.update(cutoff=str(split.cutoff.date()), train_rows=len(split.train),
                       test_rows=len(split.test), max_reachable=reachable)
    return table


def holdout_text(table: pd.DataFrame) -> str:
    """What the hold-out table says, in sentences written from its numbers."""
    a = table.attrs
    per_target = ", ".join(
        f"{r.test_fp_removed_pct:.1f} % (promised {r.train_fp_removed_pct:.1f} %) for the "
        f"{r.target:.0%} target" for r in table.itertuples())
    lines = [f"Thresholds planned on the {a['train_rows']:,} rows before {a['cutoff']} and "
             f"applied to the {a['test_rows']:,} rows from then on remove, of the later weeks' "
             f"false positives, {per_target}."]
    more = table["test_tp_lost_pct"] - table["train_tp_lost_pct"]
    lines.append(f"The share of thefts lost on the later weeks differs from the promise by "
                 f"{more.min():+.1f} to {more.max():+.1f} percentage points.")
    short = table[table["test_fp_removed_pct"] < 100 * table["target"] - 1e-9]
    if len(short):
        margin = (short["planned_target_needed"] - short["target"]) * 100
        known = margin.dropna()
        lines.append(f"For {len(short)} of the {len(table)} targets the later weeks fall short; "
                     + (f"planning up to {known.max():.0f} percentage point(s) above the "
                        "target would have met it. " if len(known) else "")
                     + "In deployment: plan with that margin on F, re-plan on a rolling window "
                       "of recent weeks, and compare each week's realised reduction and thefts "
                       "lost with the plan's promise before trusting it.")
    else:
        lines.append("Every target is still met on the later weeks. In deployment: re-plan on "
                     "a rolling window of recent weeks and compare each week's realised "
                     "reduction and thefts lost with the plan's promise.")
    return " ".join(lines)
