"""Q2 uniformity: per-camera table, heterogeneity tests and the generated conclusion."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from utils.alerts.conclusion import conclusion
from utils.alerts.plots import plot_forest, plot_fp_at_recall, plot_rate_vs_auc
from utils.alerts.uniformity import (
    MIN_THEFTS_FOR_CI,
    _camera_aucs,
    _codes,
    _delong_variance,
    calibration_test,
    camera_table,
    global_threshold_cost,
    heterogeneity,
    interval_coverage,
    null_simulation,
    shuffle_cameras,
)
from utils.errors import InputError
from utils.metrics import roc_auc


def _camera(store: str, y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"store": store, "camera": "1", "probability": p, "is_theft": y})


def _mixed_frame(seed: int = 0) -> pd.DataFrame:
    """A: perfect (AUC 1); B: nearly inverted (AUC ~0.02); C: random; D: 3 thefts; E: no theft."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(30, bool), np.zeros(300, bool)]
    frames = [
        _camera("A", y, np.r_[rng.uniform(0.6, 1, 30), rng.uniform(-0.2, 0.5, 300)]),
        _camera("B", y, np.r_[rng.uniform(-0.2, 0.5, 30), rng.uniform(0.3, 1, 300)]),
        _camera("C", y, rng.uniform(-0.2, 1, 330)),
        _camera("D", np.r_[np.ones(3, bool), np.zeros(100, bool)], rng.uniform(0, 1, 103)),
        _camera("E", np.zeros(50, bool), rng.uniform(-0.1, 1, 50)),
    ]
    return pd.concat(frames, ignore_index=True)


def _same_distribution(seed: int = 0, n_cams: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400 * n_cams
    y = rng.random(n) < 0.08
    return pd.DataFrame({"store": [f"S{i % n_cams}" for i in range(n)], "camera": "2",
                         "probability": rng.normal(size=n) + y, "is_theft": y})


def test_camera_aucs_match_roc_auc_per_camera() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    y = rng.random(n) < 0.1
    s = np.round(rng.normal(size=n) + y, 1)  # heavy ties
    frame = pd.DataFrame({"store": rng.choice(list("PQRST"), n), "camera": "1"})
    codes, names = _codes(frame)
    order = np.argsort(s, kind="stable")
    tie_id = np.cumsum(np.r_[False, np.diff(s[order]) != 0])
    fast = _camera_aucs(codes, y, order, tie_id, len(names))
    np.testing.assert_allclose(fast, [roc_auc(y[codes == c], s[codes == c]) for c in range(5)])


def test_delong_variance_by_hand() -> None:
    # Placements: positives (1, 1/2, 1/3), negatives (1/3, 1/2, 1): each set has sample variance
    # 0.120370..., so Var = 0.12037/3 + 0.12037/3.
    y = np.array([1, 0, 1, 0, 1, 0], bool)
    s = np.array([0.9, 0.8, 0.7, 0.7, 0.3, 0.1])
    var_set = np.var([1, 0.5, 1 / 3], ddof=1)
    assert _delong_variance(y, s) == pytest.approx(2 * var_set / 3)


def test_heterogeneity_detected_when_cameras_differ() -> None:
    het = heterogeneity(_mixed_frame(), n_perm=200, seed=0, progress=False)
    assert het.n_cameras == 4  # E has no theft
    assert het.permutation_p == pytest.approx(1 / 201)  # no permutation reaches the observed
    assert het.cochran_p < 1e-6
    assert het.cochran_excluded == ["A / 1"]  # AUC 1: zero DeLong variance
    assert het.i2 > 0.9


def test_no_heterogeneity_when_cameras_share_a_distribution() -> None:
    het = heterogeneity(_same_distribution(), n_perm=200, seed=0, progress=False)
    assert het.permutation_p > 0.1
    assert het.cochran_p > 0.1
    assert het.rate_p > 0.05


def test_theft_rate_chi_square_by_hand() -> None:
    # 10/100 vs 30/100 thefts: expected 20 and 80 per camera, chi2 = 5 + 1.25 + 5 + 1.25.
    frame = pd.concat([_camera("A", np.arange(100) < 10, np.linspace(0, 1, 100)),
                       _camera("B", np.arange(100) < 30, np.linspace(0, 1, 100))])
    het = heterogeneity(frame, n_perm=10, progress=False)
    assert het.rate_chi2 == pytest.approx(12.5)
    assert het.rate_p == pytest.approx(stats.chi2.sf(12.5, 1))


def test_camera_table_numbers_and_flags() -> None:
    frame = _mixed_frame()
    table = camera_table(frame, n_boot=100, seed=0, min_thefts=10, progress=False)
    t = table.set_index("store")
    assert list(t.index) == ["A", "B", "C", "D", "E"]
    assert t.loc["A", "auc"] == 1.0 and t.loc["A", "auc_low"] == 1.0
    b_rows = frame[frame.store == "B"]
    assert t.loc["B", "auc"] == pytest.approx(roc_auc_score(b_rows.is_theft, b_rows.probability))
    assert t.loc["B", "auc"] < 0.1
    assert t.loc["A", "ap"] == pytest.approx(1.0, abs=1e-12)  # scikit-learn sums in floats
    assert t.loc["A", "n_thefts"] == 30 and t.loc["A", "theft_rate"] == pytest.approx(30 / 330)
    assert bool(t.loc["D", "few_thefts"]) and not t.loc["C", "few_thefts"]
    assert bool(t.loc["E", "no_theft"]) and np.isnan(t.loc["E", "auc"])
    assert np.isnan(t.loc["E", "fp_at_recall_80"])
    # A is perfectly separated, so full recall costs no false positive.
    assert t.loc["A", "fp_at_recall_90"] == 0
    # B's alerted thefts lie in [0, 0.5], its normals in [0.3, 1]: 80 % recall keeps them all.
    assert t.loc["B", "fp_at_recall_80"] == t.loc["B", "fp_before"]
    # D has 3 thefts: a point estimate, but no interval (too few thefts to estimate one).
    d_rows = frame[frame.store == "D"]
    assert t.loc["D", "auc"] == pytest.approx(roc_auc_score(d_rows.is_theft, d_rows.probability))
    assert np.isnan(t.loc["D", "auc_low"]) and not t.loc["D", "estimable"]
    rated = table[table.estimable]
    assert list(rated.store) == ["A", "B", "C"]
    assert (rated.auc_low <= rated.auc).all() and (rated.auc <= rated.auc_high).all()
    # The default minimum is the one the coverage simulation supports: 30 thefts.
    default = camera_table(frame, n_boot=20, progress=False).set_index("store")
    assert list(default.index[default.estimable]) == ["A", "B", "C"]


def test_global_threshold_cost_by_hand() -> None:
    # Both cameras separate perfectly, at different scales: A's thefts at 0.9 over normals in
    # [0.5, 0.8], B's thefts at 0.4 over normals in [0, 0.3]. Keeping 8 of the 10 thefts with one
    # threshold means t <= 0.4, which keeps A's 20 normals; per camera, nothing is kept.
    frame = pd.concat([
        _camera("A", np.r_[np.ones(5, bool), np.zeros(20, bool)],
                np.r_[np.full(5, 0.9), np.linspace(0.5, 0.8, 20)]),
        _camera("B", np.r_[np.ones(5, bool), np.zeros(30, bool)],
                np.r_[np.full(5, 0.4), np.linspace(0, 0.3, 30)]),
    ])
    cost = global_threshold_cost(frame, recall=0.8)
    assert cost.to_dict() == {"recall": 0.8, "tp_before": 10, "fp_before": 50,
                              "global_threshold": 0.4, "global_tp_lost": 0, "global_fp": 20,
                              "per_camera_tp_lost": 0, "per_camera_fp": 0}
    text = conclusion(camera_table(frame, n_boot=20, progress=False),
                      heterogeneity(frame, n_perm=20, progress=False), cost=cost, min_thefts=5)
    assert ("keeping 80% of the 10 alerted thefts leaves 20 of 50 false positives (0 thefts "
            "lost); per-camera thresholds losing 0 leave 0, i.e. 20 fewer (100 %)") in text


def test_conclusion_is_written_from_the_numbers() -> None:
    frame = _mixed_frame()
    table = camera_table(frame, n_boot=100, seed=0, min_thefts=10, progress=False)
    het = heterogeneity(frame, n_perm=100, seed=0, progress=False)
    text = conclusion(table, het, min_thefts=10)
    b = table.set_index("store").loc["B"]
    assert f"{b.auc:.2f} [{b.auc_low:.2f}, {b.auc_high:.2f}] on store B / camera 1" in text
    assert "1.00 [1.00, 1.00] on store A / camera 1 (30 thefts)" in text
    assert "permutation test p ≤ 0.0099 (none of 100 permutations" in text
    assert "**not rank thefts uniformly**" in text
    # Only cameras with an interval enter the range and the below-0.5 list: B, not D.
    assert ("2 rank thefts *below* normal rows (AUC < 0.5: store B / camera 1, store C / camera "
            "1), 1 of them with the whole interval below 0.5") in text
    assert "look at store B / camera 1 (AUC interval below 0.5)" in text
    assert "1 camera(s) have fewer than 10 thefts: too few thefts to estimate" in text
    assert "1 camera(s) have no theft at all (store E / camera 1)" in text
    assert "Cochran" not in text  # not calibrated: never quoted without its null simulation

    same = _same_distribution()
    quiet_het = heterogeneity(same, n_perm=100, progress=False)
    quiet = conclusion(camera_table(same, n_boot=50, min_thefts=10, progress=False), quiet_het,
                       min_thefts=10)
    assert f"permutation test p = {quiet_het.permutation_p:.3g} (100 permutations" in quiet
    assert "no evidence at the 0.05 level" in quiet and "not rank" not in quiet
    assert "AUC < 0.5" not in quiet and "none ranks thefts below normal rows" in quiet


def test_plots_and_bad_input() -> None:
    table = camera_table(_mixed_frame(), n_boot=20, min_thefts=10, progress=False)
    fig = plot_forest(table, "auc")
    assert len(fig.axes[0].get_yticklabels()) == 3  # D (3 thefts) and E (none): in the title
    assert "not shown: 1 with too few thefts to estimate, 1 without theft" in (
        fig.axes[0].get_title())
    plot_forest(table, "ap")
    plot_rate_vs_auc(table)
    plot_fp_at_recall(table, 0.8)
    with pytest.raises(InputError, match="metric"):
        plot_forest(table, "f1")
    with pytest.raises(InputError, match=r"missing column\(s\)"):
        camera_table(pd.DataFrame({"store": ["a"]}))


@pytest.mark.slow
def test_interval_coverage_simulation_supports_the_minimum() -> None:
    """The bootstrap interval is reported only from MIN_THEFTS_FOR_CI thefts: there its
    simulated coverage is >= 90 %; with 1 or 2 thefts it is far below the nominal 95 %."""
    assert interval_coverage(1, n_sim=100, n_boot=100) < 0.25
    assert interval_coverage(2, n_sim=100, n_boot=100) < 0.7
    for auc in (0.75, 0.9):
        assert interval_coverage(MIN_THEFTS_FOR_CI, auc=auc, n_sim=300, n_boot=200) >= 0.9


def test_shuffle_cameras_keeps_class_counts() -> None:
    frame = _mixed_frame()
    alike = shuffle_cameras(frame, np.random.default_rng(0))
    before = frame.groupby("store").is_theft.agg(["sum", "size"])
    after = alike.groupby("store").is_theft.agg(["sum", "size"])
    pd.testing.assert_frame_equal(before, after)
    assert sorted(alike.probability[alike.is_theft]) == sorted(frame.probability[frame.is_theft])
    assert not alike.store.equals(frame.store)


@pytest.mark.slow
def test_null_simulation_measures_test_calibration() -> None:
    """Cameras made alike: the permutation test rejects about alpha of the time, Cochran's Q over
    DeLong variances far more often when some cameras have 2-3 thefts (why it is not evidence)."""
    rng = np.random.default_rng(3)
    parts = []
    for i, n_pos in enumerate([2, 2, 3, 3, 4, 60, 80, 100]):
        y = np.r_[np.ones(n_pos, bool), np.zeros(400, bool)]
        parts.append(pd.DataFrame({"store": f"S{i}", "camera": "1", "is_theft": y,
                                   "probability": 1 / (1 + np.exp(-(rng.normal(size=y.size)
                                                                    + 1.2 * y)))}))
    frame = pd.concat(parts, ignore_index=True)
    null = null_simulation(frame, n_rep=60, n_perm=39, seed=0, progress=False)
    assert null.permutation_rejection <= 0.15
    assert null.cochran_rejection >= 2 * null.permutation_rejection + 0.1
    assert len(null.saving_pct) == 60 and all(0 <= s <= 100 for s in null.saving_pct)
    het = heterogeneity(frame, n_perm=39, progress=False)
    text = conclusion(camera_table(frame, n_boot=20, progress=False), het, null=null,
                      cost=global_threshold_cost(frame))
    assert f"Cochran's Q (DeLong variances) in {100 * null.cochran_rejection:.0f} %" in text
    assert "Cochran's Q is not calibrated on these data and is not used as evidence" in text
    q50 = np.percentile(null.saving_pct, 50)
    assert f"With the cameras made alike the same comparison saves {q50:.0f} %" in text


def _calibrated(seed: int, offsets: list[float]) -> pd.DataFrame:
    """Cameras whose theft probability is logistic in the score's logit, with camera offsets."""
    rng = np.random.default_rng(seed)
    parts = []
    for i, off in enumerate(offsets):
        p = rng.uniform(0.01, 0.6, 1500)
        y = rng.random(p.size) < 1 / (1 + np.exp(-(np.log(p / (1 - p)) + off)))
        parts.append(pd.DataFrame({"store": f"S{i}", "camera": "1", "probability": p,
                                   "is_theft": y}))
    return pd.concat(parts, ignore_index=True)


def test_calibration_test_is_calibrated_and_detects_offsets() -> None:
    rejections = [calibration_test(_calibrated(s, [0, 0, 0, 0])).p < 0.05 for s in range(40)]
    assert np.mean(rejections) <= 0.15  # 5 % nominal; 40 replicates
    shifted = calibration_test(_calibrated(0, [0, 0.8, -0.8, 0]))
    assert shifted.p < 1e-6 and shifted.df == 3 and shifted.n_cameras == 4
    table = camera_table(_calibrated(0, [0, 0.8, -0.8, 0]), n_boot=20, progress=False)
    text = conclusion(table, heterogeneity(_calibrated(0, [0, 0.8, -0.8, 0]), n_perm=20,
                                           progress=False), calibration=shifted)
    assert "the same score does **not** mean the same theft risk" in text
    same = conclusion(table, heterogeneity(_calibrated(1, [0] * 4), n_perm=20, progress=False),
                      calibration=calibration_test(_calibrated(1, [0] * 4)))
    assert "same score does **not**" not in same
