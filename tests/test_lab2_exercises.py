"""Lab 2.1-2.3's exercises, their plausible wrong answers and a constant one, and what each
notebook has defined when they run (checked by tests/test_exercises.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from utils.finetune.thresholds import binary_report
from utils.paths import REPO_ROOT

LAB = REPO_ROOT / "lab2_finetune"
HEAD, THRESHOLDS, DEMO = (LAB / f"{n}.ipynb" for n in (
    "01_finetune_head", "02_thresholds_and_errors", "03_shoplifting_demo"))
EXERCISES = {
    HEAD: [("ex1_pos_weight_solution", "ex1_pos_weight_test"),
           ("ex2_train_step_solution", "ex2_train_step_test"),
           ("ex3_shared_videos_solution", "ex3_shared_videos_test")],
    THRESHOLDS: [("ex1_recall_threshold_solution", "ex1_recall_threshold_test"),
                 ("ex2_precision_recall_fbeta_solution", "ex2_precision_recall_fbeta_test")],
    DEMO: [("ex1_first_alert_solution", "ex1_first_alert_test"),
           ("ex2_smooth_solution", "ex2_smooth_test")],
}

WRONG = {
    "ex1_pos_weight_solution": {
        "positives / negatives": '''
def my_pos_weight(labels):
    y = np.asarray(labels)
    return float((y == 1).sum() / (y == 0).sum())
''',
        "negatives / all clips": '''
def my_pos_weight(labels):
    y = np.asarray(labels)
    return float((y == 0).sum() / y.size)
''',
        "no check of a missing class (inf or 0 instead of an error)": '''
def my_pos_weight(labels):
    y = np.asarray(labels, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64((y == 0).sum()) / (y == 1).sum())
''',
        "constant answer": '''
def my_pos_weight(labels):
    return 0.0
''',
    },
    "ex2_train_step_solution": {
        "sigmoid twice (BCEWithLogits on probabilities)": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    optimizer.zero_grad()
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))(
        torch.sigmoid(head(x).squeeze(1)), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        "BCE on probabilities, pos_weight ignored": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    optimizer.zero_grad()
    loss = torch.nn.BCELoss()(torch.sigmoid(head(x).squeeze(1)), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        "pos_weight ignored": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    optimizer.zero_grad()
    loss = torch.nn.BCEWithLogitsLoss()(head(x).squeeze(1), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        "no zero_grad (gradients pile up)": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))(
        head(x).squeeze(1), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        "zero_grad between backward and step (no update)": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))(
        head(x).squeeze(1), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
''',
        "constant answer": '''
import torch
def my_train_step(head, optimizer, x, y, pos_weight):
    return 0.0
''',
    },
    "ex3_shared_videos_solution": {
        "clips instead of videos": '''
def my_shared_videos(split):
    train = set(split.loc[split["split"] == "train", "source_video"])
    return int(split.loc[split["split"] == "test", "source_video"].isin(train).sum())
''',
        "test videos seen in any other split (val counted)": '''
def my_shared_videos(split):
    other = set(split.loc[split["split"] != "test", "source_video"])
    return len(set(split.loc[split["split"] == "test", "source_video"]) & other)
''',
        "test videos not in training": '''
def my_shared_videos(split):
    train = set(split.loc[split["split"] == "train", "source_video"])
    return len(set(split.loc[split["split"] == "test", "source_video"]) - train)
''',
        "constant answer": '''
def my_shared_videos(split):
    return 0
''',
    },
    "ex1_recall_threshold_solution": {
        "chosen on the test rows": '''
def my_recall_threshold(scores, target_recall):
    rows = scores[scores["split"] == "test"]
    s = rows["score"].to_numpy(dtype=float)
    thefts = s[rows["label"].to_numpy() == 1]
    return float(max(t for t in np.unique(s) if np.mean(thefts >= t) >= target_recall))
''',
        "chosen on every row": '''
def my_recall_threshold(scores, target_recall):
    s = scores["score"].to_numpy(dtype=float)
    thefts = s[scores["label"].to_numpy() == 1]
    return float(max(t for t in np.unique(s) if np.mean(thefts >= t) >= target_recall))
''',
        "> for >=": '''
def my_recall_threshold(scores, target_recall):
    val = scores[scores["split"] == "val"]
    s = val["score"].to_numpy(dtype=float)
    thefts = s[val["label"].to_numpy() == 1]
    for t in np.unique(s)[::-1]:
        if np.mean(thefts >= t) > target_recall:
            return float(t)
''',
        "the lowest threshold reaching the target": '''
def my_recall_threshold(scores, target_recall):
    val = scores[scores["split"] == "val"]
    s = val["score"].to_numpy(dtype=float)
    thefts = s[val["label"].to_numpy() == 1]
    return float(min(t for t in np.unique(s) if np.mean(thefts >= t) >= target_recall))
''',
        "constant answer": '''
def my_recall_threshold(scores, target_recall):
    return 0.0
''',
    },
    "ex2_precision_recall_fbeta_solution": {
        "wrong axis (rows read as predictions)": '''
def my_precision_recall_fbeta(cm, beta):
    (tn, fn), (fp, tp) = np.asarray(cm)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0
    return float(p), float(r), float(f)
''',
        "beta not squared": '''
def my_precision_recall_fbeta(cm, beta):
    (tn, fp), (fn, tp) = np.asarray(cm)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = (1 + beta) * p * r / (beta * p + r) if p + r else 0.0
    return float(p), float(r), float(f)
''',
        "beta on the recall side of the denominator": '''
def my_precision_recall_fbeta(cm, beta):
    (tn, fp), (fn, tp) = np.asarray(cm)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = (1 + beta**2) * p * r / (p + beta**2 * r) if p + r else 0.0
    return float(p), float(r), float(f)
''',
        "NaN for a zero denominator": '''
def my_precision_recall_fbeta(cm, beta):
    (tn, fp), (fn, tp) = np.asarray(cm, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p, r = tp / (tp + fp), tp / (tp + fn)
        f = (1 + beta**2) * p * r / (beta**2 * p + r)
    return float(p), float(r), float(f)
''',
        "constant answer": '''
def my_precision_recall_fbeta(cm, beta):
    return 0.0, 0.0, 0.0
''',
    },
    "ex1_first_alert_solution": {
        "> for >=": '''
def my_first_alert(windows, threshold):
    hits = windows.loc[windows["score"] > threshold, "start"]
    return float(hits.min()) if len(hits) else None
''',
        "the first row in table order": '''
def my_first_alert(windows, threshold):
    hits = windows.loc[windows["score"] >= threshold, "start"]
    return float(hits.iloc[0]) if len(hits) else None
''',
        "the alert column instead of the threshold": '''
def my_first_alert(windows, threshold):
    hits = windows.loc[windows["alert"], "start"]
    return float(hits.min()) if len(hits) else None
''',
        "the end of the window": '''
def my_first_alert(windows, threshold):
    hits = windows.loc[windows["score"] >= threshold, "end"]
    return float(hits.min()) if len(hits) else None
''',
        "constant answer": '''
def my_first_alert(windows, threshold):
    return 0
''',
    },
    "ex2_smooth_solution": {
        "weights swapped (a on the new score)": '''
def my_smooth(probabilities, smoothing):
    p = np.asarray(probabilities, dtype=float)
    out = np.empty_like(p)
    for i, v in enumerate(p):
        out[i] = v if i == 0 else (1 - smoothing) * out[i - 1] + smoothing * v
    return out
''',
        "starts from 0 instead of the first score": '''
def my_smooth(probabilities, smoothing):
    out, last = [], 0.0
    for v in probabilities:
        last = smoothing * last + (1 - smoothing) * v
        out.append(last)
    return np.array(out)
''',
        "moving average of the raw scores (not of the smoothed ones)": '''
def my_smooth(probabilities, smoothing):
    p = np.asarray(probabilities, dtype=float)
    return np.r_[p[:1], smoothing * p[:-1] + (1 - smoothing) * p[1:]]
''',
        "constant answer": '''
def my_smooth(probabilities, smoothing):
    return np.zeros(len(probabilities))
''',
    },
}


def namespace(notebook: Path) -> dict[str, Any]:
    """What the notebook has defined when its exercises run (stand-ins of the same shape)."""
    rng = np.random.default_rng(5)
    ns: dict[str, Any] = {"np": np, "pd": pd}
    if notebook == HEAD:
        labels = (rng.random(60) < 0.2).astype(int)
        labels[:2] = [0, 1]
        videos = np.repeat([f"Shoplifting{i:03d}_x264" for i in range(6)], 10)
        ns |= {"y": {"train": labels},
               "result": SimpleNamespace(pos_weight=(labels == 0).sum() / (labels == 1).sum()),
               "split": pd.DataFrame({"source_video": videos, "split": np.repeat(
                   ["train", "train", "train", "train", "val", "test"], 10)})}
    elif notebook == THRESHOLDS:
        truth = (rng.random(80) < 0.25).astype(int)
        ns["metrics"] = {"test": binary_report(truth, rng.random(80) * 0.6 + 0.3 * truth, 0.5)}
    else:
        start = np.arange(20) * 0.5
        score = rng.random(20)
        ns |= {"recogniser": SimpleNamespace(threshold=0.7),
               "windows": pd.DataFrame({"start": start, "end": start + 2, "score": score,
                                        "alert": score >= 0.7})}
    return ns

