"""Every lab notebook's exercise cells carry valid nbgrader metadata (cheap; runs on every
notebook the repository holds, so a notebook added on another branch is checked at merge)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from utils.course.metadata import check_notebook, manual_points
from utils.labs import discover

NOTEBOOKS = discover()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_exercise_metadata_is_valid(notebook: Path) -> None:
    _, problems = check_notebook(notebook)
    assert problems == []


@pytest.mark.parametrize("notebook", [p for p in NOTEBOOKS if p.parent.name == "lab3_thresholds"],
                         ids=lambda p: p.name)
def test_lab3_notebooks_have_exercises(notebook: Path) -> None:
    exercises, _ = check_notebook(notebook)
    assert exercises and all(e.points > 0 for e in exercises)


def _notebook(tmp_path: Path, cells: list) -> Path:
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def _meta(**kw: object) -> dict:
    base = {"solution": False, "grade": False, "locked": False, "schema_version": 3,
            "task": False}
    return {"nbgrader": base | kw}


def test_lint_finds_each_mistake(tmp_path: Path) -> None:
    code = nbformat.v4.new_code_cell
    good = [code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION",
                 metadata=_meta(solution=True, grade_id="a")),
            code("assert x == 1", metadata=_meta(grade=True, locked=True, points=1,
                                                 grade_id="a_test"))]
    exercises, problems = check_notebook(_notebook(tmp_path, good))
    assert problems == [] and [(e.solution_id, e.test_id, e.points) for e in exercises] == [
        ("a", "a_test", 1.0)]
    bad = [code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),  # markers, no metadata
           code("### BEGIN SOLUTION\ny = 1\n### END SOLUTION",
                metadata=_meta(solution=True, grade_id="b")),
           code("print(y)"),  # not a test cell
           code("assert 1", metadata=_meta(grade=True, locked=True, points=0, grade_id="b")),
           code("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"),
           code("assert 1", metadata=_meta(grade=True, locked=False, points=1, grade_id="c",
                                          schema_version=1))]
    _, problems = check_notebook(_notebook(tmp_path, bad))
    text = "\n".join(problems)
    assert "cell 0: solution markers in a cell that is not a solution cell" in text
    assert "cell 1: solution cell 'b' is not followed by an autograded test cell" in text
    assert "cell 3: grade_id 'b' already used by cell 1" in text
    assert "cell 3: graded cell 'b' has no points > 0" in text
    assert "cell 4: hidden-test markers in a cell that is not a test cell" in text
    assert "cell 5: schema_version 1, expected 3" in text
    assert "cell 5: autograded test cell 'c' is not locked" in text
    assert len(problems) == 7


def test_markdown_answers_are_graded_by_hand(tmp_path: Path) -> None:
    md = nbformat.v4.new_markdown_cell
    ungraded = [md("An answer.", metadata=_meta(solution=True, grade_id="why"))]
    _, problems = check_notebook(_notebook(tmp_path, ungraded))
    assert problems == ["nb.ipynb: cell 0: a markdown answer cell must be graded (manually, with "
                        "points): nbgrader refuses an ungraded markdown solution cell"]
    graded = [md("An answer.", metadata=_meta(solution=True, grade=True, points=2,
                                              grade_id="why"))]
    assert check_notebook(_notebook(tmp_path, graded))[1] == []
    assert manual_points(tmp_path / "nb.ipynb") == 2
