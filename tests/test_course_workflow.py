"""The instructor workflow on every lab notebook of the repository, through nbgrader itself.

One release of every notebook (``generate_assignment``); then two submissions per notebook are
autograded: the instructor version (what a perfect student hands in), executed once for the
whole suite (``tests/conftest.py``) and graded as submitted, and the unsolved student version,
executed by nbgrader with the release's grading parameters (the notebook's smoke parameters and
synthetic data, :mod:`utils.course.grading`). Cost: one extra execution per notebook.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import Executed

from utils.course.metadata import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    check_notebook,
    manual_points,
)
from utils.course.setup_cell import cell_source, find_cell
from utils.course.workflow import Release, grade, release
from utils.labs import discover

NOTEBOOKS = discover()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]
pytestmark = [pytest.mark.notebook, pytest.mark.slow]
REPO_URL = "file:///srv/course/actionlab.git"


def _between(text: str, begin: str, end: str) -> list[str]:
    """Non-trivial lines inside the marked regions of ``text``."""
    lines, inside = [], False
    for line in text.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside and len(line.strip()) > 3:
            lines.append(line.strip())
    return lines


def _by_grade_id(path: Path) -> dict[str, nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if "grade_id" in c.metadata.get("nbgrader", {})}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return release(tmp_path_factory.mktemp("release"), repo_url=REPO_URL, ref="v1")


@pytest.fixture(scope="module")
def graded(released: Release, tmp_path_factory: pytest.TempPathFactory,
           executed_notebook: Callable[[Path], Executed]) -> pd.DataFrame:
    """The solved submissions are the suite's own executed runs of the instructor versions,
    graded as submitted (``execute=False``: nbgrader restores the test cells and reads the
    outputs); the unsolved student versions are executed by nbgrader itself."""
    solved = tmp_path_factory.mktemp("solved")
    for nb in NOTEBOOKS:
        target = solved / "solved" / nb.parent.name / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(executed_notebook(nb).notebook, target)
    unsolved = tmp_path_factory.mktemp("unsolved")
    for nb in released.student:
        target = unsolved / "unsolved" / nb.parent.name / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, target)
    frames = [grade(solved, released.out / "grades_solved.csv", release_dir=released.out,
                    execute=False),
              grade(unsolved, released.out / "grades_unsolved.csv", release_dir=released.out)]
    for frame, name in zip(frames, ("grades_solved.csv", "grades_unsolved.csv"), strict=True):
        assert pd.read_csv(released.out / name).shape[0] == len(frame)
    return pd.concat(frames, ignore_index=True)


def test_release_layout(released: Release) -> None:
    assert [p.relative_to(released.out / "student") for p in released.student] == [
        p.relative_to(p.parent.parent) for p in NOTEBOOKS]
    assert (released.course / "gradebook.db").exists()
    assert (released.course / "nbgrader_config.py").exists()


def test_release_stamps_the_repo_url(released: Release) -> None:
    for path in released.student + released.instructor:
        nb = nbformat.read(path, as_version=4)
        index = find_cell(nb)
        assert index is not None, path
        assert nb.cells[index].source == cell_source(path.parent.name, REPO_URL, "v1"), path


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_student_version_has_no_solution(released: Release, notebook: Path) -> None:
    student = released.out / "student" / notebook.parent.name / notebook.name
    text = student.read_text()
    for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
        assert marker not in text
    source_cells = _by_grade_id(notebook)
    student_cells = _by_grade_id(student)
    assert source_cells.keys() == student_cells.keys()
    for gid, cell in source_cells.items():
        for begin, end in ((BEGIN_SOLUTION, END_SOLUTION), (BEGIN_HIDDEN, END_HIDDEN)):
            for line in _between(cell.source, begin, end):
                assert line not in student_cells[gid].source, (gid, line)
    for exercise in check_notebook(notebook)[0]:
        assert "raise NotImplementedError()" in student_cells[exercise.solution_id].source


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_grades(graded: pd.DataFrame, released: Release, notebook: Path) -> None:
    exercises, _ = check_notebook(notebook)
    rows = graded[(graded.lab == notebook.parent.name) & (graded.notebook == notebook.name)]
    solved = rows[rows.student == "solved"].iloc[0]
    unsolved = rows[rows.student == "unsolved"].iloc[0]
    assert solved.status == unsolved.status == "graded"
    total = sum(e.points for e in exercises)
    # markdown answers are graded by hand: in the maximum, not in the automatic score
    assert solved.max_score == total + manual_points(notebook) and solved.score == total
    for e in exercises:
        assert solved[e.test_id] == e.points
        assert unsolved[e.test_id] == 0
    assert unsolved.score == 0


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_unsolved_version_runs_up_to_its_exercises(graded: pd.DataFrame, released: Release,
                                                   notebook: Path) -> None:
    """In nbgrader's execution of the unsolved version, the only cells that fail are exercise
    cells (the first failure belongs to the first exercise); the solved version runs without
    error."""
    exercises, _ = check_notebook(notebook)
    allowed = {e.solution_id for e in exercises} | {e.test_id for e in exercises}
    for student in ("unsolved", "solved"):
        path = released.course / "autograded" / student / notebook.parent.name / notebook.name
        nb = nbformat.read(path, as_version=4)
        failed = [c.metadata.get("nbgrader", {}).get("grade_id", f"cell {i}")
                  for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and any(o.output_type == "error" for o in c.outputs)]
        if student == "solved":
            assert failed == []
        else:
            assert set(failed) <= allowed, failed
            if exercises:  # a solution cell that only defines a function fails in its test
                assert failed[0] in (exercises[0].solution_id, exercises[0].test_id)
        if notebook.parent.name == "lab3_thresholds":  # text progress bars, no frozen widgets
            mimes = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     for k in o.get("data", {})}
            assert "application/vnd.jupyter.widget-view+json" not in mimes
            assert json.dumps(nb.cells[-1].outputs)  # the key-numbers cell ran
