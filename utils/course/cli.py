"""``actionlab course release|grade``: the instructor workflow (nbgrader underneath)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _release(args: argparse.Namespace) -> int:
    from utils.course.workflow import release

    done = release(Path(args.out), args.labs, timeout=args.timeout)
    print(f"{len(done.student)} student notebook(s) -> {done.out / 'student'}\n"
          f"instructor versions -> {done.out / 'instructor'}\n"
          f"nbgrader course directory (gradebook, config) -> {done.course}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from utils.course.workflow import grade

    frame = grade(Path(args.submissions), Path(args.out),
                  release_dir=None if args.release is None else Path(args.release),
                  timeout=args.timeout)
    graded = frame[frame["status"] == "graded"]
    failed = frame[frame["status"] == "error"]
    print(f"{len(graded)} notebook(s) graded, {len(frame) - len(graded) - len(failed)} missing, "
          f"{len(failed)} not gradable, {frame['student'].nunique()} student(s) -> {args.out}")
    for row in failed.itertuples():
        print(f"not graded: {row.student}/{row.lab}/{row.notebook}: {row.error}",
              file=sys.stderr)
    return 0


def add_course(sub: argparse._SubParsersAction) -> None:
    """Register the ``course`` group."""
    course = sub.add_parser("course", help="instructors: student versions and autograding")
    commands = course.add_subparsers(dest="command", required=True)
    timeout = {"type": int, "default": 1800,
               "help": "seconds allowed per notebook cell when nbgrader executes (default: 1800)"}

    release = commands.add_parser(
        "release", help="student and instructor versions of the lab notebooks",
        description="Reads the repository's lab notebooks (lab*/*.ipynb) and runs nbgrader "
                    "generate_assignment (one assignment per lab folder). Writes OUT/student/"
                    "<lab>/*.ipynb (solutions stripped, hidden tests removed, tests locked), "
                    "OUT/instructor/<lab>/*.ipynb and the nbgrader course directory OUT/course "
                    "(gradebook.db, nbgrader_config.py) that `course grade --release` reads.")
    release.add_argument("--labs", nargs="+", metavar="LAB",
                         help="lab folders to release, e.g. lab3_thresholds (default: all)")
    release.add_argument("--out", required=True, help="output folder (its course/ is rebuilt)")
    release.add_argument("--timeout", **timeout)
    release.set_defaults(func=_release)

    grade = commands.add_parser(
        "grade", help="autograde submitted notebooks into a CSV",
        description="Reads SUBMISSIONS_DIR/<student>/<lab>/<notebook>.ipynb, runs nbgrader "
                    "autograde (the notebook is re-executed with the original test cells, hidden "
                    "tests included) and writes --out: one row per student and notebook with "
                    "the status, total score, maximum and the points of every exercise test "
                    "(columns named by grade_id).")
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                       help="folder of <student>/<lab>/<notebook>.ipynb")
    grade.add_argument("--out", required=True, help="grades CSV to write")
    grade.add_argument("--release", metavar="DIR",
                       help="folder written by `course release` (default: release the "
                            "repository's notebooks again into a temporary folder)")
    grade.add_argument("--timeout", **timeout)
    grade.set_defaults(func=_grade)
