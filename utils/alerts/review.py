"""Medium term: which alerts a person should label next, and what the labels change.

Thresholds are decided by the alerts scored near them: an alert far above or far below its
camera's threshold keeps its fate whatever its label, one just around it can move the threshold.
So each day the queue takes, within a budget of K reviews, the day's alerts closest to their
camera's threshold (uncertainty sampling), one camera at a time (every camera's nearest alert
before any camera's second), skipping videos already reviewed. The verdicts are stored in the
``reviews`` table (:mod:`utils.alerts.reviews`) and override the export's label when thresholds
are planned again (:func:`apply_reviews`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils.errors import InputError

QUEUE_COLUMNS = ("video_name", "store", "camera", "label", "probability", "threshold",
                 "distance", "round")


def nearest_to_threshold(probability: Any, threshold: float, k: int) -> np.ndarray:
    """Positions of the ``k`` scores closest to ``threshold`` (|p - t|), nearest first; ties in
    order of position. Fewer when there are fewer scores."""
    p = np.asarray(probability, dtype=float)
    if k < 0:
        raise InputError(f"k must be >= 0, got {k}")
    return np.argsort(np.abs(p - threshold), kind="stable")[:k]


def review_queue(dated: pd.DataFrame, thresholds: Mapping[tuple[str, str], float], *,
                 day: Any, budget: int, reviewed: Iterable[str] = ()) -> pd.DataFrame:
    """The day's review queue: at most ``budget`` alerts of ``day`` (rows with probability >= 0
    whose start time falls on that day; ``dated`` from :func:`utils.alerts.weeks.with_dates`),
    none of whose video is in ``reviewed``, in the order a reviewer should take them.

    ``round`` is the alert's rank within its camera (0 = nearest to the camera's threshold):
    the queue takes round 0 of every camera, then round 1, ..., nearest first inside a round.
    A camera missing from ``thresholds`` uses the default threshold 0.
    """
    if budget < 1:
        raise InputError(f"--budget must be >= 1, got {budget}")
    day = pd.Timestamp(day).normalize()
    today = dated[(dated["day"] == day) & (dated["probability"] >= 0)]
    today = today[~today["video_name"].isin(set(reviewed))].drop_duplicates("video_name")
    parts = []
    for (store, camera), cam in today.groupby(["store", "camera"], sort=True, observed=True):
        t = float(thresholds.get((store, camera), 0.0))
        order = nearest_to_threshold(cam["probability"], t, len(cam))
        picked = cam.iloc[order]
        parts.append(picked.assign(threshold=t, distance=(picked["probability"] - t).abs(),
                                   round=np.arange(len(picked))))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUEUE_COLUMNS})
    queue = pd.concat(parts).sort_values(["round", "distance", "store", "camera", "video_name"],
                                         kind="stable")
    return queue.loc[:, list(QUEUE_COLUMNS)].head(budget).reset_index(drop=True)


def apply_reviews(clean: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """``clean`` with ``is_theft`` taken from the verdict wherever the video was reviewed."""
    verdict = clean["video_name"].map(reviews.set_index("video_name")["verdict"])
    reviewed = verdict.notna()
    out = clean.copy()
    out.loc[reviewed, "is_theft"] = verdict[reviewed] == "theft"
    out["is_theft"] = out["is_theft"].astype(bool)
    return out


def plan_thresholds_of(clean: pd.DataFrame, target_fp_reduction: float
                       ) -> dict[tuple[str, str], float]:
    """Per-camera thresholds of the exact plan (lab 3.2) for ``target_fp_reduction``."""
    from utils.alerts.curves import camera_curves
    from utils.alerts.planning import plan_thresholds

    plan = plan_thresholds(camera_curves(clean), target_fp_reduction, progress=False)
    return plan.thresholds()


def read_plan_thresholds(path: str | Path) -> dict[tuple[str, str], float]:
    """Thresholds of a plan JSON written by ``alerts plan --out``."""
    import json

    path = Path(path)
    try:
        cameras = json.loads(path.read_text())["cameras"]
        return {(str(c["store"]), str(c["camera"])): float(c["threshold"]) for c in cameras}
    except OSError as exc:
        raise InputError(f"{path}: cannot read the plan ({exc.strerror})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a plan written by `alerts plan` ({exc})") from exc


# --------------------------------------------------------------------------------- the jobs


def parse_day(text: str) -> pd.Timestamp:
    """``YYYY-MM-DD`` as a day, or an :class:`InputError` saying what was expected."""
    try:
        return pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError:
        raise InputError(f"--date must be a day written YYYY-MM-DD, got {text!r}") from None


def queue_job(source: str | Path, *, day: str, budget: int, table: str = "alerts",
              plan: str | Path | None = None,
              target_fp_reduction: float = 0.3) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``alerts review-queue``: the queue of ``day`` and what it was made from."""
    from utils.alerts.planning import fp_needed
    from utils.alerts.reviews import read_reviews
    from utils.alerts.validate import load_alerts
    from utils.alerts.weeks import with_dates

    when = parse_day(day)
    if budget < 1:
        raise InputError(f"--budget must be >= 1, got {budget}")
    fp_needed(0, target_fp_reduction)
    clean, report = load_alerts(source, table=table)
    reviews = read_reviews(source)
    labelled = apply_reviews(clean, reviews)
    thresholds = (read_plan_thresholds(plan) if plan is not None
                  else plan_thresholds_of(labelled, target_fp_reduction))
    dated, undated = with_dates(labelled)
    queue = review_queue(dated, thresholds, day=when, budget=budget,
                         reviewed=reviews["video_name"])
    on_day = dated[(dated["day"] == when) & (dated["probability"] >= 0)]
    info = {"source": report.source, "day": when.date().isoformat(), "budget": budget,
            "alerts_that_day": int(on_day["video_name"].nunique()),
            "already_reviewed": int(on_day["video_name"].isin(set(reviews["video_name"]))
                                    .sum()),
            "queued": len(queue),
            "cameras": int(queue.groupby(["store", "camera"]).ngroups) if len(queue) else 0,
            "rows_without_time": undated,
            "thresholds": "plan file " + str(plan) if plan is not None
            else f"exact plan at {target_fp_reduction:.0%} FP reduction, reviews applied"}
    return queue, info


def review_batch(source: str | Path, videos: list[str], verdict: str, reviewer: str, *,
                 at: str | None = None, table: str = "alerts") -> pd.DataFrame:
    """The rows to add for ``videos``: each must be a video of the source (its store and camera
    are copied from there); ``at`` (ISO 8601) defaults to now, in UTC."""
    from utils.alerts.reviews import VERDICTS
    from utils.alerts.validate import load_alerts

    if verdict not in VERDICTS:
        raise InputError(f"--verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    if not reviewer.strip():
        raise InputError("--reviewer must name who reviewed (got an empty name)")
    if not videos:
        raise InputError("no video to add: give --video at least once")
    when = _timestamp(at)
    clean, report = load_alerts(source, table=table)
    known = clean.drop_duplicates("video_name").set_index("video_name")
    unknown = [v for v in videos if v not in known.index]
    if unknown:
        raise InputError(f"{report.source}: no usable alert with video_name {unknown[0]!r}"
                         + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    return pd.DataFrame({"video_name": videos,
                         "store": known.loc[videos, "store"].to_numpy(),
                         "camera": known.loc[videos, "camera"].to_numpy(),
                         "verdict": verdict, "reviewer": reviewer.strip(), "reviewed_at": when})


def _timestamp(at: str | None) -> str:
    if at is None:
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    try:
        stamp = dt.datetime.fromisoformat(at)
    except ValueError:
        raise InputError(f"--at must be an ISO 8601 time such as 2024-03-01T17:05:00, got "
                         f"{at!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
