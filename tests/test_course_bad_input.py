"""Every bad input of ``actionlab course`` and ``actionlab labs run`` named in issue 22: one table
per command (arguments built in a temporary folder, exit code, the fragment of the one-line
message); then a class with one malformed submission: the others are graded, the bad one is
reported by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from bad_input import one_error_line, table
from test_course_cli import _tiny_lab

from utils.cli import main
from utils.course.workflow import release

Args = Callable[[Path], list[str]]


def _file(folder: Path) -> str:
    (folder / "f").write_text("a file\n")
    return str(folder / "f")


RELEASE: list[tuple[str, Args, int, str]] = [
    ("--out a file", lambda d: ["--out", _file(d)], 2, "f: exists and is not a folder"),
    ("--out not writable", lambda d: ["--out", "/proc/release"], 2,
     "/proc/release: cannot create folder"),
    ("--data unknown", lambda d: ["--out", str(d / "r"), "--data", "real-ish"], 2,
     "--data must be one of ['auto', 'real', 'synthetic'], got 'real-ish'"),
]
def _old_release(folder: Path) -> str:
    """A release folder without grading.json (written before grading parameters existed)."""
    (folder / "rel" / "course").mkdir(parents=True)
    (folder / "rel" / "course" / "gradebook.db").write_text("")
    return str(folder / "rel")


GRADE: list[tuple[str, Args, int, str]] = [
    ("--out a folder", lambda d: [str(d), "--out", str(d)], 2,
     "is a folder, not a regular file; refusing to replace it"),
    ("--release without grading.json",
     lambda d: [str(d), "--release", _old_release(d), "--out", str(d / "g.csv")], 2,
     "rel: no grading.json; pass the folder written by `actionlab course release`"),
]
LABS: list[tuple[str, Args, int, str]] = [
    ("--out a file", lambda d: ["--out", _file(d), "--smoke"], 2,
     "f: exists and is not a folder"),
    ("--out not writable", lambda d: ["--out", "/proc/labs", "--smoke"], 2,
     "/proc/labs: cannot create folder"),
]
COMMANDS = {("course", "release"): RELEASE, ("course", "grade"): GRADE, ("labs", "run"): LABS}
TABLE = table(COMMANDS)


@pytest.mark.parametrize(("command", "args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(command: tuple[str, ...], args: Args, code: int,
                                       message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, [*command, *args(tmp_path)], code, message)


def test_one_malformed_notebook_does_not_stop_the_class(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _tiny_lab(tmp_path / "repo")
    done = release(tmp_path / "release", root=tmp_path / "repo", timeout=120)
    subs = tmp_path / "subs"
    for name, text in (("ada", source.read_text()), ("bob", '{"cells": [')):
        (subs / name / "lab9_tiny").mkdir(parents=True)
        (subs / name / "lab9_tiny" / "01_sum.ipynb").write_text(text)
    out = tmp_path / "grades.csv"
    assert main(["course", "grade", str(subs), "--release", str(done.out), "--out",
                 str(out)]) == 0
    captured = capsys.readouterr()
    assert ("1 notebook(s) graded, 0 missing, 0 out of time, 1 not gradable, 2 student(s)"
            in captured.out)
    [line] = captured.err.splitlines()
    assert line.startswith("not graded: bob/lab9_tiny/01_sum.ipynb: NotJSONError: Notebook does "
                           "not appear to be JSON")
    grades = pd.read_csv(out).set_index("student")
    assert grades.loc["ada", "status"] == "graded" and grades.loc["ada", "score"] == 2
    assert grades.loc["bob", "status"] == "error"
    assert grades.loc["bob", "error"] == line.split(": ", 2)[2]
