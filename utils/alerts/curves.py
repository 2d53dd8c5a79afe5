"""Per-camera #FP = f(recall) curves: what each threshold of one camera costs and saves.

An alert is kept when ``probability >= threshold``; the default threshold is 0, so rows with a
negative probability are never alerts. Raising a camera's threshold to ``t`` removes its alerts
with ``probability < t``. For each number ``k`` of thefts lost, the best threshold removes the
most false positives; these Pareto points are the Q1 curve (recall = kept TP / baseline TP,
#FP = baseline FP - removed) and the only candidates the Q3 planner needs.

Everything is computed from one sort and cumulative sums, for all cameras at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from utils.columns import require_columns
from utils.errors import InputError

REQUIRED_COLUMNS = ("store", "camera", "probability", "is_theft")


@dataclass(frozen=True)
class Cuts:
    """Candidate thresholds of one camera and what each removes (alerts with 0 <= p < t)."""

    thresholds: np.ndarray  # float64
    tp_lost: np.ndarray  # int64
    fp_removed: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.thresholds)


@dataclass(frozen=True, eq=False)
class CameraCurve:
    """Pareto points (TP lost, FP removed) of one camera, each with a threshold realising it.

    ``tp_lost[0] == 0`` (its ``fp_removed[0]`` may be positive: normals scored below every theft
    are free to remove); afterwards both arrays strictly increase. A point that removes nothing
    uses the default threshold 0.0; muting uses a value just above the camera's max probability.
    """

    store: str
    camera: str
    n_rows: int  # rows of the camera, negative probabilities included
    n_alerts: int  # rows with probability >= 0
    tp_before: int
    fp_before: int
    tp_lost: np.ndarray
    fp_removed: np.ndarray
    thresholds: np.ndarray

    def __post_init__(self) -> None:
        for name, dtype in (("tp_lost", np.int64), ("fp_removed", np.int64),
                            ("thresholds", np.float64)):
            arr = np.array(getattr(self, name), dtype=dtype)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        lengths = {len(self.tp_lost), len(self.fp_removed), len(self.thresholds)}
        if self.tp_lost.ndim != 1 or len(lengths) != 1:
            raise InputError(f"camera {self.store}/{self.camera}: tp_lost, fp_removed and "
                             f"thresholds must be 1-D of one length, got {len(self.tp_lost)}, "
                             f"{len(self.fp_removed)} and {len(self.thresholds)}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraCurve):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: not hashable

    @property
    def key(self) -> tuple[str, str]:
        return (self.store, self.camera)

    def recall(self) -> np.ndarray:
        """Recall kept at each point (NaN for a camera without theft: recall is undefined)."""
        if self.tp_before == 0:
            return np.full(len(self.tp_lost), np.nan)
        return (self.tp_before - self.tp_lost) / self.tp_before

    def fp_remaining(self) -> np.ndarray:
        """False positives still raised at each point."""
        return self.fp_before - self.fp_removed

    def cuts(self) -> Cuts:
        """The Pareto points as planner candidates."""
        return Cuts(self.thresholds, self.tp_lost, self.fp_removed)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; :meth:`from_dict` rebuilds an equal curve (floats round-trip exactly).

        ``recall`` and ``fp_remaining`` are included for readers and ignored when loading.
        """
        return {
            "store": self.store, "camera": self.camera, "n_rows": int(self.n_rows),
            "n_alerts": int(self.n_alerts), "tp_before": int(self.tp_before),
            "fp_before": int(self.fp_before),
            "tp_lost": [int(v) for v in self.tp_lost],
            "fp_removed": [int(v) for v in self.fp_removed],
            "thresholds": [float(v) for v in self.thresholds],
            "recall": [None if np.isnan(v) else float(v) for v in self.recall()],
            "fp_remaining": [int(v) for v in self.fp_remaining()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CameraCurve:
        return cls(store=str(data["store"]), camera=str(data["camera"]),
                   n_rows=int(data["n_rows"]), n_alerts=int(data["n_alerts"]),
                   tp_before=int(data["tp_before"]), fp_before=int(data["fp_before"]),
                   tp_lost=data["tp_lost"], fp_removed=data["fp_removed"],
                   thresholds=data["thresholds"])


def _arrays(probability: Any, is_theft: Any) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probability, dtype=np.float64)
    t = np.asarray(is_theft, dtype=bool)
    if p.shape != t.shape or p.ndim != 1:
        raise InputError(f"probability and is_theft must be 1-D of equal length, got shapes "
                         f"{p.shape} and {t.shape}")
    bad = ~np.isfinite(p)
    if bad.any():
        raise InputError(f"{int(bad.sum())} probabilities are not finite (first: "
                         f"{p[bad][0]!r}); drop or fix them before computing curves")
    return p, t


def _pareto_points(codes: np.ndarray, p: np.ndarray, t: np.ndarray, n_groups: int,
                   weight: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Pareto points of every group at once; row i stands for ``weight[i]`` identical alerts
    (default: one each).

    Returns ``offsets`` (group i owns ``[offsets[i], offsets[i + 1])`` of the point arrays),
    ``tp_lost``, ``fp_removed``, ``thresholds``, and per group ``n_alerts`` and ``tp_before``.
    """
    alert = p >= 0
    g, p, t = codes[alert], p[alert], t[alert]
    w = np.ones(len(p), np.int64) if weight is None else weight[alert]
    # sort by (camera, probability): a value sort, then a stable (radix for <= 16-bit) camera sort;
    # the order inside a run of equal values is irrelevant (cuts fall between distinct values)
    order = np.argsort(p)
    small = np.uint16 if n_groups <= 1 << 16 else np.int64
    order = order[np.argsort(g[order].astype(small), kind="stable")]
    g, p, t, w = g[order], p[order], t[order], w[order]
    starts = np.zeros(n_groups + 1, np.int64)  # positions in the sorted rows
    np.cumsum(np.bincount(g, minlength=n_groups), out=starts[1:])
    cum_t = np.zeros(len(p) + 1, np.int64)  # alerts (thefts) before each position
    np.cumsum(np.where(t, w, 0), out=cum_t[1:])
    cum_w = np.zeros(len(p) + 1, np.int64)
    np.cumsum(w, out=cum_w[1:])
    tp_before = cum_t[starts[1:]] - cum_t[starts[:-1]]
    n_alerts = cum_w[starts[1:]] - cum_w[starts[:-1]]

    # A cut at sorted position i removes the group's alerts before i; only cuts between distinct
    # values are realisable: the group start (threshold 0), each new value inside the group
    # (threshold = that value) and the group end (mute: just above the group's maximum).
    inner = np.flatnonzero((g[1:] == g[:-1]) & (p[1:] != p[:-1])) + 1
    nonempty = np.flatnonzero(n_alerts > 0)
    ends = starts[1:][nonempty]
    pos = np.concatenate([starts[:-1], inner, ends])
    grp = np.concatenate([np.arange(n_groups), g[inner], nonempty])
    thr = np.concatenate([np.zeros(n_groups), p[inner], np.nextafter(p[ends - 1], np.inf)])
    order = np.lexsort((pos, grp))
    pos, grp, thr = pos[order], grp[order], thr[order]
    base = starts[grp]
    tp = cum_t[pos] - cum_t[base]
    fp = (cum_w[pos] - cum_w[base]) - tp

    # For each TP count, its last cut removes the most FP (threshold = the next theft's value);
    # then keep only points that strictly improve FP removed within the group.
    last = np.ones(len(pos), bool)
    last[:-1] = (grp[1:] != grp[:-1]) | (tp[1:] != tp[:-1])
    grp, tp, fp, thr = grp[last], tp[last], fp[last], thr[last]
    keep = np.ones(len(grp), bool)
    keep[1:] = (grp[1:] != grp[:-1]) | (fp[1:] > fp[:-1])
    grp, tp, fp, thr = grp[keep], tp[keep], fp[keep], thr[keep]
    thr = np.where((tp == 0) & (fp == 0), 0.0, thr)
    offsets = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(grp, minlength=n_groups), out=offsets[1:])
    return offsets, tp, fp, thr, n_alerts, tp_before


def grouped_curves(codes: Any, probability: Any, is_theft: Any,
                   keys: Sequence[tuple[str, str]]) -> list[CameraCurve]:
    """Curves of many cameras from flat arrays: ``codes[i]`` indexes ``keys`` (store, camera)."""
    p, t = _arrays(probability, is_theft)
    codes = np.asarray(codes, dtype=np.int64)
    n_groups = len(keys)
    if codes.shape != p.shape:
        raise InputError(f"codes has shape {codes.shape}, probability {p.shape}")
    if len(codes) and (codes.min() < 0 or codes.max() >= n_groups):
        raise InputError(f"camera codes must lie in [0, {n_groups}), got "
                         f"[{codes.min()}, {codes.max()}]")
    offsets, tp, fp, thr, n_alerts, tp_before = _pareto_points(codes, p, t, n_groups)
    return _curves(keys, np.bincount(codes, minlength=n_groups), offsets, tp, fp, thr, n_alerts,
                   tp_before)


def weighted_curves(codes: Any, probability: Any, is_theft: Any, weight: Any,
                    keys: Sequence[tuple[str, str]], n_rows: Any) -> list[CameraCurve]:
    """Curves from rows that each stand for ``weight`` identical alerts (a merged summary, see
    :mod:`utils.alerts.summaries`); ``n_rows`` per camera is given since summaries drop the
    negative probabilities."""
    p, t = _arrays(probability, is_theft)
    codes = np.asarray(codes, dtype=np.int64)
    points = _pareto_points(codes, p, t, len(keys), np.asarray(weight, dtype=np.int64))
    return _curves(keys, np.asarray(n_rows, np.int64), *points)


def _curves(keys: Sequence[tuple[str, str]], n_rows: np.ndarray, offsets: np.ndarray,
            tp: np.ndarray, fp: np.ndarray, thr: np.ndarray, n_alerts: np.ndarray,
            tp_before: np.ndarray) -> list[CameraCurve]:
    return [
        CameraCurve(store=str(s), camera=str(c), n_rows=int(n_rows[i]),
                    n_alerts=int(n_alerts[i]), tp_before=int(tp_before[i]),
                    fp_before=int(n_alerts[i] - tp_before[i]),
                    tp_lost=tp[offsets[i]:offsets[i + 1]],
                    fp_removed=fp[offsets[i]:offsets[i + 1]],
                    thresholds=thr[offsets[i]:offsets[i + 1]])
        for i, (s, c) in enumerate(keys)
    ]


def camera_curve(probability: Any, is_theft: Any, *, store: str, camera: str) -> CameraCurve:
    """The Pareto curve of one camera's rows."""
    p, _ = _arrays(probability, is_theft)
    return grouped_curves(np.zeros(len(p), np.int64), probability, is_theft,
                          [(store, camera)])[0]


def _camera_codes(clean: pd.DataFrame) -> tuple[np.ndarray, list[tuple[str, str]]]:
    require_columns(clean.columns, REQUIRED_COLUMNS,
                    "the alerts frame (pass the clean frame of utils.alerts.validate.load_alerts)")
    groups = clean.groupby(["store", "camera"], sort=True, observed=True)
    keys = [(str(s), str(c)) for s, c in groups.size().index]
    return groups.ngroup().to_numpy(np.int64), keys


def camera_curves(clean: pd.DataFrame) -> list[CameraCurve]:
    """One curve per camera (store, camera) of the clean frame, sorted by (store, camera)."""
    codes, keys = _camera_codes(clean)
    return grouped_curves(codes, clean["probability"], clean["is_theft"], keys)


def cuts_at(probability: Any, is_theft: Any, thresholds: Any) -> Cuts:
    """What each given threshold removes on one camera (e.g. a fixed grid)."""
    p, t = _arrays(probability, is_theft)
    thr = np.asarray(thresholds, dtype=np.float64)
    alert = p >= 0
    thefts, normals = np.sort(p[alert & t]), np.sort(p[alert & ~t])
    tp = np.searchsorted(thefts, thr, side="left")
    fp = np.searchsorted(normals, thr, side="left")
    return Cuts(thr, tp.astype(np.int64), fp.astype(np.int64))


def all_cuts(probability: Any, is_theft: Any) -> Cuts:
    """Every distinct threshold of one camera, not only the Pareto ones (for brute force)."""
    p, t = _arrays(probability, is_theft)
    values = np.unique(p[p >= 0])
    thr = np.concatenate([[0.0], values[1:], np.nextafter(values[-1:], np.inf)])
    return cuts_at(p, t, thr)


def camera_cuts(clean: pd.DataFrame, thresholds: Any = None) -> list[Cuts]:
    """Per camera (ordered like :func:`camera_curves`), the cuts at ``thresholds`` (one grid for
    all cameras), or every distinct cut when ``thresholds`` is None."""
    codes, keys = _camera_codes(clean)
    p, t = _arrays(clean["probability"], clean["is_theft"])
    if thresholds is None:
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        return [all_cuts(p[order[a:b]], t[order[a:b]]) for a, b in pairwise(bounds)]
    return grouped_cuts(codes, p, t, len(keys), thresholds)


def grouped_cuts(codes: Any, probability: Any, is_theft: Any, n_groups: int,
                 thresholds: Any) -> list[Cuts]:
    """Cuts at one strictly increasing threshold grid for many cameras, in one histogram pass."""
    p, t = _arrays(probability, is_theft)
    codes = np.asarray(codes, dtype=np.int64)
    grid = np.asarray(thresholds, dtype=np.float64)
    if grid.ndim != 1 or len(grid) == 0 or np.any(np.diff(grid) <= 0):
        raise InputError("thresholds must be a non-empty strictly increasing 1-D grid")
    alert = p >= 0
    # bin b = number of grid values <= p; the alert is removed by grid[m] iff b <= m
    bins = np.searchsorted(grid, p[alert], side="right")
    width = len(grid) + 1
    flat = codes[alert] * width + bins
    thefts = np.bincount(flat[t[alert]], minlength=n_groups * width).reshape(n_groups, width)
    alerts = np.bincount(flat, minlength=n_groups * width).reshape(n_groups, width)
    tp = np.cumsum(thefts, axis=1)[:, :-1].astype(np.int64)
    fp = np.cumsum(alerts, axis=1)[:, :-1].astype(np.int64) - tp
    return [Cuts(grid, tp[i], fp[i]) for i in range(n_groups)]
