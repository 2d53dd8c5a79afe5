"""`actionlab course release|grade` on a one-exercise lab (fast), and their bad-input errors."""

from __future__ import annotations

import json
import time
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
    """One exercise over N, whose grading size is N = 2; a cell records what it ran with."""
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code('N = 3\nDATA = "auto"\nOUTPUT_DIR = None\nWORKDIR = None\nCACHE_DIR = None\n'
             'USE_DRIVE = False', metadata={"tags": ["parameters"]}),
        code("import json, pathlib\nif OUTPUT_DIR:\n    pathlib.Path(OUTPUT_DIR, 'ran.json')"
             ".write_text(json.dumps({'N': N, 'DATA': DATA, 'WORKDIR': WORKDIR, "
             "'CACHE_DIR': CACHE_DIR, 'USE_DRIVE': USE_DRIVE}))"),
        code("### BEGIN SOLUTION\ntotal = sum(range(N))\n### END SOLUTION",
             metadata=_meta(solution=True, grade_id="sum")),
        code("assert total >= 0\n### BEGIN HIDDEN TESTS\nassert total == N * (N - 1) // 2\n"
             "### END HIDDEN TESTS", metadata=_meta(grade=True, locked=True, points=2,
                                                    grade_id="sum_test")),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "actionlab": {"test_parameters": {"N": 2}}})
    path = root / "lab9_tiny" / "01_sum.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


def test_release_then_grade_from_the_command_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """ada hands in the solution, bob the student version, cy a solution that never ends: the
    submissions run at grading size in folders of their own, cy's is stopped at the time limit
    and reported as such, and the others are graded all the same."""
    source = _tiny_lab(tmp_path / "repo")
    done = release(tmp_path / "release", root=tmp_path / "repo", timeout=120)
    student = (done.out / "student" / "lab9_tiny" / "01_sum.ipynb").read_text()
    assert "sum(range(N))" not in student and "N * (N - 1) // 2" not in student
    assert "raise NotImplementedError()" in student
    grading = json.loads((done.out / "grading.json").read_text())
    assert grading["parameters"] == {"lab9_tiny/01_sum.ipynb": {
        "N": 2, "DATA": "synthetic", "OUTPUT_DIR": None, "WORKDIR": None, "CACHE_DIR": None,
        "USE_DRIVE": False}}
    assert grading["folder"] == str(done.out / "grading") and grading["timeout"] == 120
    subs = tmp_path / "subs"
    slow = source.read_text().replace("total = sum(range(N))",
                                      "import time\\ntime.sleep(120)\\ntotal = sum(range(N))")
    # ada ran hers on Colab with Drive, at a size of her own: grading sets both back
    drive = source.read_text().replace("USE_DRIVE = False", "USE_DRIVE = True").replace(
        "N = 3", "N = 50")
    for name, text in (("ada", drive), ("bob", student), ("cy", slow)):
        (subs / name / "lab9_tiny").mkdir(parents=True)
        (subs / name / "lab9_tiny" / "01_sum.ipynb").write_text(text)
    out = tmp_path / "grades.csv"
    start = time.monotonic()
    assert main(["course", "grade", str(subs), "--release", str(done.out), "--out",
                 str(out), "--timeout", "15", "--jobs", "2"]) == 0
    assert time.monotonic() - start < 100  # cy's two minutes of sleep were cut short
    printed = capsys.readouterr()
    assert "2 notebook(s) graded, 0 missing, 1 out of time, 0 not gradable, 3 student(s)" in (
        printed.out)
    assert "out of time: cy/lab9_tiny/01_sum.ipynb: stopped at cell 3 (sum)" in printed.err
    grades = pd.read_csv(out).set_index("student")
    assert list(grades.columns) == ["lab", "notebook", "status", "score", "max_score", "error",
                                    "sum_test"]
    assert grades.loc["ada", "status"] == "graded" and grades.loc["ada", "sum_test"] == 2
    assert grades.loc["ada", "score"] == 2
    assert grades.loc["bob", "score"] == 0 and grades.loc["bob", "max_score"] == 2
    assert grades.loc["cy", "status"] == "timeout" and grades.loc["cy", "sum_test"] == 0
    for name in ("ada", "cy"):  # the first cells ran, at grading size, in cy's folder too
        workdir = done.out / "grading" / name / "lab9_tiny"
        ran = json.loads((workdir / "outputs" / "01_sum" / "ran.json").read_text())
        assert ran == {"N": 2, "DATA": "synthetic", "WORKDIR": str(workdir),
                       "CACHE_DIR": str(workdir / "features"), "USE_DRIVE": False}


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
