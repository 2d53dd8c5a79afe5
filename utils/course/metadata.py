"""Lint of the nbgrader cell metadata of a lab notebook, cheaper and clearer than nbgrader's errors.

nbgrader (0.9, cell metadata ``schema_version`` 3) expects: a solution code cell
(``solution: true, grade: false``) holding ``### BEGIN SOLUTION`` / ``### END SOLUTION``, an
autograded test cell (``grade: true, solution: false, locked: true, points > 0``) to check it,
unique ``grade_id`` values, and no solution or hidden-test markers in any other cell. This module
checks exactly that, plus the course rule that every solution code cell is followed by its test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

SCHEMA_VERSION = 3
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


@dataclass(frozen=True)
class Exercise:
    """One solution cell and the autograded test cell that follows it."""

    solution_id: str
    test_id: str
    points: float
    solution_index: int  # cell index in the notebook
    test_index: int


def _meta(cell: Any) -> dict[str, Any]:
    return dict(cell.metadata.get("nbgrader", {}))


def _is_solution(meta: dict[str, Any]) -> bool:
    return bool(meta.get("solution"))


def _is_test(meta: dict[str, Any]) -> bool:
    return bool(meta.get("grade")) and not meta.get("solution")


def _cell_problems(i: int, cell: Any, meta: dict[str, Any], seen: dict[str, int]) -> list[str]:
    where = f"cell {i}"
    problems = []
    text = cell.source
    if meta:
        grade_id = meta.get("grade_id")
        if not grade_id:
            problems.append(f"{where}: nbgrader metadata without a grade_id")
        elif grade_id in seen:
            problems.append(f"{where}: grade_id {grade_id!r} already used by cell {seen[grade_id]}")
        else:
            seen[grade_id] = i
        if meta.get("schema_version") != SCHEMA_VERSION:
            problems.append(f"{where}: schema_version {meta.get('schema_version')!r}, "
                            f"expected {SCHEMA_VERSION}")
        if meta.get("grade") and not float(meta.get("points") or 0) > 0:
            problems.append(f"{where}: graded cell {grade_id!r} has no points > 0")
    if (BEGIN_SOLUTION in text or END_SOLUTION in text) and not _is_solution(meta):
        problems.append(f"{where}: solution markers in a cell that is not a solution cell")
    if (BEGIN_HIDDEN in text or END_HIDDEN in text) and not _is_test(meta):
        problems.append(f"{where}: hidden-test markers in a cell that is not a test cell")
    if cell.cell_type == "code" and _is_solution(meta):
        if meta.get("grade"):
            problems.append(f"{where}: a code solution cell must not be graded itself; put the "
                            "checks in the test cell after it")
        if text.count(BEGIN_SOLUTION) != 1 or text.count(END_SOLUTION) != 1 or (
                text.find(BEGIN_SOLUTION) > text.find(END_SOLUTION)):
            problems.append(f"{where}: a code solution cell needs one {BEGIN_SOLUTION} ... "
                            f"{END_SOLUTION} region")
    if cell.cell_type == "markdown" and _is_solution(meta) and not meta.get("grade"):
        problems.append(f"{where}: a markdown answer cell must be graded (manually, with points): "
                        "nbgrader refuses an ungraded markdown solution cell")
    if _is_test(meta) and cell.cell_type == "code" and not meta.get("locked"):
        problems.append(f"{where}: autograded test cell {meta.get('grade_id')!r} is not locked")
    return problems


def manual_points(path: Path) -> float:
    """Points of the markdown answer cells, which an instructor grades by hand (autograde
    leaves them at zero)."""
    nb = nbformat.read(path, as_version=4)
    return sum(float(_meta(c).get("points") or 0) for c in nb.cells
               if c.cell_type == "markdown" and _is_solution(_meta(c)) and _meta(c).get("grade"))


def check_notebook(path: Path) -> tuple[list[Exercise], list[str]]:
    """The exercises of ``path`` and every metadata problem found (empty when valid)."""
    nb = nbformat.read(path, as_version=4)
    problems: list[str] = []
    seen: dict[str, int] = {}
    exercises = []
    cells = list(nb.cells)
    for i, cell in enumerate(cells):
        meta = _meta(cell)
        problems += _cell_problems(i, cell, meta, seen)
        if cell.cell_type == "code" and _is_solution(meta):
            nxt = next((j for j in range(i + 1, len(cells)) if cells[j].cell_type == "code"), None)
            test = _meta(cells[nxt]) if nxt is not None else {}
            if nxt is None or not _is_test(test):
                problems.append(f"cell {i}: solution cell {meta.get('grade_id')!r} is not "
                                "followed by an autograded test cell")
            else:
                exercises.append(Exercise(str(meta.get("grade_id")), str(test.get("grade_id")),
                                          float(test.get("points") or 0), i, nxt))
    return exercises, [f"{path.name}: {p}" for p in problems]
