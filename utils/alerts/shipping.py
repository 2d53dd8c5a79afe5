"""The check before a plan's thresholds are pushed to the cameras.

One failing per-camera job does not stop the others (``alerts curve`` exits on its own), and
``alerts plan --curves DIR`` plans from whichever summaries are in ``DIR``. So nothing stops a
plan made from an incomplete or old folder either: a camera whose job failed may be missing from
the plan (it would silently keep the default threshold 0) or carry yesterday's threshold. This
module names those cameras and says whether the plan still reaches its target without them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from utils.alerts.planning import fp_needed
from utils.errors import InputError

# Why a camera blocks a plan: its job exited non-zero; its job succeeded but the plan has no
# threshold for it; the plan has a threshold for a camera that no job ran tonight.
REASONS = ("failed", "missing", "stale")
JOB_COLUMNS = ("store", "camera", "exit_code")


def _unique(keys: list[tuple[str, str]], what: str) -> None:
    repeated = sorted(k for k, n in Counter(keys).items() if n > 1)
    if repeated:
        raise InputError(f"{what} lists camera(s) more than once: {repeated[:3]}")


def check_plan(plan: Mapping[str, Any], jobs: pd.DataFrame
               ) -> tuple[dict[tuple[str, str], str], bool]:
    """``(blocked, reaches_target)`` for a plan JSON (as ``alerts plan`` writes it) and tonight's
    job log (one row per camera job: ``store``, ``camera``, ``exit_code``).

    ``blocked`` maps each camera (store, camera) that stops the plan to one of :data:`REASONS`
    ("failed" wins over the others). ``reaches_target``: the plan's cameras that are not blocked,
    the blocked ones kept at the default threshold 0, still remove at least
    ``fp_needed(fp_before, target_fp_reduction)`` false positives.
    """
    absent = [c for c in JOB_COLUMNS if c not in jobs.columns]
    if absent:
        raise InputError(f"the job log has no column(s) {absent}; expected {list(JOB_COLUMNS)}")
    try:
        planned = [((str(c["store"]), str(c["camera"])), int(c["fp_removed"]))
                   for c in plan["cameras"]]
        needed = fp_needed(int(plan["total"]["fp_before"]), plan["target_fp_reduction"])
    except (KeyError, TypeError) as error:
        raise InputError(f"not a plan JSON of `alerts plan` (missing {error})") from error
    ran = list(zip(zip(jobs["store"].astype(str), jobs["camera"].astype(str), strict=True),
                   jobs["exit_code"].astype(int), strict=True))
    _unique([k for k, _ in planned], "the plan")
    _unique([k for k, _ in ran], "the job log")
    in_plan = {k for k, _ in planned}
    blocked = {k: "failed" if code != 0 else "missing" for k, code in ran
               if code != 0 or k not in in_plan}
    ran_keys = {k for k, _ in ran}
    blocked |= {k: "stale" for k in in_plan - ran_keys}
    shipped = sum(fp for k, fp in planned if k not in blocked)
    return dict(sorted(blocked.items())), shipped >= needed


def check_text(blocked: Mapping[tuple[str, str], str], reaches_target: bool) -> str:
    """The verdict of :func:`check_plan` in one sentence, written from its result."""
    target = ("still reaches" if reaches_target else "does not reach")
    if not blocked:
        return (f"Every camera's job succeeded and fed the plan, which {target} its target: "
                + ("it can ship." if reaches_target else "it cannot ship."))
    counts = Counter(blocked.values())
    parts = ", ".join(f"{counts[r]} {r}" for r in REASONS if counts[r])
    return (f"{len(blocked)} camera(s) block the plan ({parts}); with them at the default "
            f"threshold 0 the rest of the plan {target} its target FP reduction.")
