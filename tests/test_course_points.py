"""Points per notebook and per lab from the nbgrader metadata, and the README's table of them,
which must match the notebooks (it is generated: `actionlab course points --readme`)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_course_cli import _meta

from utils.cli import main
from utils.course.points import (
    BEGIN_TABLE,
    END_TABLE,
    lab_points,
    markdown_table,
    notebook_points,
    readme_table,
    write_readme_table,
)
from utils.errors import InputError
from utils.paths import REPO_ROOT


def _exercise(gid: str, points: float) -> list[nbformat.NotebookNode]:
    code = nbformat.v4.new_code_cell
    return [code(f"### BEGIN SOLUTION\n{gid} = 1\n### END SOLUTION",
                 metadata=_meta(solution=True, grade_id=gid)),
            code(f"assert {gid} == 1", metadata=_meta(grade=True, locked=True, points=points,
                                                      grade_id=f"{gid}_test"))]


def _notebook(path: Path, cells: list[nbformat.NotebookNode]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """lab8_a: 01 with a 2-point exercise and a 3-point written answer, 02 with exercises of 1
    and 1.5 points; lab9_b: one notebook without exercises."""
    answer = nbformat.v4.new_markdown_cell(
        "### BEGIN SOLUTION\nrubric\n### END SOLUTION",
        metadata=_meta(solution=True, grade=True, points=3, grade_id="why"))
    _notebook(tmp_path / "lab8_a" / "01_x.ipynb", [*_exercise("a", 2), answer])
    _notebook(tmp_path / "lab8_a" / "02_y.ipynb", [*_exercise("b", 1), *_exercise("c", 1.5)])
    _notebook(tmp_path / "lab9_b" / "01_z.ipynb", [nbformat.v4.new_markdown_cell("# read")])
    _notebook(tmp_path / "lab9_b" / "02_w.ipynb", [nbformat.v4.new_markdown_cell(
        "# Lab 9.2 (Bonus) — extra\n\nnot a bonus line"), *_exercise("d", 4)])
    return tmp_path


def test_points_per_notebook_and_per_lab(course: Path) -> None:
    per_notebook = notebook_points(course)
    assert per_notebook.to_dict("records") == [
        {"lab": "lab8_a", "notebook": "01_x.ipynb", "exercises": 1, "autograded": 2.0,
         "manual": 3.0, "total": 5.0, "bonus": 0.0},
        {"lab": "lab8_a", "notebook": "02_y.ipynb", "exercises": 2, "autograded": 2.5,
         "manual": 0.0, "total": 2.5, "bonus": 0.0},
        {"lab": "lab9_b", "notebook": "01_z.ipynb", "exercises": 0, "autograded": 0.0,
         "manual": 0.0, "total": 0.0, "bonus": 0.0},
        {"lab": "lab9_b", "notebook": "02_w.ipynb", "exercises": 1, "autograded": 4.0,
         "manual": 0.0, "total": 4.0, "bonus": 4.0}]
    per_lab = lab_points(per_notebook)
    assert markdown_table(per_lab).splitlines()[2:] == [
        "| lab8_a | 3 | 4.5 | 3 | 7.5 | 0 |", "| lab9_b | 1 | 4 | 0 | 4 | 4 |",
        "| all labs | 4 | 8.5 | 3 | 11.5 | 4 |"]


def test_readme_table_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n{BEGIN_TABLE}\n| old |\n{END_TABLE}\n\nafter\n")
    assert readme_table(readme) == "| old |"
    assert write_readme_table(readme, "| new |\n|---|")
    assert readme.read_text() == (
        f"# Course\n\n{BEGIN_TABLE}\n| new |\n|---|\n{END_TABLE}\n\nafter\n")
    assert not write_readme_table(readme, "| new |\n|---|")
    readme.write_text("# Course without a table\n")
    with pytest.raises(InputError, match="no points table between"):
        readme_table(readme)


def test_the_command_prints_the_points_and_writes_the_readme_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{BEGIN_TABLE}\n{END_TABLE}\n")
    assert main(["course", "points", "--readme", str(readme)]) == 0
    out = capsys.readouterr().out
    per_notebook = notebook_points()
    assert all(name in out for name in per_notebook.notebook)
    assert out.rstrip().endswith("points table rewritten")
    assert readme_table(readme) == markdown_table(lab_points(per_notebook))


def test_the_readme_table_matches_the_notebooks() -> None:
    """After adding or rebalancing exercises: `actionlab course points --readme`."""
    assert readme_table(REPO_ROOT / "README.md") == markdown_table(lab_points(notebook_points()))
