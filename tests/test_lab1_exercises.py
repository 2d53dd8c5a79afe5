"""Lab 1.1's exercises as nbgrader releases them: the autograded checks fail on the student
version (solutions cleared by nbgrader's own preprocessor) and pass on the solutions."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from utils.bench import budget
from utils.bench.accuracy import EvalResult, topk_accuracy
from utils.bench.speed import clips_per_second
from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "01_pretrained_benchmark.ipynb"
EXERCISES = [("ex1_topk_solution", "ex1_topk_test"), ("ex2_clips_solution", "ex2_clips_test"),
             ("ex3_budget_solution", "ex3_budget_test")]


def _cells(nb: Any) -> dict[str, Any]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def released_cells(notebook: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The graded cells by grade_id: the instructor's, and the student's as nbgrader releases
    them (solutions and hidden tests cleared by its own preprocessors)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbformat.read(notebook, as_version=4)
    student, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    student, _ = ClearHiddenTests().preprocess(student, {})
    return _cells(nb), _cells(student)


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    return released_cells(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run (a stand-in ``correct`` result)."""
    rng = np.random.default_rng(0)
    correct = EvalResult([Path(f"c{i}.mp4") for i in range(30)], rng.integers(0, 400, 30),
                         rng.dirichlet(np.ones(400), 30), (1, 1))
    return {"np": np, "topk_accuracy": topk_accuracy, "clips_per_second": clips_per_second,
            "budget": budget, "BUDGET_S": 0.5, "correct": correct,
            "batch_seconds": np.array([0.031, 0.029, 0.050, 0.030, 0.033])}


def test_metadata_is_nbgrader_schema_3() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    graded = [c for c in nb.cells if "nbgrader" in c.metadata]
    ids = [c.metadata["nbgrader"]["grade_id"] for c in graded]
    assert len(ids) == len(set(ids)) == 8
    for cell in graded:
        meta = cell.metadata["nbgrader"]
        assert meta["schema_version"] == 3 and meta["task"] is False
        if meta["grade"]:
            assert meta["points"] > 0
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            assert meta["locked"] is False
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    for solution, test in EXERCISES:
        assert order.index(test) == order.index(solution) + 1


def test_no_cell_outside_the_exercises_uses_a_solution_name() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbgrader" not in cell.metadata:
            assert "my_" not in cell.source, cell.source[:80]


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_pass_on_the_solution(solution: str, test: str,
                                     versions: tuple[dict, dict]) -> None:
    teacher, _ = versions
    ns = _namespace()
    exec(teacher[solution].source, ns)
    exec(teacher[test].source, ns)  # hidden tests included


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_fail_on_the_student_version(solution: str, test: str,
                                            versions: tuple[dict, dict]) -> None:
    _, student = versions
    assert "raise NotImplementedError()" in student[solution].source
    assert "BEGIN SOLUTION" not in student[solution].source
    ns = _namespace()
    with contextlib.suppress(NotImplementedError):  # ex 2's stub raises at once
        exec(student[solution].source, ns)
    with pytest.raises((NotImplementedError, NameError, AssertionError)):
        exec(student[test].source, ns)
