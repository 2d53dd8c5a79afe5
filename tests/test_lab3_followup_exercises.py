"""Lab 3.4's exercises, their plausible wrong answers and a constant one, and the names their
test cells read (checked by tests/test_exercises.py, with no notebook run: the checks build
their own fresh inputs); here, the grade cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from nbgrader_helpers import released_versions

from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab3_thresholds" / "04_reducing_false_positives.ipynb"
EXERCISES = {NOTEBOOK: [("ex1_nearest", "ex1_nearest_test"), ("ex2_psi", "ex2_psi_test"),
                        ("ex3_first_alarm", "ex3_first_alarm_test")]}

_BINS = """
    e, a = np.asarray(expected, float), np.asarray(actual, float)
    edges = np.unique(np.quantile(e, np.linspace(0, 1, 11)[1:-1]))
    n = len(edges) + 1
    pe = np.bincount(np.searchsorted(edges, e, side="right"), minlength=n) / e.size
    pa = np.bincount(np.searchsorted(edges, a, side="right"), minlength=n) / a.size
"""
_FIRE = """
    w = np.asarray(weeks)
    f = (np.asarray(ks_q) < alpha) & (np.asarray(psi_values) >= min_psi)
"""
_NEAREST = "def my_nearest(probability, threshold, k):\n    p = np.asarray(probability)\n"
_PSI = "def my_psi(expected, actual):" + _BINS
_FIRST = "def my_first_alarm(weeks, ks_q, psi_values, alpha, min_psi):" + _FIRE

WRONG: dict[str, dict[str, str]] = {
    "ex1_nearest": {
        "highest scores": _NEAREST + "    return np.argsort(-p, kind='stable')[:k]\n",
        "signed distance": _NEAREST + "    return np.argsort(p - threshold, kind='stable')[:k]\n",
        "only above the threshold": _NEAREST + (
            "    d = np.where(p >= threshold, p - threshold, np.inf)\n"
            "    return np.argsort(d, kind='stable')[:k]\n"),
        "ties in reverse order": _NEAREST + (
            "    return np.argsort(-np.abs(p - threshold), kind='stable')[::-1][:k]\n"),
        "constant": _NEAREST + "    return np.arange(k)\n",
    },
    "ex2_psi": {
        "equal-width bins": _PSI.replace(
            "np.unique(np.quantile(e, np.linspace(0, 1, 11)[1:-1]))",
            "np.linspace(e.min(), e.max(), 11)[1:-1]") + (
            "    pe, pa = np.clip(pe, 1e-4, None), np.clip(pa, 1e-4, None)\n"
            "    return float(np.sum((pa - pe) * np.log(pa / pe)))\n"),
        "no floor on empty bins": _PSI + (
            "    with np.errstate(all='ignore'):\n"
            "        return float(np.nansum((pa - pe) * np.log(pa / pe)))\n"),
        "one-sided KL": _PSI + (
            "    pe, pa = np.clip(pe, 1e-4, None), np.clip(pa, 1e-4, None)\n"
            "    return float(np.sum(pa * np.log(pa / pe)))\n"),
        "constant": "def my_psi(expected, actual):\n    return 0.0\n",
    },
    "ex3_first_alarm": {
        "or instead of and": _FIRST.replace(") & (", ") | (")
        + "    return w[f].min() if f.any() else None\n",
        "first row, not first week": _FIRST + "    return w[f][0] if f.any() else None\n",
        "last alarm": _FIRST + "    return w[f].max() if f.any() else None\n",
        "constant": _FIRST + "    return None\n",
    },
}


def namespace(notebook: Path) -> dict[str, Any]:
    """What the notebook has defined when the exercises run: a small ``weekly`` table whose
    score alarm first fires in its third week (rows shuffled)."""
    weeks = np.datetime64("2024-01-01") + 7 * np.arange(6).astype("timedelta64[D]")
    weekly = pd.DataFrame({"week": weeks, "ks_q": [0.5, 0.002, 0.001, 0.3, 1e-5, 1e-4],
                           "psi": [0.01, 0.05, 0.4, 0.02, 0.6, 0.3]}).iloc[[4, 0, 3, 2, 5, 1]]
    return {"np": np, "pd": pd, "weekly": weekly, "ALPHA": 0.01, "MIN_PSI": 0.1}


def test_grade_cells() -> None:
    cells, _ = released_versions(NOTEBOOK)
    assert len(cells) == 6
    assert all(cells[test].metadata["nbgrader"]["points"] > 0 for _, test in EXERCISES[NOTEBOOK])
