"""Lab 2.5's exercises as nbgrader releases them: the autograded checks pass on the reference
solution, fail on the student version, and fail on plausible wrong solutions and on a constant
answer (so a check that cannot fail would be caught here)."""

from __future__ import annotations

from typing import Any

import nbformat
import numpy as np
import pytest
from nbgrader_helpers import (
    assert_student_version_fails,
    released_versions,
    run_solution_and_test,
)

from utils.age.evaluate import BANDS, mae_by_band
from utils.age.risk import id_rule_table
from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab2_finetune" / "05_age_regression.ipynb"
EXERCISES = [("ex1_band_solution", "ex1_band_test"), ("ex2_rule_solution", "ex2_rule_test")]

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


Versions = tuple[dict[str, Any], dict[str, Any]]


@pytest.fixture(scope="module")
def versions() -> Versions:
    return released_versions(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run: fresh test predictions whose ages
    fall on band edges and on the legal age."""
    rng = np.random.default_rng(11)
    real = np.concatenate([[12, 13, 17, 18, 18, 25, 60], rng.integers(2, 80, 60)]).astype(float)
    predicted = real + rng.normal(3, 7, real.size)
    return {"np": np, "mae_by_band": mae_by_band, "id_rule_table": id_rule_table,
            "BANDS": BANDS, "LEGAL_AGE": 18, "y_test": real, "p_test": predicted}


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_pass_on_the_solution(solution: str, test: str,
                                     versions: Versions) -> None:
    run_solution_and_test(versions[0], solution, test, _namespace())


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_fail_on_the_student_version(solution: str, test: str,
                                            versions: Versions) -> None:
    assert_student_version_fails(versions[1], solution, test, _namespace())


@pytest.mark.parametrize(("test", "wrong"), [(t, w) for t, rows in WRONG.items() for w in rows])
def test_checks_fail_on_wrong_solutions(test: str, wrong: str,
                                        versions: Versions) -> None:
    teacher, _ = versions
    ns = _namespace()
    exec(WRONG[test][wrong], ns)
    with pytest.raises(AssertionError):
        exec(teacher[test].source, ns)


def test_markdown_answer_is_graded_by_hand() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    [answer] = [c for c in nb.cells if c.cell_type == "markdown" and "nbgrader" in c.metadata]
    meta = answer.metadata["nbgrader"]
    assert meta["solution"] and meta["grade"] and meta["points"] > 0
    assert "=== BEGIN MARK SCHEME ===" in answer.source


def test_no_cell_outside_the_exercises_uses_a_solution_name() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbgrader" not in cell.metadata:
            assert "my_" not in cell.source, cell.source[:80]
