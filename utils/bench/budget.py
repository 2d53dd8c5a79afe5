"""Choosing a model for a latency budget, and the original course's T4 timings as given data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from utils.errors import InputError

COURSE_T4: tuple[dict[str, Any], ...] = (
    {"model": "slowfast_r50", "top1": 41.0, "top5": 73.0, "s_per_sample": 0.67},
    {"model": "tsm_r50", "top1": 31.0, "top5": 48.0, "s_per_sample": 0.34},
    {"model": "tsn_r50", "top1": 21.0, "top5": 47.0, "s_per_sample": 0.42},
)
"""The original course's table (NVIDIA T4, 1 clip x 1 crop, its Kinetics sample): GIVEN DATA,
not measured by this project. Its top-1 values are low because of the four input mistakes
(``utils.bench.mistakes``); its seconds per sample are end to end (decode + preprocess +
forward)."""


def videos_per_second(seconds_per_video: float) -> float:
    """Videos a single worker handles per second when each takes ``seconds_per_video``."""
    if not seconds_per_video > 0:
        raise InputError(f"seconds per video must be > 0, got {seconds_per_video}")
    return 1.0 / seconds_per_video


def best_within_budget(
    rows: Sequence[Mapping[str, Any]],
    budget: float,
    *,
    time_key: str = "s_per_sample",
    score_key: str = "top1",
) -> Mapping[str, Any] | None:
    """The row with the highest ``score_key`` among those with ``time_key`` <= ``budget``
    (ties: the faster one); None when no model fits. Rows missing either value are skipped."""
    fits = [row for row in rows
            if _finite(row.get(time_key)) and _finite(row.get(score_key))
            and row[time_key] <= budget]
    if not fits:
        return None
    return max(fits, key=lambda row: (row[score_key], -row[time_key]))


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
