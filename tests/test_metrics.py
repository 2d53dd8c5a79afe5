"""utils.metrics against hand-computed values and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from utils.errors import InputError
from utils.metrics import (
    Confusion,
    UndefinedMetricWarning,
    average_precision,
    bootstrap_ci,
    confusion_at,
    f1,
    fbeta,
    precision,
    recall,
    roc_auc,
    stratified_counts,
    threshold_sweep,
    undefined_reason,
)

# Six scores with a tie between a positive and a negative at 0.7.
Y = np.array([1, 0, 1, 0, 1, 0])
S = np.array([0.9, 0.8, 0.7, 0.7, 0.3, 0.1])


def _random(n: int, seed: int, rate: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random(n) < rate
    return y, np.round(rng.normal(size=n) + 1.2 * y, 1)  # rounding makes many ties


def test_auc_by_hand_with_a_tie() -> None:
    # Positive 0.9 beats 3 negatives; 0.7 beats 0.1, ties 0.7 (1/2); 0.3 beats 0.1: U = 5.5 of 9.
    assert roc_auc(Y, S) == pytest.approx(5.5 / 9)


def test_average_precision_by_hand() -> None:
    # Recall steps of 1/3 at thresholds 0.9 (P=1), 0.7 (P=2/4) and 0.3 (P=3/5).
    assert average_precision(Y, S) == pytest.approx((1 + 0.5 + 0.6) / 3)


def test_confusion_and_ratios_by_hand() -> None:
    c = confusion_at(Y, S, 0.7)
    assert c == Confusion(tp=2, fp=2, fn=1, tn=1)
    assert c.precision() == pytest.approx(0.5)
    assert c.recall() == pytest.approx(2 / 3)
    assert c.fbeta() == pytest.approx(4 / 7)
    assert c.fbeta(beta=2) == pytest.approx(10 / 16)


def test_zero_division_is_explicit() -> None:
    nothing_called = confusion_at(Y, S, 1.0)
    assert np.isnan(nothing_called.precision())
    assert nothing_called.precision(zero_division=0.0) == 0.0
    assert nothing_called.fbeta() == 0.0  # positives were missed: F is 0, not undefined
    assert np.isnan(f1(0, 0, 0))
    assert f1(0, 0, 0, zero_division=1.0) == 1.0
    np.testing.assert_array_equal(recall([1, 0], [1, 0], zero_division=-1.0), [0.5, -1.0])
    with pytest.raises(InputError):
        fbeta(1, 1, 1, beta=0)


def test_threshold_sweep_by_hand() -> None:
    frame = threshold_sweep(Y, S).to_frame()
    np.testing.assert_array_equal(frame.threshold, [0.9, 0.8, 0.7, 0.3, 0.1])
    np.testing.assert_array_equal(frame.tp, [1, 1, 2, 3, 3])
    np.testing.assert_array_equal(frame.fp, [0, 1, 2, 2, 3])
    np.testing.assert_array_equal(frame.fn, [2, 2, 1, 0, 0])
    np.testing.assert_array_equal(frame.tn, [3, 2, 1, 1, 0])
    np.testing.assert_allclose(frame.f1, [0.5, 0.4, 4 / 7, 0.75, 2 / 3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_scikit_learn(seed: int) -> None:
    y, s = _random(3000, seed)
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    for t in (-0.5, 0.4, 1.3):
        pred = s >= t
        tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[False, True]).ravel()
        c = confusion_at(y, s, t)
        assert (c.tp, c.fp, c.fn, c.tn) == (tp, fp, fn, tn)
        assert c.precision() == pytest.approx(skm.precision_score(y, pred))
        assert c.recall() == pytest.approx(skm.recall_score(y, pred))
        assert c.fbeta(beta=0.5) == pytest.approx(skm.fbeta_score(y, pred, beta=0.5))
    sweep = threshold_sweep(y, s)
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_array_equal(sweep.threshold, thr[1:])
    np.testing.assert_allclose(sweep.tp, tpr[1:] * y.sum())
    np.testing.assert_allclose(sweep.fp, fpr[1:] * (~y).sum())
    np.testing.assert_allclose(sweep.precision, precision(sweep.tp, sweep.fp))


def test_undefined_ranking_metrics_are_nan_with_a_reason() -> None:
    assert undefined_reason([0, 0]) == "no positive samples"
    assert undefined_reason([1, 1]) == "no negative samples"
    assert undefined_reason(Y) is None
    with pytest.warns(UndefinedMetricWarning, match="no positive samples"):
        assert np.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))
    with pytest.warns(UndefinedMetricWarning, match="no positive"):
        assert np.isnan(average_precision([0, 0], [0.1, 0.2]))
    assert average_precision([1, 1], [0.1, 0.2]) == 1.0  # defined: every call is right


def test_bad_input_is_named() -> None:
    with pytest.raises(InputError, match="0/1"):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(InputError, match="shape"):
        roc_auc([0, 1], [0.1])
    with pytest.raises(InputError, match="non-finite"):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(InputError, match="metric"):
        bootstrap_ci(Y, S, "accuracy")


def test_stratified_resamples_keep_class_sizes() -> None:
    y, _ = _random(500, 3)
    counts = stratified_counts(y, 20, np.random.default_rng(0))
    np.testing.assert_array_equal(counts[:, y].sum(axis=1), np.full(20, y.sum()))
    np.testing.assert_array_equal(counts[:, ~y].sum(axis=1), np.full(20, (~y).sum()))


@pytest.mark.parametrize("metric", ["roc_auc", "average_precision"])
def test_bootstrap_ci(metric: str) -> None:
    y, s = _random(4000, 4)
    ci = bootstrap_ci(y, s, metric, n_boot=300, seed=7)
    assert ci.low < ci.estimate < ci.high
    assert ci == bootstrap_ci(y, s, metric, n_boot=300, seed=7)
    assert ci != bootstrap_ci(y, s, metric, n_boot=300, seed=8)
    small = bootstrap_ci(y[:400], s[:400], metric, n_boot=300, seed=7)
    assert (ci.high - ci.low) < 0.6 * (small.high - small.low)  # ~sqrt(10) narrower
    # The vectorised path and a per-resample scikit-learn call see the same resamples.
    sk = {"roc_auc": skm.roc_auc_score, "average_precision": skm.average_precision_score}[metric]
    by_sklearn = bootstrap_ci(y[:400], s[:400], sk, n_boot=300, seed=7)
    assert by_sklearn.low == pytest.approx(small.low, abs=1e-12)
    assert by_sklearn.high == pytest.approx(small.high, abs=1e-12)


def test_bootstrap_of_undefined_metric_is_nan() -> None:
    with pytest.warns(UndefinedMetricWarning):
        ci = bootstrap_ci([0, 0, 0], [0.1, 0.2, 0.3], n_boot=10)
    assert np.isnan(ci.estimate) and np.isnan(ci.low) and np.isnan(ci.high)


@pytest.mark.parametrize("metric", ["roc_auc", "average_precision"])
def test_bootstrap_agrees_with_scipy(metric: str) -> None:
    """scipy.stats.bootstrap with the positives and the negatives as two independent samples
    resamples within each class: the same stratified percentile bootstrap, drawn differently, so
    the bounds agree up to Monte-Carlo error (about 0.1 of the interval width here)."""
    from scipy import stats

    y, s = _random(600, 11)
    sk = {"roc_auc": skm.roc_auc_score, "average_precision": skm.average_precision_score}[metric]

    def statistic(pos: np.ndarray, neg: np.ndarray) -> float:
        return sk(np.r_[np.ones(pos.size), np.zeros(neg.size)], np.r_[pos, neg])

    ours = bootstrap_ci(y, s, metric, n_boot=2000, seed=1)
    theirs = stats.bootstrap((s[y], s[~y]), statistic, n_resamples=2000, paired=False,
                             vectorized=False, method="percentile", confidence_level=0.95,
                             rng=np.random.default_rng(2)).confidence_interval
    width = ours.high - ours.low
    assert ours.estimate == pytest.approx(sk(y, s), abs=1e-12)
    assert ours.low == pytest.approx(theirs.low, abs=0.1 * width)
    assert ours.high == pytest.approx(theirs.high, abs=0.1 * width)
