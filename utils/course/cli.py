"""``actionlab course release|grade``: the instructor workflow (nbgrader underneath)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.cliargs import positive_int


def _release(args: argparse.Namespace) -> int:
    from utils.course.workflow import release

    done = release(Path(args.out), args.labs, timeout=args.timeout, repo_url=args.repo_url,
                   ref=args.ref, data=args.data,
                   grading_dir=None if args.grading_dir is None else Path(args.grading_dir),
                   data_dir=None if args.data_dir is None else Path(args.data_dir))
    print(f"{len(done.student)} student notebook(s) -> {done.out / 'student'}\n"
          f"instructor versions -> {done.out / 'instructor'}\n"
          f"nbgrader course directory (gradebook, config) -> {done.course}\n"
          f"grading parameters -> {done.out / 'grading.json'}")
    return 0


def _setup_cells(args: argparse.Namespace) -> int:
    from utils.course.setup_cell import regenerate, stale

    if args.check:
        bad = stale()
        for name in bad:
            print(f"stale setup cell: {name}")
        return 1 if bad else 0
    changed = regenerate()
    print(f"{len(changed)} notebook(s) rewritten" + "".join(f"\n  {p}" for p in changed))
    return 0


def _grade(args: argparse.Namespace) -> int:
    from utils.course.workflow import grade

    frame = grade(Path(args.submissions), Path(args.out),
                  release_dir=None if args.release is None else Path(args.release),
                  timeout=args.timeout, jobs=args.jobs)
    counts = frame["status"].value_counts()
    print(f"{counts.get('graded', 0)} notebook(s) graded, {counts.get('missing', 0)} missing, "
          f"{counts.get('timeout', 0)} out of time, {counts.get('error', 0)} not gradable, "
          f"{frame['student'].nunique()} student(s) -> {args.out}")
    for row in frame[frame["status"].isin(["timeout", "error"])].itertuples():
        what = "out of time" if row.status == "timeout" else "not graded"
        print(f"{what}: {row.student}/{row.lab}/{row.notebook}: {row.error}", file=sys.stderr)
    return 0


def _points(args: argparse.Namespace) -> int:
    from utils.course.points import lab_points, markdown_table, notebook_points, write_readme_table
    from utils.paths import REPO_ROOT

    per_notebook = notebook_points()
    per_lab = lab_points(per_notebook)
    print(per_notebook.to_string(index=False), per_lab.to_string(index=False), sep="\n\n")
    if args.readme is not None:
        readme = Path(args.readme) if args.readme else REPO_ROOT / "README.md"
        changed = write_readme_table(readme, markdown_table(per_lab))
        print(f"{readme}: points table {'rewritten' if changed else 'already up to date'}")
    return 0


def add_course(sub: argparse._SubParsersAction) -> None:
    """Register the ``course`` group."""
    course = sub.add_parser("course", help="instructors: student versions and autograding")
    commands = course.add_subparsers(dest="command", required=True)
    timeout = {"type": positive_int, "metavar": "SECONDS"}

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
    release.add_argument("--timeout", **timeout, default=1800,
                         help="seconds allowed per notebook when grading, recorded in "
                              "grading.json (default: 1800)")
    release.add_argument("--data", default="synthetic", metavar="{auto,real,synthetic}",
                         help="DATA of the notebooks when grading (default: synthetic: the "
                              "generated stand-ins, no download)")
    release.add_argument("--grading-dir", metavar="DIR",
                         help="folder under which grading makes each submission's WORKDIR, "
                              "OUTPUT_DIR and CACHE_DIR (default: OUT/grading)")
    release.add_argument("--data-dir", metavar="DIR",
                         help="a WORKDIR's data folder (the datasets) that each submission's "
                              "WORKDIR/data links to, for --data real or auto (default: none, "
                              "each submission fetches or generates its own)")
    release.add_argument("--repo-url", metavar="URL",
                         help="git URL the released notebooks' Colab setup cell clones "
                              "(default: REPO_URL of utils/course/setup_cell.py)")
    release.add_argument("--ref", metavar="REF",
                         help="branch, tag or commit of --repo-url to check out (default: HEAD)")
    release.set_defaults(func=_release)

    cells = commands.add_parser(
        "setup-cells", help="regenerate the Colab setup cell of every lab notebook",
        description="Rewrites the Colab setup cell of every lab notebook (lab*/*.ipynb) from the "
                    "template in utils/course/setup_cell.py, with its REPO_URL and REPO_REF; "
                    "run it after adding a notebook or changing the template.")
    cells.add_argument("--check", action="store_true",
                       help="write nothing; list the stale notebooks and exit 1 if any")
    cells.set_defaults(func=_setup_cells)

    points = commands.add_parser(
        "points", help="autograded and hand-graded points per notebook and per lab",
        description="Reads the nbgrader metadata of every lab notebook (lab*/*.ipynb) and prints "
                    "the autograded exercises, their points and the points graded by hand, per "
                    "notebook and per lab.")
    points.add_argument("--readme", nargs="?", const="", metavar="PATH",
                        help="also rewrite the table of points per lab in this README (default: "
                             "the repository's), between its points-table markers")
    points.set_defaults(func=_points)

    grade = commands.add_parser(
        "grade", help="autograde submitted notebooks into a CSV",
        description="Reads SUBMISSIONS_DIR/<student>/<lab>/<notebook>.ipynb, injects the "
                    "release's grading parameters (small sizes, DATA, the submission's own "
                    "WORKDIR, OUTPUT_DIR and CACHE_DIR under the grading folder), runs nbgrader "
                    "autograde on each notebook (re-executed with the original test cells, "
                    "hidden tests included, within --timeout) and writes --out: one row per "
                    "student and notebook with the status (graded, missing, timeout, error), "
                    "total score, maximum and the points of every exercise test (columns named "
                    "by grade_id).")
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                       help="folder of <student>/<lab>/<notebook>.ipynb")
    grade.add_argument("--out", required=True, help="grades CSV to write")
    grade.add_argument("--release", metavar="DIR",
                       help="folder written by `course release` (default: release the "
                            "repository's notebooks again into a temporary folder)")
    grade.add_argument("--timeout", **timeout,
                       help="seconds allowed per notebook; one that runs out of time gets "
                            "status timeout (default: the release's, see grading.json)")
    grade.add_argument("--jobs", type=positive_int, default=1,
                       help="submissions (a student's lab) graded at the same time, each in "
                            "its own process (default: 1)")
    grade.set_defaults(func=_grade)
