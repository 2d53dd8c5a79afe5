"""Short term, side by side: raise one global threshold, or plan one threshold per camera (3.2)?

Both remove the same share of false positives; the table says what each costs in thefts and how
many cameras each touches. The global threshold is the lowest single threshold that removes
enough false positives over all cameras pooled; the plan is lab 3.2's exact one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from utils.alerts.curves import all_cuts, camera_curves
from utils.alerts.planning import exact_frontier, fp_needed
from utils.errors import InputError


def global_vs_per_camera(clean: pd.DataFrame, targets: Sequence[float]) -> pd.DataFrame:
    """One row per target FP reduction: the global threshold and the exact per-camera plan,
    each with the FP it removes, the thefts it loses and the cameras whose alerts it changes."""
    alerts = clean[clean["probability"] >= 0]
    if alerts.empty:
        raise InputError("no alert (probability >= 0) to compare thresholds on")
    pooled = all_cuts(alerts["probability"].to_numpy(float), alerts["is_theft"].to_numpy(bool))
    frontier = exact_frontier(camera_curves(clean), progress=False)
    plans = frontier.plans(targets)
    rows = []
    for target, plan in zip(targets, plans, strict=True):
        needed = fp_needed(frontier.fp_before, target)
        i = int(np.searchsorted(pooled.fp_removed, needed, side="left"))
        threshold = float(pooled.thresholds[i])
        below = alerts[alerts["probability"] < threshold]
        rows.append({
            "target_fp_reduction": target, "fp_needed": needed,
            "global_threshold": threshold, "global_fp_removed": int(pooled.fp_removed[i]),
            "global_tp_lost": int(pooled.tp_lost[i]),
            "global_cameras_changed": int(below.groupby(["store", "camera"]).ngroups),
            "plan_fp_removed": plan.fp_removed, "plan_tp_lost": plan.tp_lost,
            "plan_cameras_changed": sum(c.fp_removed + c.tp_lost > 0 for c in plan.cameras),
            "tp_saved_by_plan": int(pooled.tp_lost[i]) - plan.tp_lost,
        })
    return pd.DataFrame(rows)
