"""Q3: per-camera thresholds that remove a target share of false positives at the least TP cost.

The problem is a multiple-choice knapsack: each camera picks one point of its Pareto curve
(TP lost, FP removed); the totals must remove at least ``ceil(F x baseline FP)`` false positives
while losing as few thefts as possible. Four methods, with different guarantees:

* ``exact``: a dynamic programme over total TP lost, over ALL thresholds, giving the whole
  frontier (max FP removed for every TP budget, hence min TP lost for every target) in one pass;
* ``greedy``: walk the cameras' concave hulls by best FP-per-TP ratio (fast, no guarantee);
* ``milp``: scipy's HiGHS MILP over given candidates (Pareto points: equals exact; a 50-point
  grid: the published baseline);
* ``exhaustive``: brute force over every combination, for small instances only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from utils.alerts.curves import CameraCurve, Cuts
from utils.errors import InputError

METHODS = ("exact", "greedy", "milp", "exhaustive")
EXHAUSTIVE_LIMIT = 2_000_000


@dataclass
class CameraPlan:
    store: str
    camera: str
    threshold: float
    fp_removed: int
    tp_lost: int


@dataclass
class Plan:
    """Thresholds for every camera and the totals they achieve against the default threshold."""

    method: str
    target_fp_reduction: float
    fp_before: int
    tp_before: int
    fp_removed: int
    tp_lost: int
    cameras: list[CameraPlan]
    proven_optimal: bool | None = None  # None: heuristic; False: solver stopped at a time limit

    @property
    def fp_needed(self) -> int:
        return fp_needed(self.fp_before, self.target_fp_reduction)

    def thresholds(self) -> dict[tuple[str, str], float]:
        return {(c.store, c.camera): c.threshold for c in self.cameras}

    def to_dict(self) -> dict[str, Any]:
        """The CLI JSON contract."""
        return {
            "method": self.method,
            "target_fp_reduction": float(self.target_fp_reduction),
            "total": {"fp_before": int(self.fp_before), "tp_before": int(self.tp_before),
                      "fp_removed": int(self.fp_removed), "tp_lost": int(self.tp_lost)},
            "cameras": [{"store": c.store, "camera": c.camera, "threshold": float(c.threshold),
                         "fp_removed": int(c.fp_removed), "tp_lost": int(c.tp_lost)}
                        for c in self.cameras],
        }


def fp_needed(fp_before: int, target_fp_reduction: float) -> int:
    """``ceil(F x fp_before)``, rounded first so that 0.3 x 1000 asks for 300, not 301."""
    f = target_fp_reduction
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
        raise InputError(f"target FP reduction must be a fraction in (0, 1], got {f!r}")
    return math.ceil(round(f * fp_before, 9))


def _check_curves(curves: Sequence[CameraCurve]) -> list[CameraCurve]:
    curves = list(curves)
    if not curves:
        raise InputError("no camera to plan for")
    return curves


def _totals(curves: Sequence[CameraCurve]) -> tuple[int, int]:
    return sum(c.fp_before for c in curves), sum(c.tp_before for c in curves)


def _plan(method: str, target: float, curves: Sequence[CameraCurve], options: Sequence[Cuts],
          choice: Sequence[int]) -> Plan:
    """A plan taking point ``choice[i]`` of ``options[i]`` for camera i."""
    fp_before, tp_before = _totals(curves)
    cams = [CameraPlan(c.store, c.camera, float(o.thresholds[i]), int(o.fp_removed[i]),
                       int(o.tp_lost[i])) for c, o, i in zip(curves, options, choice, strict=True)]
    return Plan(method, float(target), fp_before, tp_before,
                sum(c.fp_removed for c in cams), sum(c.tp_lost for c in cams), cams)


def _unreachable(method: str, needed: int, best: int, fp_before: int) -> InputError:
    return InputError(f"{method}: target unreachable: it needs {needed} of {fp_before} FP removed, "
                      f"at most {best} can be with these candidate thresholds")


# --------------------------------------------------------------------------- exact


@dataclass(eq=False)
class Frontier:
    """Exact frontier of the totals: ``fp_removed[i]`` is the most FP removable while losing at
    most ``tp_lost[i]`` thefts; both strictly increase, so the min TP lost for a target is a
    binary search. :meth:`plan` recovers per-camera thresholds for any target."""

    curves: list[CameraCurve] = field(repr=False)
    fp_before: int
    tp_before: int
    tp_lost: np.ndarray
    fp_removed: np.ndarray
    _dp: _DP = field(repr=False)

    def min_tp_lost(self, fp_target: int) -> int:
        """The fewest thefts lost to remove at least ``fp_target`` false positives."""
        i = int(np.searchsorted(self.fp_removed, fp_target, side="left"))
        if i == len(self.fp_removed):
            raise _unreachable("exact", fp_target, int(self.fp_removed[-1]), self.fp_before)
        return int(self.tp_lost[i])

    def reduction(self) -> np.ndarray:
        """Share of baseline FP removed at each frontier point."""
        return self.fp_removed / max(self.fp_before, 1)

    def plan(self, target_fp_reduction: float) -> Plan:
        return self.plans([target_fp_reduction])[0]

    def plans(self, targets: Iterable[float]) -> list[Plan]:
        """Plans for several targets from one backward sweep."""
        targets = list(targets)
        budgets = [self.min_tp_lost(fp_needed(self.fp_before, t)) for t in targets]
        choices = self._dp.backtrack(budgets)
        options = [c.cuts() for c in self.curves]
        plans = [_plan("exact", t, self.curves, options, ch)
                 for t, ch in zip(targets, choices, strict=True)]
        for p in plans:
            p.proven_optimal = True
        return plans

    def to_dict(self) -> dict[str, Any]:
        return {"fp_before": int(self.fp_before), "tp_before": int(self.tp_before),
                "tp_lost": [int(v) for v in self.tp_lost],
                "fp_removed": [int(v) for v in self.fp_removed]}


class _DP:
    """(max,+) dynamic programme over cameras: ``dp[j]`` = most extra FP removed with exactly
    ``j`` thefts lost (negative = unreachable).

    Cameras with a single point are folded into a constant; the others are processed by
    increasing maximum TP loss so the array stays short for as long as possible. Choices are not
    stored: ``dp`` is checkpointed every ~sqrt(n) cameras and each block is recomputed during the
    backward sweep (memory O(sqrt(n) x length), time at most twice the forward pass).
    """

    def __init__(self, curves: Sequence[CameraCurve], progress: bool) -> None:
        self.n_cameras = len(curves)
        self.base = sum(int(c.fp_removed[0]) for c in curves)
        active = [i for i, c in enumerate(curves) if len(c.tp_lost) > 1]
        active.sort(key=lambda i: int(curves[i].tp_lost[-1]))
        self.active = active
        self.k = [curves[i].tp_lost for i in active]
        self.f = [curves[i].fp_removed - curves[i].fp_removed[0] for i in active]
        total = sum(int(f[-1]) for f in self.f)
        self.dtype = np.int32 if total < 2**30 else np.int64
        self.unreachable = -(2**30) if self.dtype == np.int32 else -(2**62)
        self.block = max(1, math.isqrt(len(active)))
        self.checkpoints: list[np.ndarray] = []
        dp = np.zeros(1, self.dtype)
        from utils.alerts.progress import progress_bar

        for n, idx in enumerate(progress_bar(range(len(active)), desc="exact frontier",
                                             unit="camera", disable=not progress, delay=1)):
            if n % self.block == 0:
                self.checkpoints.append(dp)
            dp = self._step(dp, idx)
        self.final = dp

    def _step(self, dp: np.ndarray, idx: int) -> np.ndarray:
        k, f = self.k[idx], self.f[idx]
        n = len(dp)
        new = np.full(n + int(k[-1]), self.unreachable, self.dtype)
        new[:n] = dp
        shifted = np.empty_like(dp)
        for kk, ff in zip(k[1:].tolist(), f[1:].tolist(), strict=True):
            np.add(dp, ff, out=shifted)
            np.maximum(new[kk:kk + n], shifted, out=new[kk:kk + n])
        return new

    def backtrack(self, budgets: Sequence[int]) -> list[list[int]]:
        """Per budget (a total TP lost on the frontier), the point chosen for every camera."""
        choices = [[0] * self.n_cameras for _ in budgets]
        js = list(budgets)
        for b in range(len(self.checkpoints) - 1, -1, -1):
            lo = b * self.block
            states = [self.checkpoints[b]]
            for idx in range(lo, min(lo + self.block, len(self.active))):
                states.append(self._step(states[-1], idx))
            for idx in range(lo + len(states) - 2, lo - 1, -1):
                prev, cur = states[idx - lo], states[idx - lo + 1]
                k, f = self.k[idx], self.f[idx]
                for t, j in enumerate(js):
                    src = j - k
                    ok = (src >= 0) & (src < len(prev))
                    gain = prev[np.clip(src, 0, len(prev) - 1)] + f
                    p = int(np.flatnonzero(ok & (gain == cur[j]))[0])
                    choices[t][self.active[idx]] = p
                    js[t] = j - int(k[p])
        return choices


def exact_frontier(curves: Sequence[CameraCurve], *, progress: bool = True) -> Frontier:
    """The exact frontier over all thresholds (see :class:`_DP` for how it stays fast)."""
    curves = _check_curves(curves)
    dp = _DP(curves, progress)
    fp_before, tp_before = _totals(curves)
    best = np.maximum.accumulate(dp.final.astype(np.int64))
    new_max = np.ones(len(best), bool)
    new_max[1:] = best[1:] > best[:-1]
    tp = np.flatnonzero(new_max)
    return Frontier(curves, fp_before, tp_before, tp, best[tp] + dp.base, dp)


# --------------------------------------------------------------------------- greedy


def _hull(k: np.ndarray, f: np.ndarray) -> list[int]:
    """Indices of the upper concave hull of a strictly increasing curve, from its first point."""
    hull = [0]
    for i in range(1, len(k)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when the slope a->i is at least the slope a->b
            if (f[i] - f[a]) * (k[b] - k[a]) >= (f[b] - f[a]) * (k[i] - k[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def greedy(curves: Sequence[CameraCurve], target_fp_reduction: float) -> Plan:
    """Take hull steps in decreasing FP-per-TP order until the target is met, the last step
    replaced by the cheapest single move of any camera that meets it.

    Free removals (normals below every theft) are taken first. Optimal when the target falls on a
    step boundary; otherwise it can overpay by at most the last step's TP cost."""
    curves = _check_curves(curves)
    fp_before, _ = _totals(curves)
    needed = fp_needed(fp_before, target_fp_reduction)
    position = [0] * len(curves)
    removed = sum(int(c.fp_removed[0]) for c in curves)
    steps = []
    for ci, c in enumerate(curves):
        hull = _hull(c.tp_lost, c.fp_removed)
        for a, b in pairwise(hull):
            dk = int(c.tp_lost[b] - c.tp_lost[a])
            df = int(c.fp_removed[b] - c.fp_removed[a])
            steps.append((-df / dk, ci, b, df))
    steps.sort()
    for _, ci, b, df in steps:
        if removed >= needed:
            break
        if df >= needed - removed:
            cam, point = _cheapest_cover(curves, position, needed - removed)
            position[cam] = point
            removed = needed
            break
        position[ci] = b
        removed += df
    if removed < needed:
        raise _unreachable("greedy", needed, removed, fp_before)
    return _plan("greedy", target_fp_reduction, curves, [c.cuts() for c in curves], position)


def _cheapest_cover(curves: Sequence[CameraCurve], position: Sequence[int],
                    deficit: int) -> tuple[int, int]:
    """The single camera move (camera, point) that removes ``deficit`` more FP at the least TP
    cost (ties: more FP removed, then the first camera)."""
    best: tuple[int, int, int, int] | None = None  # (TP cost, -FP gain, camera, point)
    for ci, c in enumerate(curves):
        i = position[ci]
        q = int(np.searchsorted(c.fp_removed, c.fp_removed[i] + deficit, side="left"))
        if q < len(c.fp_removed):
            cand = (int(c.tp_lost[q] - c.tp_lost[i]), -int(c.fp_removed[q] - c.fp_removed[i]),
                    ci, q)
            best = cand if best is None else min(best, cand)
    if best is None:
        raise RuntimeError("no camera covers the deficit")  # the current hull step always does
    return best[2], best[3]


def toy_curves(tp_lost: Sequence[Sequence[int]],
               fp_removed: Sequence[Sequence[int]]) -> list[CameraCurve]:
    """Cameras given only by their Pareto points (a hand-made instance, as in lab 3.2's greedy
    exercise): camera ``i`` is ``("toy", str(i))``, its last point mutes it (so it has
    ``tp_lost[i][-1]`` thefts and ``fp_removed[i][-1]`` false positives), point ``k`` has
    threshold ``k``."""
    if len(tp_lost) != len(fp_removed):
        raise InputError(f"{len(tp_lost)} TP lists for {len(fp_removed)} FP lists")
    out = []
    for i, (tp_points, fp_points) in enumerate(zip(tp_lost, fp_removed, strict=True)):
        k, f = np.asarray(tp_points, np.int64), np.asarray(fp_points, np.int64)
        if len(k) == 0 or len(k) != len(f) or k[0] != 0 or f[0] < 0 \
                or np.any(np.diff(k) <= 0) or np.any(np.diff(f) <= 0):
            raise InputError(f"toy camera {i}: TP lost must start at 0, and TP lost and FP "
                             f"removed strictly increase, one of each per point (got "
                             f"{k.tolist()} and {f.tolist()})")
        out.append(CameraCurve(store="toy", camera=str(i), n_rows=int(k[-1] + f[-1]),
                               n_alerts=int(k[-1] + f[-1]), tp_before=int(k[-1]),
                               fp_before=int(f[-1]), tp_lost=k, fp_removed=f,
                               thresholds=np.arange(len(k), dtype=float)))
    return out


# --------------------------------------------------------------------------- candidates


def grid_thresholds(n: int = 50) -> np.ndarray:
    """``n`` evenly spaced thresholds in [0, 1] plus the default 0 (the published baseline)."""
    if n < 2:
        raise InputError(f"a threshold grid needs at least 2 points, got {n}")
    return np.unique(np.concatenate([[0.0], np.linspace(0.0, 1.0, n)]))


def _options(curves: Sequence[CameraCurve], candidates: Sequence[Cuts] | None) -> list[Cuts]:
    if candidates is None:
        return [c.cuts() for c in curves]
    candidates = list(candidates)
    if len(candidates) != len(curves):
        raise InputError(f"{len(candidates)} candidate lists for {len(curves)} cameras")
    return candidates


def _undominated(cuts: Cuts) -> Cuts:
    """Drop candidates that another one of the same camera beats (no more TP lost, at least as
    many FP removed; the lower threshold is kept on a tie). The optimum is unchanged and the
    solver's presolve, which does this far more slowly at scale, has nothing left to do."""
    order = np.lexsort((cuts.thresholds, -cuts.fp_removed, cuts.tp_lost))
    fp = cuts.fp_removed[order]
    best_before = np.maximum.accumulate(np.concatenate([[-1], fp[:-1]]))
    keep = order[fp > best_before]
    return Cuts(cuts.thresholds[keep], cuts.tp_lost[keep], cuts.fp_removed[keep])


# --------------------------------------------------------------------------- exhaustive


def exhaustive_cost(candidates: Sequence[Cuts | CameraCurve], *,
                    seconds_per_combination: float) -> dict[str, float | int]:
    """How many combinations brute force would visit, and how long that would take."""
    if not seconds_per_combination > 0:
        raise InputError(f"seconds_per_combination must be > 0, got {seconds_per_combination}")
    sizes = [len(c.tp_lost) for c in candidates]
    log10 = sum(math.log10(s) for s in sizes)
    log10_seconds = log10 + math.log10(seconds_per_combination)
    log10_years = log10_seconds - math.log10(365.25 * 24 * 3600)
    return {"cameras": len(sizes), "combinations": math.prod(sizes),
            "log10_combinations": log10, "seconds_per_combination": seconds_per_combination,
            "log10_seconds": log10_seconds, "log10_years": log10_years,
            "years": 10.0**log10_years if log10_years < 300 else math.inf}


def exhaustive(curves: Sequence[CameraCurve], target_fp_reduction: float, *,
               candidates: Sequence[Cuts] | None = None, limit: int = EXHAUSTIVE_LIMIT,
               chunk: int = 1 << 16, progress: bool = True) -> Plan:
    """Visit every combination of one candidate per camera (default: the Pareto points; pass
    :func:`utils.alerts.curves.camera_cuts` output for every distinct threshold). Refuses with
    InputError above ``limit`` combinations. Ties: more FP removed, then the first combination."""
    from utils.alerts.progress import progress_bar

    curves = _check_curves(curves)
    options = _options(curves, candidates)
    fp_before, _ = _totals(curves)
    needed = fp_needed(fp_before, target_fp_reduction)
    total = math.prod(len(o) for o in options)
    if total > limit:
        raise InputError(f"exhaustive search over {total:.3g} combinations exceeds the limit "
                         f"{limit:,}; use method 'exact'")
    radices = np.array([len(o) for o in options], np.int64)
    best: tuple[int, int, int] | None = None  # (TP lost, -FP removed, combination)
    top = 0
    for start in progress_bar(range(0, total, chunk), desc="exhaustive", unit="chunk",
                      disable=not progress, delay=1):
        rest = np.arange(start, min(start + chunk, total), dtype=np.int64)
        tp = np.zeros(len(rest), np.int64)
        fp = np.zeros(len(rest), np.int64)
        for o, r in zip(options[::-1], radices[::-1], strict=True):  # last camera varies fastest
            rest, digit = np.divmod(rest, r)
            tp += o.tp_lost[digit]
            fp += o.fp_removed[digit]
        top = max(top, int(fp.max()))
        ok = np.flatnonzero(fp >= needed)
        if len(ok):
            i = ok[np.lexsort((-fp[ok], tp[ok]))[0]]
            cand = (int(tp[i]), -int(fp[i]), start + int(i))
            best = cand if best is None else min(best, cand)
    if best is None:
        raise _unreachable("exhaustive", needed, top, fp_before)
    digits: list[int] = []
    remaining = best[2]
    for r in radices[::-1]:
        remaining, d = divmod(remaining, int(r))
        digits.append(d)
    plan = _plan("exhaustive", target_fp_reduction, curves, options, digits[::-1])
    plan.proven_optimal = True
    return plan


# --------------------------------------------------------------------------- MILP


def milp(curves: Sequence[CameraCurve], target_fp_reduction: float, *,
         candidates: Sequence[Cuts] | None = None, time_limit: float | None = None,
         presolve: bool = False) -> Plan:
    """HiGHS MILP: one binary per (camera, candidate), exactly one per camera, FP removed >=
    target, minimise TP lost. With the Pareto points as candidates (default) it equals
    ``exact``; with :func:`grid_thresholds` cuts it is the published grid baseline.

    HiGHS's presolve is off by default: on 10k cameras it ran for minutes without honouring
    ``time_limit``, while the solve without it took seconds (and as long at real size)."""
    from scipy.optimize import Bounds, LinearConstraint
    from scipy.optimize import milp as scipy_milp
    from scipy.sparse import csr_array

    curves = _check_curves(curves)
    options = [_undominated(o) for o in _options(curves, candidates)]
    fp_before, _ = _totals(curves)
    needed = fp_needed(fp_before, target_fp_reduction)
    sizes = np.array([len(o) for o in options])
    camera = np.repeat(np.arange(len(options)), sizes)
    tp = np.concatenate([o.tp_lost for o in options]).astype(float)
    fp = np.concatenate([o.fp_removed for o in options]).astype(float)
    n = len(tp)
    one_each = csr_array((np.ones(n), (camera, np.arange(n))), shape=(len(options), n))
    constraints = [LinearConstraint(one_each, 1, 1), LinearConstraint(fp[None, :], needed, np.inf)]
    opts: dict[str, Any] = {"presolve": presolve}
    if time_limit is not None:
        opts["time_limit"] = time_limit
    res = scipy_milp(tp, constraints=constraints, integrality=np.ones(n), bounds=Bounds(0, 1),
                     options=opts)
    if res.status == 2:
        best = int(sum(o.fp_removed.max() for o in options))
        raise _unreachable("milp", needed, best, fp_before)
    if res.x is None:
        raise RuntimeError(f"MILP found no solution: {res.message}")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    choice = [int(np.argmax(res.x[a:a + s])) for a, s in zip(starts, sizes, strict=True)]
    plan = _plan("milp", target_fp_reduction, curves, options, choice)
    plan.proven_optimal = res.status == 0  # False: time limit hit, best solution found so far
    return plan


# --------------------------------------------------------------------------- floor


def apply_floor(curves: Sequence[CameraCurve], *, max_threshold: float | None = None,
                min_recall: float | None = None) -> list[CameraCurve]:
    """The curves restricted to the points a per-camera floor allows: threshold at most
    ``max_threshold`` (alerts scoring above it always stay, on every camera, including those
    without any theft in the data), and recall kept at least ``min_recall`` (cameras with thefts).

    A camera whose first point already breaks the floor keeps only the default threshold 0.
    Planning over the restricted curves gives the cheapest plan that respects the floor.
    """
    import dataclasses

    if max_threshold is not None and not max_threshold >= 0:
        raise InputError(f"max_threshold must be >= 0, got {max_threshold}")
    if min_recall is not None and not 0 <= min_recall <= 1:
        raise InputError(f"min_recall must be in [0, 1], got {min_recall}")
    out = []
    for c in _check_curves(curves):
        ok = np.ones(len(c.tp_lost), bool)
        if max_threshold is not None:
            ok &= c.thresholds <= max_threshold
        if min_recall is not None and c.tp_before > 0:
            ok &= c.recall() >= min_recall - 1e-12
        # Points are sorted by threshold, so the allowed ones are a prefix.
        n = len(ok) if ok.all() else int(np.argmin(ok))
        if n == 0:
            out.append(dataclasses.replace(c, tp_lost=np.zeros(1, np.int64),
                                           fp_removed=np.zeros(1, np.int64),
                                           thresholds=np.zeros(1)))
        else:
            out.append(dataclasses.replace(c, tp_lost=c.tp_lost[:n], fp_removed=c.fp_removed[:n],
                                           thresholds=c.thresholds[:n]))
    return out


def without_theft_share(plan: Plan, curves: Sequence[CameraCurve]) -> dict[str, Any]:
    """How much of ``plan`` rests on cameras with no theft in the data (no theft seen is not
    no theft): their FP removed, its share of the plan's, and the cameras it mutes entirely."""
    empty = {c.key for c in curves if c.tp_before == 0}
    fp_before = {c.key: c.fp_before for c in curves}
    on_empty = [c for c in plan.cameras if (c.store, c.camera) in empty]
    removed = sum(c.fp_removed for c in on_empty)
    muted = [f"{c.store} / {c.camera}" for c in on_empty
             if c.fp_removed and c.fp_removed == fp_before[(c.store, c.camera)]]
    return {"cameras": len(on_empty), "fp_removed": removed,
            "share_of_fp_removed": removed / max(plan.fp_removed, 1), "muted": muted}


# --------------------------------------------------------------------------- entry point


def plan_thresholds(curves: Sequence[CameraCurve], target_fp_reduction: float,
                    method: str = "exact", *, max_threshold: float | None = None,
                    min_recall: float | None = None, **kw: Any) -> Plan:
    """Per-camera thresholds removing at least ``ceil(F x baseline FP)`` false positives,
    within the per-camera floor ``max_threshold`` / ``min_recall`` (:func:`apply_floor`).

    ``kw`` goes to the method: ``progress`` (exact, exhaustive), ``candidates`` (milp,
    exhaustive), ``time_limit`` and ``presolve`` (milp), ``limit`` and ``chunk`` (exhaustive).
    To plan several targets, build :func:`exact_frontier` once and call its ``plans``.
    """
    if method not in METHODS:
        raise InputError(f"unknown planning method {method!r}; choose one of {METHODS}")
    fp_needed(0, target_fp_reduction)  # validate the target before any work
    if max_threshold is not None or min_recall is not None:
        curves = apply_floor(curves, max_threshold=max_threshold, min_recall=min_recall)
    if method == "exact":
        return exact_frontier(curves, **kw).plan(target_fp_reduction)
    if method == "greedy":
        return greedy(curves, target_fp_reduction, **kw)
    if method == "milp":
        return milp(curves, target_fp_reduction, **kw)
    return exhaustive(curves, target_fp_reduction, **kw)
