"""What the exercise tests of every lab share: a notebook's teacher and student versions (as
nbgrader's own preprocessors make them) and the two checks every exercise must pass."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import nbformat
import pytest


def _cells(nb: Any) -> dict[str, Any]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def released_versions(notebook: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """({grade_id: cell} of the notebook, the same of its student version: solutions and
    hidden tests cleared)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbformat.read(notebook, as_version=4)
    student, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    student, _ = ClearHiddenTests().preprocess(student, {})
    return _cells(nb), _cells(student)


def run_solution_and_test(teacher: dict[str, Any], solution: str, test: str,
                          ns: dict[str, Any]) -> None:
    """The reference solution, then its test cell with the hidden tests: must not raise."""
    exec(teacher[solution].source, ns)
    exec(teacher[test].source, ns)


def assert_student_version_fails(student: dict[str, Any], solution: str, test: str,
                                 ns: dict[str, Any]) -> None:
    """The released stub has no solution left, and its test cell fails on it."""
    assert "raise NotImplementedError()" in student[solution].source
    assert "BEGIN SOLUTION" not in student[solution].source
    with contextlib.suppress(NotImplementedError):  # a stub that raises at once
        exec(student[solution].source, ns)
    with pytest.raises((NotImplementedError, NameError, AssertionError)):
        exec(student[test].source, ns)


def assert_exercise_layout(notebook: Path, exercises: list[tuple[str, str]]) -> None:
    """Each test cell right after its solution cell, and no other code cell using a solution
    name (``my_...``): the notebook must run on the student version too."""
    nb = nbformat.read(notebook, as_version=4)
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    for solution, test in exercises:
        assert order.index(test) == order.index(solution) + 1
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbgrader" not in cell.metadata:
            assert "my_" not in cell.source, cell.source[:80]
