"""Lab 2 bonus 04's exercises, their plausible wrong answers and a constant one, and what the
notebook has defined when they run (checked by tests/test_exercises.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab2_finetune" / "04_anomaly_detection.ipynb"
EXERCISES = {NOTEBOOK: [("ex1_psnr_solution", "ex1_psnr_test"),
                        ("ex2_regularity_solution", "ex2_regularity_test"),
                        ("ex3_folds_solution", "ex3_folds_test")]}
WRONG = {
    "ex1_psnr_solution": {
        "PSNR of the mean absolute error": '''
def my_psnr(predicted, actual):
    return float(10 * np.log10(1.0 / np.mean(np.abs(np.asarray(predicted) - actual))))
''',
        "20 log10 of 1/MSE": '''
def my_psnr(predicted, actual):
    return float(20 * np.log10(1.0 / np.mean((np.asarray(predicted) - actual) ** 2)))
''',
        "constant answer": '''
def my_psnr(predicted, actual):
    return 0.0
''',
    },
    "ex2_regularity_solution": {
        "divided by the maximum only": '''
def my_regularity(psnr_values):
    p = np.asarray(psnr_values, dtype=float)
    return p / p.max()
''',
        "upside down (an anomaly score)": '''
def my_regularity(psnr_values):
    p = np.asarray(psnr_values, dtype=float)
    return (p.max() - p) / (p.max() - p.min())
''',
        "constant answer": '''
def my_regularity(psnr_values):
    return np.zeros(len(psnr_values))
''',
    },
    "ex3_folds_solution": {
        "rows dealt into folds (videos cut across folds)": '''
def my_grouped_folds(videos, n_splits):
    rows = np.arange(len(videos))
    return [(np.setdiff1d(rows, test), test) for test in np.array_split(rows, n_splits)]
''',
        "rows sorted by video, then cut (a video can straddle two folds)": '''
def my_grouped_folds(videos, n_splits):
    order = np.argsort(np.asarray(videos), kind="stable")
    rows = np.arange(len(videos))
    return [(np.setdiff1d(rows, test), test) for test in np.array_split(order, n_splits)]
''',
        "one video per fold, only the first n_splits videos tested": '''
def my_grouped_folds(videos, n_splits):
    videos = np.asarray(videos)
    names = np.unique(videos)[:n_splits]
    return [(np.flatnonzero(videos != v), np.flatnonzero(videos == v)) for v in names]
''',
        "constant answer: no folds": '''
def my_grouped_folds(videos, n_splits):
    return []
''',
    },
}


def namespace(notebook: Path) -> dict[str, Any]:
    """What the notebook has defined when the exercises run: ``np`` and the score ``table``
    (two test videos of 36 scored frames)."""
    videos = np.repeat(["Test001", "Test002"], 36)
    return {"np": np, "table": pd.DataFrame({"video": videos, "frame": np.tile(
        np.arange(5, 41), 2)})}
