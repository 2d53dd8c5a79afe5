"""Threshold rules, reports and the source-video bootstrap, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from utils.errors import InputError
from utils.finetune.evaluate import evaluate_scores, threshold_optimism
from utils.finetune.thresholds import (
    binary_report,
    choose_threshold,
    grouped_bootstrap,
    sweep_table,
)


def scores_frame(seed: int = 0, videos: int = 12, clips: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(videos):
        split = ("train", "val", "test")[v % 3]
        shift = rng.normal(0, 0.5)  # each video scores a little higher or lower
        for k in range(clips):
            label = int(rng.random() < 0.3)
            rows.append({"clip": f"V{v:03d}_x264_{k}", "source_video": f"V{v:03d}_x264",
                         "split": split, "label": label,
                         "score": float(1 / (1 + np.exp(-(2 * label - 1 + shift
                                                           + rng.normal(0, 1)))))})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("rule,beta", [("max_f1", 1.0), ("max_f2", 2.0)])
def test_max_f_rule_is_the_best_threshold_by_brute_force(rule: str, beta: float) -> None:
    frame = scores_frame()
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    chosen = choose_threshold(y, s, rule)
    by_hand = {t: fbeta_score(y, s >= t, beta=beta) for t in np.unique(s)}
    best = max(by_hand.values())
    assert by_hand[chosen.value] == pytest.approx(best)
    # ties go to the highest threshold (fewest alerts)
    assert chosen.value == max(t for t, f in by_hand.items() if f == pytest.approx(best))


def test_target_recall_takes_the_highest_threshold_reaching_it() -> None:
    frame = scores_frame(1)
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    chosen = choose_threshold(y, s, "target_recall", target_recall=0.75)
    reaching = [t for t in np.unique(s) if recall_score(y, s >= t) >= 0.75]
    assert chosen.value == max(reaching)
    assert chosen.to_dict() == {"value": chosen.value, "chosen_on": "val",
                                "rule": "target_recall", "target_recall": 0.75}


def test_bad_rule_and_no_positive_are_refused() -> None:
    with pytest.raises(InputError, match="rule"):
        choose_threshold([0, 1], [0.1, 0.9], "max_accuracy")
    with pytest.raises(InputError, match="no positive"):
        choose_threshold([0, 0], [0.1, 0.9])


def test_binary_report_and_sweep_match_scikit_learn() -> None:
    frame = scores_frame(2)
    y, s = frame["label"].to_numpy(), frame["score"].to_numpy()
    t = float(np.quantile(s, 0.6))
    report = binary_report(y, s, t)
    pred = s >= t
    tn, fp, fn, tp = confusion_matrix(y, pred).ravel()
    assert (report["tp"], report["fp"], report["tn"], report["fn"]) == (tp, fp, tn, fn)
    assert report["precision"] == pytest.approx(precision_score(y, pred))
    assert report["recall"] == pytest.approx(recall_score(y, pred))
    assert report["f1"] == pytest.approx(f1_score(y, pred))
    assert report["f2"] == pytest.approx(fbeta_score(y, pred, beta=2))
    assert report["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert report["average_precision"] == pytest.approx(average_precision_score(y, s))
    table = sweep_table(y, s)
    row = table[table["threshold"] == np.unique(s)[10]].iloc[0]
    assert row["f2"] == pytest.approx(fbeta_score(y, s >= row["threshold"], beta=2))


def test_grouped_bootstrap_resamples_whole_source_videos() -> None:
    frame = scores_frame(3)
    y, s, g = frame["label"].to_numpy(), frame["score"].to_numpy(), frame["source_video"]
    t, n_boot = 0.5, 200
    ci = grouped_bootstrap(y, s, g, t, n_boot=n_boot, seed=7)
    # the same resamples by hand: draw videos with replacement, take all their clips
    names, group_of = np.unique(g.to_numpy(), return_inverse=True)
    draws = np.random.default_rng(7).integers(0, len(names), size=(n_boot, len(names)))
    f1s, aucs = [], []
    for draw in draws:
        idx = np.concatenate([np.flatnonzero(group_of == d) for d in draw])
        f1s.append(f1_score(y[idx], s[idx] >= t, zero_division=np.nan))
        if 0 < y[idx].sum() < len(idx):
            aucs.append(roc_auc_score(y[idx], s[idx]))
    f1s = np.array(f1s)[np.isfinite(f1s)]
    assert ci["f1"]["low"] == pytest.approx(np.quantile(f1s, 0.025))
    assert ci["f1"]["high"] == pytest.approx(np.quantile(f1s, 0.975))
    assert ci["roc_auc"]["low"] == pytest.approx(np.quantile(aucs, 0.025))
    assert ci["roc_auc"]["defined"] == len(aucs)


def test_threshold_comes_from_validation_rows_only() -> None:
    frame = scores_frame(4)
    base = evaluate_scores(frame, n_boot=20)
    val = frame[frame["split"] == "val"]
    assert base["threshold"]["value"] == choose_threshold(val["label"], val["score"]).value
    assert base["threshold"]["value"] in set(val["score"])
    # any change to train or test rows leaves the threshold alone...
    changed = frame.copy()
    other = changed["split"] != "val"
    changed.loc[other, "score"] = np.random.default_rng(0).random(other.sum())
    changed.loc[other, "label"] = 1 - changed.loc[other, "label"]
    assert evaluate_scores(changed, n_boot=20)["threshold"] == base["threshold"]
    # ...while changing the val rows moves it
    moved = frame.copy()
    moved.loc[~other, "score"] = moved.loc[~other, "score"] ** 3
    assert evaluate_scores(moved, n_boot=20)["threshold"]["value"] != base["threshold"]["value"]


def test_threshold_tuned_on_test_is_never_worse_on_test() -> None:
    for seed in range(5):
        result = threshold_optimism(scores_frame(seed))
        assert result["test_f1_threshold_from_test"] >= result["test_f1_threshold_from_val"]
        assert result["optimism_f1_points"] == pytest.approx(
            100 * (result["test_f1_threshold_from_test"] - result["test_f1_threshold_from_val"]))


@pytest.mark.parametrize("command", ["finetune", "score"])
def test_cli_help_says_what_is_read_and_written(command: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from utils.cli import main

    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "Reads" in text and ("writes" in text or "--out" in text)
