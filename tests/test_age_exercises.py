"""Lab 2.5's exercises, their plausible wrong answers and a constant one, and what the notebook
has defined when they run (checked by tests/test_exercises.py); here, its answer graded by
hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from utils.age.evaluate import BANDS
from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab2_finetune" / "05_age_regression.ipynb"
EXERCISES = {NOTEBOOK: [("ex1_band_solution", "ex1_band_test"),
                        ("ex2_rule_solution", "ex2_rule_test")]}

WRONG = {
    "ex1_band_test": {
        "bands of the predicted age": """
def my_mae_by_band(real, predicted, edges):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return [float(np.abs(predicted - real)[(predicted >= lo) & (predicted < hi)].mean())
            if ((predicted >= lo) & (predicted < hi)).any() else np.nan
            for lo, hi in zip(edges[:-1], edges[1:])]
""",
        "bands closed on the right": """
def my_mae_by_band(real, predicted, edges):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return [float(np.abs(predicted - real)[(real > lo) & (real <= hi)].mean())
            if ((real > lo) & (real <= hi)).any() else np.nan
            for lo, hi in zip(edges[:-1], edges[1:])]
""",
        "signed error": """
def my_mae_by_band(real, predicted, edges):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return [float((predicted - real)[(real >= lo) & (real < hi)].mean())
            if ((real >= lo) & (real < hi)).any() else np.nan
            for lo, hi in zip(edges[:-1], edges[1:])]
""",
        "constant": """
def my_mae_by_band(real, predicted, edges):
    return [0.0] * (len(edges) - 1)
""",
    },
    "ex2_rule_test": {
        "share of everybody": """
def my_minors_passed_share(real, predicted, x, legal_age):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return float(((real < legal_age) & (predicted >= x)).mean())
""",
        "strictly above x": """
def my_minors_passed_share(real, predicted, x, legal_age):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return float((predicted[real < legal_age] > x).mean())
""",
        "minors up to the legal age": """
def my_minors_passed_share(real, predicted, x, legal_age):
    real, predicted = np.asarray(real, float), np.asarray(predicted, float)
    return float((predicted[real <= legal_age] >= x).mean())
""",
        "constant": """
def my_minors_passed_share(real, predicted, x, legal_age):
    return 0.0
""",
    },
}


def namespace(notebook: Path) -> dict[str, Any]:
    """What the notebook has defined when the exercises run: fresh test predictions whose ages
    fall on band edges and on the legal age."""
    rng = np.random.default_rng(11)
    real = np.concatenate([[12, 13, 17, 18, 18, 25, 60], rng.integers(2, 80, 60)]).astype(float)
    predicted = real + rng.normal(3, 7, real.size)
    return {"np": np, "BANDS": BANDS, "LEGAL_AGE": 18, "y_test": real, "p_test": predicted}


def test_markdown_answer_is_graded_by_hand() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    [answer] = [c for c in nb.cells if c.cell_type == "markdown" and "nbgrader" in c.metadata]
    meta = answer.metadata["nbgrader"]
    assert meta["solution"] and meta["grade"] and meta["points"] > 0
    assert "=== BEGIN MARK SCHEME ===" in answer.source

