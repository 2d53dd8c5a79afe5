"""Release student versions of the lab notebooks and autograde submissions, with nbgrader itself.

A release folder holds an nbgrader course directory built from the repository's notebooks (one
assignment per lab folder, e.g. ``lab3_thresholds``)::

    OUT/course/nbgrader_config.py           so that the `nbgrader` command works there too
    OUT/course/source/<lab>/<nb>.ipynb      the instructor versions (solutions, hidden tests)
    OUT/course/release/<lab>/<nb>.ipynb     nbgrader's student versions
    OUT/course/gradebook.db                 the grade cells and their points (autograde needs it)
    OUT/student/<lab>/<nb>.ipynb            the student versions, to hand out
    OUT/instructor/<lab>/<nb>.ipynb         the instructor versions, to keep
    OUT/grading.json                        the grading parameters (:mod:`utils.course.grading`)

Grading copies ``SUBMISSIONS/<student>/<lab>/<nb>.ipynb`` into the course's ``submitted`` folder
with the grading parameters injected, runs ``nbgrader autograde`` on each notebook (which
re-executes it with the original test cells restored, under a time limit per notebook) and reads
the points of every grade cell from the gradebook.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from utils.course.grading import GradingPlan, parameterize, plan, read_plan, write_plan
from utils.errors import InputError
from utils.io import atomic_path, check_target, make_folder
from utils.labs import discover
from utils.paths import REPO_ROOT

COURSE_ID = "actionlab"
CONFIG_NAME = "nbgrader_config.py"


@dataclass(frozen=True)
class Release:
    out: Path
    course: Path
    student: list[Path]  # student versions, in course order
    instructor: list[Path]


def select_notebooks(labs: Sequence[str] | None = None, root: Path = REPO_ROOT) -> list[Path]:
    """The lab notebooks of the folders named in ``labs`` (all labs when None)."""
    notebooks = discover(root)
    if not labs:
        return notebooks
    known = sorted({nb.parent.name for nb in notebooks})
    unknown = [lab for lab in labs if lab not in known]
    if unknown:
        raise InputError(f"--labs: unknown lab folder(s) {unknown}; the labs are {known}")
    return [nb for nb in notebooks if nb.parent.name in labs]


def config_text(course: Path, timeout: int) -> str:
    """The ``nbgrader_config.py`` of a course directory."""
    return (f"# Written by `actionlab course release`; nbgrader reads it from this folder.\n"
            f"c = get_config()  # noqa: F821\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
            f"c.CourseDirectory.root = {str(course)!r}\n"
            f"c.Execute.timeout = {int(timeout)}\n")


def _db_url(course: Path) -> str:
    """The gradebook's; graders in parallel processes wait for each other's writes (SQLite
    locks the file) instead of failing after the default five seconds."""
    return f"sqlite:///{course / 'gradebook.db'}?timeout=120"


def _api(course: Path, timeout: int, *, execute: bool = True) -> Any:
    """nbgrader's API on ``course``; autograde runs each notebook within ``timeout`` seconds
    (:class:`~utils.course.timelimit.NotebookTimeLimit` in place of nbgrader's Execute)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearOutput, Execute
    from traitlets.config import Config

    from utils.course.timelimit import NotebookTimeLimit

    config = Config()
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = _db_url(course)
    config.Execute.timeout = int(timeout)
    config.NotebookTimeLimit.seconds = int(timeout)
    defaults = Autograde.class_traits()
    if not execute:  # grade the outputs as submitted: keep them, do not run the notebook again
        config.Autograde.sanitize_preprocessors = [
            p for p in defaults["sanitize_preprocessors"].default() if p is not ClearOutput]
    config.Autograde.autograde_preprocessors = [
        NotebookTimeLimit if p is Execute else p
        for p in defaults["autograde_preprocessors"].default() if execute or p is not Execute]
    return NbGraderAPI(CourseDirectory(config=config), config=config)


_RAISED = re.compile(r"^\s*(?:[\w]+\.)*(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def _failure(result: dict[str, Any]) -> str | None:
    """None when nbgrader succeeded, else one line: the last exception its log and error name
    other than nbgrader's own wrapper ("Please see the above traceback"), e.g. ``NotJSONError:
    Notebook does not appear to be JSON: ...``; else the error's last line."""
    if result.get("success"):
        return None
    text = f"{result.get('log') or ''}\n{result.get('error') or ''}"
    raised = [f"{m[1]}: {m[2].strip()}" for m in _RAISED.finditer(text)
              if m[1] != "NbGraderException"]
    if raised:
        return raised[-1]
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else "no message"


def _check(result: dict[str, Any], what: str) -> None:
    failure = _failure(result)
    if failure is not None:
        raise InputError(f"nbgrader {what} failed: {failure}")


def _check_timeout(timeout: int) -> None:
    if timeout < 1:
        raise InputError(f"--timeout must be >= 1 second, got {timeout}")


def release(out: Path, labs: Sequence[str] | None = None, *, timeout: int = 1800,
            root: Path = REPO_ROOT, repo_url: str | None = None,
            ref: str | None = None, data: str = "synthetic",
            grading_dir: Path | None = None, data_dir: Path | None = None) -> Release:
    """Student and instructor versions of the selected labs' notebooks, through nbgrader's
    ``generate_assignment`` (solutions replaced by ``raise NotImplementedError()``, hidden tests
    removed, test cells locked). Their Colab setup cell clones ``repo_url`` at ``ref`` (default:
    the repository's own, :mod:`utils.course.setup_cell`).

    Also records the grading parameters in ``OUT/grading.json``: each notebook's small sizes,
    ``data`` as DATA, ``timeout`` seconds per notebook, ``grading_dir`` (default
    ``OUT/grading``) under which grading makes each submission's folders, and ``data_dir``
    which each submission's ``WORKDIR/data`` links to (:func:`utils.course.grading.plan`)."""
    from utils.course.setup_cell import write_cell

    _check_timeout(timeout)
    notebooks = select_notebooks(labs, root)
    if not notebooks:
        raise InputError(f"no lab notebook (lab*/*.ipynb) found under {root}")
    out = Path(out).resolve()
    grading = plan(notebooks, out / "grading" if grading_dir is None else Path(grading_dir),
                   data=data, timeout=timeout, data_dir=data_dir)
    make_folder(out)
    course = out / "course"
    if course.exists():  # a release is rebuilt from scratch: stale notebooks or grades mislead
        shutil.rmtree(course)
    make_folder(course)  # a folder we cannot write: one line, before nbgrader starts
    for nb in notebooks:
        target = course / "source" / nb.parent.name / nb.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(nb, target)
        write_cell(target, repo_url, ref)
    (course / CONFIG_NAME).write_text(config_text(course, timeout))
    api = _api(course, timeout)
    student: list[Path] = []
    instructor: list[Path] = []
    for lab in sorted({nb.parent.name for nb in notebooks}):
        with _nbgrader_env():
            _check(api.generate_assignment(lab, force=True, create=True),
                   f"generate_assignment {lab}")
    for nb in notebooks:
        lab = nb.parent.name
        for kind, src, bucket in (("student", course / "release", student),
                                  ("instructor", course / "source", instructor)):
            target = out / kind / lab / nb.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / lab / nb.name, target)
            bucket.append(target)
    write_plan(grading, out)
    return Release(out, course, student, instructor)


@contextmanager
def _nbgrader_env() -> Iterator[None]:
    """Kernels started by nbgrader import ``utils`` from this checkout, and nbgrader finds the
    ``alembic`` command it runs on the gradebook next to this interpreter (a virtual
    environment need not be activated)."""
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "PATH")}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), saved["PYTHONPATH"]) if p)
    os.environ["PATH"] = os.pathsep.join(
        p for p in (str(Path(sys.executable).parent), saved["PATH"]) if p)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def submissions(folder: Path, course: Path) -> dict[tuple[str, str], list[Path]]:
    """``{(student, lab): [notebooks]}`` found as ``folder/<student>/<lab>/<nb>.ipynb``; any
    notebook that is not one of the released ones is an error, named."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"SUBMISSIONS_DIR {folder} is not a folder")
    released = {(p.parent.name, p.name) for p in (course / "source").glob("*/*.ipynb")}
    found: dict[tuple[str, str], list[Path]] = {}
    stray = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        rel = path.relative_to(folder)
        if len(rel.parts) != 3 or (rel.parts[1], rel.parts[2]) not in released:
            stray.append(str(rel))
            continue
        found.setdefault((rel.parts[0], rel.parts[1]), []).append(path)
    if stray:
        raise InputError(f"{folder}: not <student>/<lab>/<released notebook>.ipynb: {stray[:5]}"
                         + (f" and {len(stray) - 5} more" if len(stray) > 5 else ""))
    if not found:
        raise InputError(f"{folder}: no submission found (expected <student>/<lab>/<nb>.ipynb)")
    return found


def _score(course: Path, student: str, lab: str, notebook: str) -> dict[str, Any]:
    """The gradebook's row of one autograded notebook: status ``graded``, or ``timeout`` when
    the time limit stopped it (the cells that ran keep their points)."""
    from nbgrader.api import Gradebook

    from utils.course.timelimit import timed_out

    row: dict[str, Any] = {"student": student, "lab": lab, "notebook": notebook}
    with Gradebook(_db_url(course)) as gb:
        submitted = gb.find_submission_notebook(Path(notebook).stem, lab, student)
        row |= {"status": "graded", "score": float(submitted.score),
                "max_score": float(submitted.max_score)}
        row |= {g.name: float(g.score or 0.0) for g in sorted(submitted.grades,
                                                               key=lambda g: g.name)}
    stopped = timed_out(course / "autograded" / student / lab / notebook)
    if stopped is not None:
        row |= {"status": "timeout",
                "error": f"stopped at {stopped}: the time limit per notebook was reached"}
    return row


def _grade_submission(api: Any, course: Path, student: str, lab: str,
                      notebooks: list[Path], grading: GradingPlan | None) -> list[dict[str, Any]]:
    """Rows of one student's lab: each notebook autograded on its own (a notebook that fails
    or times out does not take the others with it), released notebooks not handed in
    ``missing``. ``grading``: inject its parameters (None: grade the notebooks as they are)."""
    from nbgrader.utils import temp_attrs

    target = course / "submitted" / student / lab
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if grading is not None:
        grading.clear(student, lab)
    for nb in notebooks:
        if grading is None:
            shutil.copy2(nb, target / nb.name)
        else:
            parameterize(nb, target / nb.name, grading.for_submission(student, lab, nb.name))
    rows = []
    for nb in notebooks:
        with _nbgrader_env(), temp_attrs(api.coursedir, notebook_id=nb.stem):
            failure = _failure(api.autograde(lab, student, force=True, create=True))
        if failure is None:
            rows.append(_score(course, student, lab, nb.name))
        else:  # one bad submission must not stop the class's grading
            rows.append({"student": student, "lab": lab, "notebook": nb.name,
                         "status": "error", "error": failure})
    handed_in = {nb.name for nb in notebooks}
    rows += [{"student": student, "lab": lab, "notebook": p.name, "status": "missing"}
             for p in sorted((course / "source" / lab).glob("*.ipynb"))
             if p.name not in handed_in]
    return rows


def _grade_in_worker(course: Path, timeout: int, execute: bool, student: str, lab: str,
                     notebooks: list[Path], grading: GradingPlan | None) -> list[dict[str, Any]]:
    """:func:`_grade_submission` with an nbgrader API of its own (one per worker process)."""
    return _grade_submission(_api(course, timeout, execute=execute), course, student, lab,
                             notebooks, grading)


def grade(submitted: Path, out_csv: Path, *, release_dir: Path | None = None,
          timeout: int | None = None, execute: bool = True, jobs: int = 1) -> pd.DataFrame:
    """Autograde every submission and write one row per student and notebook: status, total
    score, maximum, and the points of each grade cell (columns named by grade_id). Each notebook
    runs with the release's grading parameters (small sizes, its own absolute folders:
    :mod:`utils.course.grading`) within ``timeout`` seconds (default: the release's); one that
    runs out of time gets status ``timeout``, one nbgrader cannot grade (a malformed
    notebook...) status ``error``, both with the reason in ``error``; the others are graded.

    ``execute=False`` grades the outputs a notebook was submitted with instead of running it
    again (the test cells are still restored from the release): only for notebooks executed by
    a runner you trust, such as ``actionlab labs run`` or the test suite, since a student could
    edit outputs.

    ``jobs`` submissions (a student's lab) are graded at the same time, each in a process of its
    own (nbgrader runs every notebook in a kernel of its own; the gradebook is SQLite, which
    serialises their short writes).

    ``release_dir`` is the folder written by :func:`release`; without it the repository's
    notebooks are released again into a temporary folder (they must be the versions handed out;
    the submissions' folders are then temporary too).
    """
    if timeout is not None:
        _check_timeout(timeout)
    if jobs < 1:
        raise InputError(f"--jobs must be >= 1, got {jobs}")
    check_target(out_csv)
    with tempfile.TemporaryDirectory(prefix="actionlab-course-") as tmp:
        if release_dir is None:
            out = release(Path(tmp), timeout=timeout or 1800).out
        else:
            out = Path(release_dir).resolve()
            if not (out / "course" / "gradebook.db").exists():
                raise InputError(f"--release {release_dir}: no course/gradebook.db; pass the "
                                 "folder written by `actionlab course release`")
        course = out / "course"
        grading = read_plan(out)
        found = submissions(Path(submitted), course)
        work = [(course, timeout or grading.timeout, execute, student, lab, notebooks,
                 grading if execute else None)
                for (student, lab), notebooks in sorted(found.items())]
        if jobs == 1:
            rows = [row for args in work for row in _grade_in_worker(*args)]
        else:  # spawned: a forked child would inherit the parent's gradebook connections
            with ProcessPoolExecutor(min(jobs, len(work)),
                                     mp_context=multiprocessing.get_context("spawn")) as pool:
                rows = [row for part in pool.map(_grade_in_worker, *zip(*work, strict=True))
                        for row in part]
    head = ["student", "lab", "notebook", "status", "score", "max_score"]
    frame = pd.DataFrame(rows)
    frame = frame.reindex(columns=head + sorted(c for c in frame.columns if c not in head))
    with atomic_path(out_csv) as tmp_csv:
        frame.to_csv(tmp_csv, index=False)
    return frame
