"""`actionlab course release|grade` on a one-exercise lab (fast), and their bad-input errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from utils.cli import main
from utils.course.workflow import release, submissions
from utils.errors import InputError


def _meta(**kw: object) -> dict:
    return {"nbgrader": {"solution": False, "grade": False, "locked": False, "schema_version": 3,
                         "task": False} | kw}


def _tiny_lab(root: Path) -> Path:
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code("N = 3", metadata={"tags": ["parameters"]}),
        code("### BEGIN SOLUTION\ntotal = sum(range(N))\n### END SOLUTION",
             metadata=_meta(solution=True, grade_id="sum")),
        code("assert total >= 0\n### BEGIN HIDDEN TESTS\nassert total == 3\n"
             "### END HIDDEN TESTS", metadata=_meta(grade=True, locked=True, points=2,
                                                    grade_id="sum_test")),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    path = root / "lab9_tiny" / "01_sum.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def test_release_then_grade_from_the_command_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = _tiny_lab(tmp_path / "repo")
    done = release(tmp_path / "release", root=tmp_path / "repo", timeout=120)
    student = (done.out / "student" / "lab9_tiny" / "01_sum.ipynb").read_text()
    assert "sum(range(N))" not in student and "total == 3" not in student
    assert "raise NotImplementedError()" in student
    subs = tmp_path / "subs"
    for name, text in (("ada", source.read_text()), ("bob", student)):
        (subs / name / "lab9_tiny").mkdir(parents=True)
        (subs / name / "lab9_tiny" / "01_sum.ipynb").write_text(text)
    out = tmp_path / "grades.csv"
    assert main(["course", "grade", str(subs), "--release", str(done.out), "--out",
                 str(out)]) == 0
    assert "2 notebook(s) graded, 0 missing, 0 not gradable, 2 student(s)" in (
        capsys.readouterr().out)
    grades = pd.read_csv(out).set_index("student")
    assert list(grades.columns) == ["lab", "notebook", "status", "score", "max_score",
                                    "sum_test"]
    assert grades.loc["ada", "score"] == 2 and grades.loc["ada", "sum_test"] == 2
    assert grades.loc["bob", "score"] == 0 and grades.loc["bob", "max_score"] == 2


def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["course", "release", "--labs", "lab0_nothing", "--out", str(tmp_path)]) == 2
    assert "--labs: unknown lab folder(s) ['lab0_nothing']" in capsys.readouterr().err
    assert main(["course", "grade", str(tmp_path), "--release", str(tmp_path), "--out",
                 str(tmp_path / "g.csv")]) == 2
    assert "no course/gradebook.db" in capsys.readouterr().err
    course = tmp_path / "course"
    (course / "source" / "lab9_tiny").mkdir(parents=True)
    (course / "source" / "lab9_tiny" / "01_sum.ipynb").write_text("{}")
    subs = tmp_path / "subs"
    (subs / "ada" / "lab9_tiny").mkdir(parents=True)
    (subs / "ada" / "lab9_tiny" / "02_other.ipynb").write_text("{}")
    with pytest.raises(InputError, match=r"not <student>/<lab>/<released notebook>.ipynb: "
                                         r"\['ada/lab9_tiny/02_other.ipynb'\]"):
        submissions(subs, course)
    with pytest.raises(InputError, match="is not a folder"):
        submissions(tmp_path / "none", course)
