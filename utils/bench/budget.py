"""Choosing a model for a latency budget, and the original course's T4 timings as given data."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from utils.errors import InputError

COURSE_T4: tuple[dict[str, Any], ...] = (
    {"model": "slowfast_r50", "top1": 41.0, "top5": 73.0, "s_per_sample": 0.67},
    {"model": "tsm_r50", "top1": 31.0, "top5": 48.0, "s_per_sample": 0.34},
    {"model": "tsn_r50", "top1": 21.0, "top5": 47.0, "s_per_sample": 0.42},
)
"""The original course's table (NVIDIA T4, 1 clip x 1 crop, its Kinetics sample): GIVEN DATA,
not measured by this project. The course's notebooks had the four input mistakes of
``utils.bench.mistakes``; how much of the gap to the published numbers each one explains was
not measured on its clips. Its seconds per sample are end to end (decode + preprocess +
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


def single_view(protocol: str | None) -> bool:
    """Was a published accuracy measured with one clip and one crop (the benchmark's default
    ``VIEWS = (1, 1)``), so that it compares with a 1x1 measurement?"""
    return bool(protocol) and re.search(r"(?<!\d)1 clip x 1\b", protocol or "") is not None


def pick_here_text(rows: Sequence[Mapping[str, Any]], budget_ms: float, *,
                   protocols: Mapping[str, str | None], views: tuple[int, int], device: str,
                   findings: bool) -> tuple[str, Mapping[str, Any] | None]:
    """(markdown, picked row): the most accurate benchmarked model whose measured model-only
    latency fits ``budget_ms``, ranking like with like. Measured top-1 (same clips, same views)
    when it is a finding; else the published top-1 of the models published at 1 clip x 1 crop,
    and only when the benchmark measured that protocol too. A published figure with more views
    is never ranked against them: the text names those models and their protocol."""
    head = f"Here ({device}), budget {budget_ms:.0f} ms per clip of {views[0]}x{views[1]} views: "
    other = sorted(r["model"] for r in rows
                   if r.get("published_top1") is not None
                   and not single_view(protocols.get(r["model"])))
    note = ("" if not other else " Not ranked by their published top-1, which was measured "
            "with another protocol: " + ", ".join(
                f"{m} ({protocols.get(m)})" for m in other) + ".")
    if findings:
        pick = best_within_budget(rows, budget_ms, time_key="latency_ms_median")
        if pick is None:
            return head + "no benchmarked model fits.", None
        return (head + f"**{pick['model']}**, the most accurate measured here "
                f"({pick['top1']:.1f} % top-1 on these clips, "
                f"{pick['latency_ms_median']:.0f} ms).", pick)
    if views != (1, 1):
        return (head + "the measured accuracies are not findings and no published figure uses "
                "these views: no model is ranked by accuracy." + note, None)
    same = [r for r in rows if single_view(protocols.get(r["model"]))]
    pick = best_within_budget(same, budget_ms, time_key="latency_ms_median",
                              score_key="published_top1")
    if pick is None:
        return (head + "the measured accuracies are not findings, and no model published at 1 "
                "clip x 1 crop fits." + note, None)
    return (head + f"the measured accuracies are not findings; among the models published at 1 "
            f"clip x 1 crop, **{pick['model']}** ({pick['published_top1']} % published top-1, "
            f"{pick['latency_ms_median']:.0f} ms measured)." + note, pick)
