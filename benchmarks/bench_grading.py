"""Grading the whole course at grading size: ``course release`` then ``course grade`` of two fake
students over every lab notebook, against issue 18's budget of 10 minutes.

``reference`` hands in the instructor versions; ``mutant`` the same with, in every notebook whose
exercise test module keeps wrong answers (``WRONG``), its first such exercise answered by a
plausible wrong solution (tests/grading_helpers.py). nbgrader executes all of them with the
release's grading parameters (each notebook's smoke sizes, synthetic data) under the per-notebook
time limit. Reported: the seconds of the release and of the grading, each notebook's execution
time per student (from nbclient's cell timestamps), and every grade cell whose points differ from
what the notebooks' metadata says (full marks, 0 on the mutated test). Baseline: the budget
itself; grading at the notebooks' default sizes (what ``course grade`` did before) takes hours on
a CPU and is not run. The last line printed is one JSON object.

    nice -n 10 python benchmarks/bench_grading.py [--labs LAB ...] [--timeout 1800] [--jobs 2]
        [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grading_helpers import expected_points, hand_in, mutant, wrong_answers  # noqa: E402

from utils.course.workflow import grade, release, select_notebooks  # noqa: E402
from utils.labs import lab_name  # noqa: E402

BUDGET_S = 600.0  # issue 18: release + grade of both submissions "in under 10 minutes"


def execution_seconds(notebook: Path) -> float | None:
    """First cell started to last cell replied, from nbclient's ``metadata.execution``."""
    stamps = [datetime.fromisoformat(t.replace("Z", "+00:00"))
              for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"
              for k, t in c.metadata.get("execution", {}).items()
              if k in ("iopub.execute_input", "shell.execute_reply")]
    return (max(stamps) - min(stamps)).total_seconds() if stamps else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="+", help="only these lab folders (default: all)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per notebook")
    parser.add_argument("--jobs", type=int, default=2,
                        help="submissions graded at the same time (default: 2, one per student)")
    parser.add_argument("--keep", type=Path, help="work here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = args.keep.resolve() if args.keep else Path(tmp)
        start = time.perf_counter()
        done = release(work / "release", args.labs, timeout=args.timeout)
        release_s = time.perf_counter() - start
        wrong = wrong_answers()
        expected: dict[tuple[str, str], dict[str, float]] = {}
        mutated: dict[str, str] = {}
        notebooks = select_notebooks(args.labs)
        for source, instructor in zip(notebooks, done.instructor, strict=True):
            change = mutant(source, wrong.get(source.resolve(), {}))
            for student, applied in (("reference", None), ("mutant", change)):
                hand_in(instructor, work / "subs" / student / source.parent.name / source.name,
                        applied)
                expected[(student, lab_name(source))] = expected_points(source, applied)
            if change is not None:
                mutated[lab_name(source)] = f"{change.exercise.solution_id}: {change.name}"
        start = time.perf_counter()
        frame = grade(work / "subs", work / "grades.csv", release_dir=done.out,
                      timeout=args.timeout, jobs=args.jobs)
        grade_s = time.perf_counter() - start
        rows: list[dict[str, Any]] = []
        mismatches: list[str] = []
        for row in frame.to_dict("records"):
            key = (row["student"], f"{row['lab']}/{row['notebook']}")
            autograded = (done.course / "autograded" / row["student"] / row["lab"]
                          / row["notebook"])
            rows.append({"student": row["student"], "notebook": key[1],
                         "status": row["status"], "score": row.get("score"),
                         "max_score": row.get("max_score"),
                         "seconds": execution_seconds(autograded)
                         if autograded.exists() else None})
            for test, points in expected[key].items():
                if row["status"] != "graded" or row.get(test) != points:
                    mismatches.append(f"{row['student']} {key[1]} {test}: "
                                      f"{row.get(test)} (status {row['status']}), "
                                      f"expected {points}")
    total = release_s + grade_s
    print(json.dumps({
        "benchmark": "course release + course grade, 2 students x all notebooks",
        "notebooks": len(notebooks), "mutated": mutated,
        "release_s": round(release_s, 1), "grade_s": round(grade_s, 1),
        "total_s": round(total, 1), "budget_s": BUDGET_S, "within_budget": total < BUDGET_S,
        "timeout_per_notebook_s": args.timeout, "jobs": args.jobs,
        "points_as_expected": not mismatches, "mismatches": mismatches, "rows": rows,
    }))


if __name__ == "__main__":
    main()
