"""Per-camera Pareto curves: hand-computed cameras point by point; brute force on random ones."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.alerts.curves import (
    CameraCurve,
    all_cuts,
    camera_curve,
    camera_curves,
    camera_cuts,
    cuts_at,
    grouped_cuts,
)
from utils.errors import InputError

matplotlib.use("Agg")

# Sorted alerts: 0.1 N, 0.1 N, 0.2 T, 0.3 N, 0.3 T, 0.3 T, 0.5 N, 0.7 N, 0.9 T, 0.9 N (+ one
# theft at -0.5, never an alert). Thefts at 0.2, 0.3, 0.3, 0.9:
#   k=0: threshold 0.2 removes the two 0.1 normals                -> (0, 2)
#   k=1: threshold 0.3 removes 0.2 T as well: no FP gain           -> dropped
#   k=2: unreachable (the 2nd and 3rd thefts tie at 0.3)
#   k=3: threshold 0.9 removes 5 normals and 3 thefts              -> (3, 5)
#   k=4: mute (just above 0.9) removes everything                  -> (4, 6)
P = [-0.5, 0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.5, 0.7, 0.9, 0.9]
Y = [1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0]


def test_hand_made_camera_point_by_point() -> None:
    c = camera_curve(P, Y, store="s", camera="7")
    assert (c.n_rows, c.n_alerts, c.tp_before, c.fp_before) == (11, 10, 4, 6)
    assert c.tp_lost.tolist() == [0, 3, 4]
    assert c.fp_removed.tolist() == [2, 5, 6]
    assert c.thresholds.tolist() == [0.2, 0.9, np.nextafter(0.9, 1.0)]
    assert c.recall().tolist() == [1.0, 0.25, 0.0]
    assert c.fp_remaining().tolist() == [4, 1, 0]


@pytest.mark.parametrize(
    ("p", "y", "tp_lost", "fp_removed", "thresholds"),
    [
        # no theft: muting removes every FP at no TP cost
        ([0.2, 0.4, 0.4], [0, 0, 0], [0], [3], [np.nextafter(0.4, 1.0)]),
        # only thefts: nothing to gain, the default threshold stays
        ([0.1, 0.5], [1, 1], [0], [0], [0.0]),
        # a theft tied with a normal at the lowest value: that normal is not free
        ([0.3, 0.3, 0.6, 0.8], [1, 0, 0, 1], [0, 1], [0, 2], [0.0, 0.8]),
        # probability exactly 0 is an alert at the default threshold, and removable
        ([0.0, 0.5], [0, 1], [0], [1], [0.5]),
        # only negative probabilities: no alert at all
        ([-1.0, -0.2], [1, 0], [0], [0], [0.0]),
    ],
)
def test_edge_cameras(p, y, tp_lost, fp_removed, thresholds) -> None:
    c = camera_curve(p, y, store="s", camera="c")
    assert c.tp_lost.tolist() == tp_lost
    assert c.fp_removed.tolist() == fp_removed
    assert c.thresholds.tolist() == thresholds


def test_no_theft_camera_has_undefined_recall() -> None:
    c = camera_curve([0.2, 0.4], [0, 0], store="s", camera="c")
    assert np.isnan(c.recall()).all()
    assert c.to_dict()["recall"] == [None]


def test_json_round_trip_is_exact() -> None:
    c = camera_curve(P, Y, store="s", camera="7")
    back = CameraCurve.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c
    assert back.thresholds.tobytes() == c.thresholds.tobytes()
    assert back.tp_lost.dtype == np.int64
    assert back != camera_curve(P[:-1], Y[:-1], store="s", camera="7")


def test_camera_curves_groups_by_store_and_camera() -> None:
    # camera id "1" exists in two stores: two different cameras
    clean = pd.DataFrame({
        "store": ["b", "a", "a", "b", "a", "a"],
        "camera": ["1", "1", "2", "1", "1", "1"],
        "probability": [0.9, 0.2, 0.5, 0.1, 0.6, -0.3],
        "is_theft": [True, False, False, False, True, False],
    })
    curves = camera_curves(clean)
    assert [c.key for c in curves] == [("a", "1"), ("a", "2"), ("b", "1")]
    assert [(c.n_rows, c.n_alerts, c.tp_before, c.fp_before) for c in curves] == [
        (3, 2, 1, 1), (1, 1, 0, 1), (2, 2, 1, 1)]
    for c in curves:
        g = clean[(clean.store == c.store) & (clean.camera == c.camera)]
        assert c == camera_curve(g.probability, g.is_theft, store=c.store, camera=c.camera)


def _brute_pareto(p: np.ndarray, y: np.ndarray) -> list[tuple[int, int]]:
    """For each k, the max FP removed by any threshold losing exactly k TP; keep improvements."""
    cuts = all_cuts(p, y)
    best: dict[int, int] = {}
    for k, f in zip(cuts.tp_lost.tolist(), cuts.fp_removed.tolist(), strict=True):
        best[k] = max(best.get(k, -1), f)
    points, top = [], -1
    for k in sorted(best):
        if best[k] > top:
            points.append((k, best[k]))
            top = best[k]
    return points


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2, 6), st.booleans()), max_size=14))
def test_curve_matches_brute_force(rows: list[tuple[int, bool]]) -> None:
    p = np.array([v / 6 for v, _ in rows], float)
    y = np.array([t for _, t in rows], bool)
    c = camera_curve(p, y, store="s", camera="c")
    assert list(zip(c.tp_lost.tolist(), c.fp_removed.tolist(), strict=True)) == \
        _brute_pareto(p, y)
    # each threshold realises its point when applied to the raw probabilities
    again = cuts_at(p, y, c.thresholds)
    assert again.tp_lost.tolist() == c.tp_lost.tolist()
    assert again.fp_removed.tolist() == c.fp_removed.tolist()
    assert np.isfinite(c.thresholds).all()


def test_grid_cuts_match_per_camera_counts() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, 300)
    p = np.round(rng.uniform(-0.1, 1.0, 300), 2)
    y = rng.random(300) < 0.3
    grid = np.linspace(0, 1, 11)
    cuts = grouped_cuts(codes, p, y, 4, grid)
    for i in range(4):
        ref = cuts_at(p[codes == i], y[codes == i], grid)
        assert cuts[i].tp_lost.tolist() == ref.tp_lost.tolist()
        assert cuts[i].fp_removed.tolist() == ref.fp_removed.tolist()
    frame = pd.DataFrame({"store": codes.astype(str), "camera": "1", "probability": p,
                          "is_theft": y})
    assert [c.fp_removed.tolist() for c in camera_cuts(frame, grid)] == \
        [c.fp_removed.tolist() for c in cuts]
    every = camera_cuts(frame)
    assert every[0].tp_lost.tolist() == all_cuts(p[codes == 0], y[codes == 0]).tp_lost.tolist()


def test_bad_input_is_named() -> None:
    with pytest.raises(InputError, match="not finite"):
        camera_curve([0.1, np.nan], [0, 1], store="s", camera="c")
    with pytest.raises(InputError, match="equal length"):
        camera_curve([0.1, 0.2], [0], store="s", camera="c")
    with pytest.raises(InputError, match=r"missing column\(s\) camera, is_theft"):
        camera_curves(pd.DataFrame({"store": ["a"], "probability": [0.1]}))
    with pytest.raises(InputError, match="strictly increasing"):
        grouped_cuts([0], [0.1], [True], 1, [0.5, 0.2])


def test_curve_plots_draw_every_camera() -> None:
    from utils.alerts.plots import plot_camera_curve, plot_curve_grid

    curves = [camera_curve(P, Y, store="s", camera="7"),
              camera_curve([0.2, 0.4], [0, 0], store="s", camera="8")]
    fig = plot_camera_curve(curves[0])
    ax = fig.axes[0]
    assert "4 thefts, 6 FP" in ax.get_title()
    stairs = ax.lines[0]
    assert stairs.get_xdata().tolist() == [0.0, 0.25, 1.0]  # recall ascending
    assert stairs.get_ydata().tolist() == [0, 1, 4]
    assert ax.lines[-1].get_ydata().tolist() == [6]  # the default-threshold point
    grid = plot_curve_grid(curves, ncols=3)
    assert sum(ax.get_visible() and ax.axison for ax in grid.axes) == 2
    assert any("no theft" in t.get_text() for t in grid.axes[1].texts)
