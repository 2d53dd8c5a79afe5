"""When an alert happened: its day and its week, read from the start time in ``video_name``.

Drift monitoring compares weeks and the review queue works day by day, so both need the alert's
date. The start time is written ``2023-02-25_17h16m23s``; a row whose start time does not follow
that format has no date: it is counted and reported by the callers, never silently dropped.
"""

from __future__ import annotations

import pandas as pd

from utils.columns import require_columns

TIME_FORMAT = "%Y-%m-%d_%Hh%Mm%Ss"


def alert_times(clean: pd.DataFrame) -> pd.Series:
    """The start time of each row of the clean frame (NaT when it cannot be read)."""
    require_columns(clean.columns, ("start_time",), "the alerts frame (clean, from load_alerts)")
    return pd.to_datetime(clean["start_time"], format=TIME_FORMAT, errors="coerce")


def with_dates(clean: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``clean`` with ``day`` (midnight of the start time) and ``week`` (the Monday starting its
    week) columns, rows without a readable start time removed; and how many were removed."""
    times = alert_times(clean)
    dated = clean[times.notna()].assign(day=times.dt.normalize())
    dated["week"] = dated["day"] - pd.to_timedelta(dated["day"].dt.day_of_week, unit="D")
    return dated, int(times.isna().sum())
