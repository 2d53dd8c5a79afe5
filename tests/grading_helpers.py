"""Two fake students for grading checks (tests/test_course_grading.py and
benchmarks/bench_grading.py): ``reference`` hands in the instructor versions, ``mutant`` the same
with one exercise per notebook answered by a plausible wrong solution, taken from the mutation
table (``WRONG``) of that notebook's exercise test module. The points each should get come from
the notebooks' nbgrader metadata, not from a table kept here."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from utils.course.metadata import Exercise, check_notebook

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Mutant:
    exercise: Exercise
    name: str  # the wrong solution's name in its module's WRONG table
    source: str


def wrong_answers() -> dict[Path, dict[str, dict[str, str]]]:
    """``{notebook: WRONG}`` of every ``tests/test_*_exercises.py`` that defines ``WRONG``
    (keyed by an exercise's solution or test grade_id) and either ``NOTEBOOK`` or, for a
    module covering several notebooks, ``EXERCISES`` keyed by notebook path or file stem."""
    from utils.labs import discover

    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    by_stem = {nb.stem: nb.resolve() for nb in discover()}
    found = {}
    for path in sorted(TESTS.glob("test_*_exercises.py")):
        module = importlib.import_module(path.stem)
        wrong = getattr(module, "WRONG", None)
        if not isinstance(wrong, dict):
            continue
        notebook = getattr(module, "NOTEBOOK", None)
        notebooks = [notebook] if notebook is not None else list(getattr(module, "EXERCISES", {}))
        for key in notebooks:
            found[Path(key).resolve() if isinstance(key, Path) else by_stem[key]] = wrong
    return found


def mutant(notebook: Path, wrong: dict[str, dict[str, str]]) -> Mutant | None:
    """The first exercise of ``notebook`` with a wrong solution in ``wrong``, answered by the
    first of them that is not the constant answer."""
    for exercise in check_notebook(notebook)[0]:
        rows = wrong.get(exercise.solution_id) or wrong.get(exercise.test_id) or {}
        for name, source in rows.items():
            if not name.startswith("constant"):
                return Mutant(exercise, name, source)
    return None


def hand_in(notebook: Path, target: Path, change: Mutant | None = None) -> Path:
    """Copy ``notebook`` (an instructor version) to ``target``, with the solution cell of
    ``change`` replaced by its wrong source."""
    nb = nbformat.read(notebook, as_version=4)
    if change is not None:
        nb.cells[change.exercise.solution_index].source = change.source.strip("\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


def expected_points(notebook: Path, change: Mutant | None = None) -> dict[str, float]:
    """Points of each autograded test cell: full, except 0 on the mutated exercise's test."""
    return {e.test_id: 0.0 if change is not None and e == change.exercise else e.points
            for e in check_notebook(notebook)[0]}
