"""Q3 planning: exact against brute force on random instances, greedy/MILP against exact, plan
totals against a recount from the raw probabilities, and the target edge cases."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.alerts.curves import CameraCurve, all_cuts, grouped_curves, grouped_cuts
from utils.alerts.planning import (
    Plan,
    exact_frontier,
    exhaustive,
    exhaustive_cost,
    fp_needed,
    greedy,
    grid_thresholds,
    milp,
    plan_thresholds,
    toy_curves,
)
from utils.alerts.synth import small_instance
from utils.errors import InputError

matplotlib.use("Agg")


def _instance(cameras: list[list[tuple[int, bool]]]) -> tuple[np.ndarray, ...]:
    codes = np.array([i for i, rows in enumerate(cameras) for _ in rows], np.int64)
    p = np.array([v / 5 for rows in cameras for v, _ in rows], float)
    y = np.array([t for rows in cameras for _, t in rows], bool)
    return codes, p, y


def _curves(codes: np.ndarray, p: np.ndarray, y: np.ndarray, n: int) -> list[CameraCurve]:
    return grouped_curves(codes, p, y, [(f"s{i}", "1") for i in range(n)])


def _recount(plan: Plan, codes: np.ndarray, p: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(FP removed, TP lost) of the plan's thresholds applied to the raw probabilities."""
    threshold = np.array([c.threshold for c in plan.cameras])[codes]
    removed = (p >= 0) & (p < threshold)
    return int((removed & ~y).sum()), int((removed & y).sum())


camera_rows = st.lists(st.tuples(st.integers(-1, 5), st.booleans()), max_size=6)


@settings(max_examples=120, deadline=None)
@given(st.lists(camera_rows, min_size=1, max_size=4),
       st.one_of(st.floats(1e-6, 1.0), st.sampled_from([1e-9, 0.5, 1.0])))
def test_methods_agree_with_brute_force(cameras, target) -> None:
    codes, p, y = _instance(cameras)
    curves = _curves(codes, p, y, len(cameras))
    every = [all_cuts(p[codes == i], y[codes == i]) for i in range(len(cameras))]
    truth = exhaustive(curves, target, candidates=every, progress=False)
    exact = exact_frontier(curves, progress=False).plan(target)
    assert exact.tp_lost == truth.tp_lost
    assert exact.fp_removed >= exact.fp_needed
    for plan in (exact, truth, greedy(curves, target), milp(curves, target)):
        assert _recount(plan, codes, p, y) == (plan.fp_removed, plan.tp_lost)
        assert plan.fp_removed >= plan.fp_needed
        assert len(plan.cameras) == len(cameras)
        assert all(np.isfinite(c.threshold) for c in plan.cameras)
    assert greedy(curves, target).tp_lost >= exact.tp_lost
    assert milp(curves, target).tp_lost == exact.tp_lost  # MILP over the Pareto points
    grid = grouped_cuts(codes, p, y, len(cameras), grid_thresholds(4))
    try:
        assert milp(curves, target, candidates=grid).tp_lost >= exact.tp_lost
    except InputError as err:  # the grid cannot mute a camera with probability 1.0
        assert "unreachable" in str(err)


def test_frontier_gives_min_tp_lost_for_every_target() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, 24)
    p = np.round(rng.uniform(-0.1, 1, 24), 1)
    y = rng.random(24) < 0.4
    curves = _curves(codes, p, y, 3)
    frontier = exact_frontier(curves, progress=False)
    fp_before = frontier.fp_before
    targets = [n / fp_before for n in range(1, fp_before + 1)]
    every = [all_cuts(p[codes == i], y[codes == i]) for i in range(3)]
    for target, plan in zip(targets, frontier.plans(targets), strict=True):
        truth = exhaustive(curves, target, candidates=every, progress=False)
        assert plan.tp_lost == truth.tp_lost == frontier.min_tp_lost(plan.fp_needed)
        assert _recount(plan, codes, p, y) == (plan.fp_removed, plan.tp_lost)
    assert np.all(np.diff(frontier.tp_lost) > 0) and np.all(np.diff(frontier.fp_removed) > 0)


def _curve(name: str, tp_lost: list[int], fp_removed: list[int]) -> CameraCurve:
    return CameraCurve(store=name, camera="1", n_rows=0, n_alerts=0, tp_before=tp_lost[-1],
                       fp_before=fp_removed[-1], tp_lost=tp_lost, fp_removed=fp_removed,
                       thresholds=np.linspace(0, 1, len(tp_lost)))


def test_greedy_can_overpay() -> None:
    # A: (0,0) (4,9); B: (0,0) (1,6) (3,12). Need 13 of 21 FP. Greedy walks B to (3,12) (ratios
    # 6 then 3 beat A's 2.25), then must add A: 7 TP. Optimal: B at (1,6) + A: 5 TP.
    curves = [_curve("A", [0, 4], [0, 9]), _curve("B", [0, 1, 3], [0, 6, 12])]
    target = 13 / 21
    assert greedy(curves, target).tp_lost == 7
    exact = plan_thresholds(curves, target, "exact", progress=False)
    assert (exact.tp_lost, exact.fp_removed) == (5, 15)
    assert [c.tp_lost for c in exact.cameras] == [4, 1]


def test_toy_curves_plan_like_the_curves_they_stand_for() -> None:
    # the same instance as above, given by its points only
    toys = toy_curves([[0, 4], [0, 1, 3]], [[0, 9], [0, 6, 12]])
    assert [(c.key, c.tp_before, c.fp_before) for c in toys] == [(("toy", "0"), 4, 9),
                                                                   (("toy", "1"), 3, 12)]
    assert exact_frontier(toys, progress=False).min_tp_lost(13) == 5
    assert greedy(toys, 13 / 21).tp_lost == 7
    for bad in ([[1, 2]], [[0, 0]]):
        with pytest.raises(InputError, match="toy camera 0"):
            toy_curves(bad, [[0, 3]])
    for tp, fp in (([[0, 1]], [[2, 2]]), ([[0, 1]], [[2]])):
        with pytest.raises(InputError, match="toy camera 0"):
            toy_curves(tp, fp)


def test_realistic_instance_against_grid_milp() -> None:
    rng = np.random.default_rng(0)
    n, cams = 20_000, 12
    codes = np.sort(rng.integers(0, cams, n))
    y = rng.random(n) < 0.02
    p = np.round(np.where(y, rng.beta(3, 2, n), rng.beta(2, 3, n)), 3)
    p[rng.random(n) < 0.002] = -1.0
    curves = _curves(codes, p, y, cams)
    grid = grouped_cuts(codes, p, y, cams, grid_thresholds(50))
    targets = [0.1, 0.3, 0.5, 0.7, 0.9]
    for target, plan in zip(targets, exact_frontier(curves, progress=False).plans(targets),
                            strict=True):
        assert _recount(plan, codes, p, y) == (plan.fp_removed, plan.tp_lost)
        assert plan.tp_lost <= milp(curves, target, candidates=grid).tp_lost
        assert plan.tp_lost == milp(curves, target).tp_lost
        assert plan.tp_lost <= greedy(curves, target).tp_lost


def test_target_edge_cases() -> None:
    assert fp_needed(1000, 0.3) == 300  # not 301 from 0.3 * 1000 = 300.00000000000006
    assert fp_needed(1000, 1e-9) == 1
    codes, p, y = _instance([[(1, False), (2, True), (5, False)], [(3, False), (4, True)]])
    curves = _curves(codes, p, y, 2)
    full = plan_thresholds(curves, 1.0, progress=False)
    # camera 0 is muted (its 1.0 normal sits above its theft); camera 1's normal is free
    assert (full.fp_removed, full.tp_lost) == (3, 1)
    assert [c.threshold for c in full.cameras] == [np.nextafter(1.0, 2.0), 0.8]
    assert plan_thresholds(curves, 1e-9, progress=False).fp_removed >= 1
    for bad in (0.0, -0.1, 1.5, float("nan"), "0.3", True):
        with pytest.raises(InputError, match="target FP reduction"):
            plan_thresholds(curves, bad)
    with pytest.raises(InputError, match="unknown planning method"):
        plan_thresholds(curves, 0.5, "simplex")
    grid = grouped_cuts(codes, p, y, 2, grid_thresholds(4))  # cannot drop the 1.0 normal
    with pytest.raises(InputError, match="unreachable"):
        milp(curves, 1.0, candidates=grid)
    with pytest.raises(InputError, match="unreachable"):
        exhaustive(curves, 1.0, candidates=grid, progress=False)
    with pytest.raises(InputError, match="no camera"):
        plan_thresholds([], 0.5)


def test_exhaustive_refuses_and_estimates() -> None:
    curves = [_curve(str(i), [0, 1, 2], [0, 3, 4]) for i in range(5)]  # 3**5 = 243 combinations
    with pytest.raises(InputError, match="243 combinations"):
        exhaustive(curves, 0.5, limit=100)
    cost = exhaustive_cost(curves, seconds_per_combination=1e-6)
    assert cost["combinations"] == 243
    assert cost["log10_combinations"] == pytest.approx(np.log10(243))
    assert cost["log10_seconds"] == pytest.approx(np.log10(243e-6))
    assert cost["years"] == pytest.approx(243e-6 / (365.25 * 24 * 3600))
    assert cost["log10_years"] == pytest.approx(np.log10(cost["years"]))
    with pytest.raises(InputError, match="seconds_per_combination"):
        exhaustive_cost(curves, seconds_per_combination=0.0)


def test_plan_json_contract() -> None:
    curves = [_curve("A", [0, 4], [0, 9]), _curve("B", [0, 1, 3], [0, 6, 12])]
    d = plan_thresholds(curves, 0.5, progress=False).to_dict()
    assert set(d) == {"method", "target_fp_reduction", "total", "cameras"}
    assert d["total"] == {"fp_before": 21, "tp_before": 7, "fp_removed": 12, "tp_lost": 3}
    assert d["cameras"][1] == {"store": "B", "camera": "1", "threshold": 1.0, "fp_removed": 12,
                               "tp_lost": 3}


def test_plot_frontiers_draws_each_method() -> None:
    from utils.alerts.plots import plot_frontiers

    curves = [_curve("A", [0, 4], [0, 9]), _curve("B", [0, 1, 3], [0, 6, 12])]
    frontier = exact_frontier(curves, progress=False)
    targets = [0.3, 0.6]
    fig = plot_frontiers(frontier, {"exact": frontier.plans(targets),
                                    "greedy": [greedy(curves, t) for t in targets]},
                         reference={0.3: 1, 0.6: 6})
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.lines]
    assert labels[:3] == ["exact frontier (all thresholds)", "exact", "greedy"]
    assert ax.lines[0].get_ydata().tolist() == [0, *frontier.tp_lost.tolist()]
    assert "of 7" in ax.get_ylabel()
    # lower panel: excess over the optimum (greedy overpays 2 thefts at 13 of 21 FP, see above)
    excess = fig.axes[1]
    assert [line.get_ydata().tolist() for line in excess.lines[:2]] == [[0, 0], [0, 2]]


def test_small_instance_keeps_the_first_cameras_with_a_theft() -> None:
    # s0: 5 thefts, 20 normals; s1: only a theft below 0 (not alerted); s2: 1 theft, 3 normals;
    # s3: thefts, but after the two cameras asked for.
    rows = ([("s0", 0.9, True)] * 5 + [("s0", 0.1 * (i % 9), False) for i in range(20)]
            + [("s1", -0.5, True), ("s1", 0.4, False)]
            + [("s2", 0.7, True)] + [("s2", 0.2, False)] * 3 + [("s2", -0.1, False)]
            + [("s3", 0.8, True), ("s3", 0.3, False)])
    clean = pd.DataFrame(rows, columns=["store", "probability", "is_theft"]).assign(camera="1")
    small = small_instance(clean, cameras=2, alerts=9, seed=0)
    counts = small.groupby(["store", "is_theft"]).size().to_dict()
    # 9 alerts: 3 thefts and 6 normals per camera, or all a camera has; never p < 0.
    assert counts == {("s0", False): 6, ("s0", True): 3, ("s2", False): 3, ("s2", True): 1}
    assert (small["probability"] >= 0).all()
    assert small.equals(clean.loc[small.index])  # rows of clean, unchanged
    assert small.equals(small_instance(clean, cameras=2, alerts=9, seed=0))
    assert not small.index.equals(small_instance(clean, cameras=2, alerts=9, seed=1).index)
