"""A notebook's exercise cells as nbgrader releases them, and the two checks every exercise test
makes: the autograded test passes on the reference solution and fails on the student version
(solutions cleared by nbgrader's own preprocessors). Shared by the lab exercise tests."""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import nbformat
import pytest

Cells = dict[str, Any]


def _cells(nb: Any) -> Cells:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def nbgrader_versions(notebook: Path) -> tuple[Cells, Cells]:
    """(instructor, student) cells by grade_id."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = nbformat.read(notebook, as_version=4)
    student, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    student, _ = ClearHiddenTests().preprocess(student, {})
    return _cells(nb), _cells(student)


def passes_on_solution(teacher: Cells, solution: str, test: str, ns: dict[str, Any]) -> None:
    exec(teacher[solution].source, ns)
    exec(teacher[test].source, ns)  # hidden tests included


def fails_on_student_version(student: Cells, solution: str, test: str,
                             ns: dict[str, Any]) -> None:
    assert "raise NotImplementedError()" in student[solution].source
    assert "BEGIN SOLUTION" not in student[solution].source
    with contextlib.suppress(NotImplementedError):  # a stub outside a function raises at once
        exec(student[solution].source, ns)
    with pytest.raises((NotImplementedError, NameError, AssertionError)):
        exec(student[test].source, ns)
