"""Every autograded exercise of every lab, as nbgrader releases it: the reference solution
passes its test cell, the released student version fails it, and each plausible wrong answer
(at least two per exercise) and a constant one fail it too, so a check that cannot fail, or one a
copied number passes, is caught here.

The exercises and their wrong answers live beside each lab's own checks, in the modules
``tests/test_*_exercises.py``; each defines ``EXERCISES`` ({notebook: [(solution id, test id)]}),
``WRONG`` ({solution or test id: {name: source}}) and ``namespace(notebook)`` (what the notebook
has defined when its exercises run, built fresh). This module runs the same checks over all of
them, and checks that no notebook has an autograded exercise they leave out.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from nbgrader_helpers import (
    assert_exercise_layout,
    assert_student_version_fails,
    released_versions,
    run_solution_and_test,
)

from utils.course.metadata import check_notebook
from utils.labs import discover

SPECS: list[ModuleType] = [importlib.import_module(p.stem) for p in
                           sorted(Path(__file__).parent.glob("test_*_exercises.py"))]
EXERCISES: dict[Path, tuple[ModuleType, list[tuple[str, str]]]] = {
    notebook: (spec, pairs) for spec in SPECS for notebook, pairs in spec.EXERCISES.items()}


def _wrong(spec: ModuleType, solution: str, test: str) -> dict[str, str]:
    return spec.WRONG.get(solution) or spec.WRONG.get(test) or {}


@functools.cache
def _versions(notebook: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    return released_versions(notebook)


def _namespace(notebook: Path) -> dict[str, Any]:
    return EXERCISES[notebook][0].namespace(notebook)


CASES = [pytest.param(nb, s, t, id=f"{nb.parent.name[:4]}/{nb.stem[:2]} {s}")
         for nb, (_, pairs) in EXERCISES.items() for s, t in pairs]
WRONG_CASES = [pytest.param(nb, t, source, id=f"{nb.parent.name[:4]}/{nb.stem[:2]} {s[:3]}: {name}")
               for nb, (spec, pairs) in EXERCISES.items() for s, t in pairs
               for name, source in _wrong(spec, s, t).items()]


def test_every_autograded_exercise_of_every_notebook_is_covered() -> None:
    for notebook in discover():
        found = {(e.solution_id, e.test_id) for e in check_notebook(notebook)[0]}
        covered = set(EXERCISES.get(notebook, (None, []))[1])
        assert found == covered, (notebook.name, found ^ covered)


@pytest.mark.parametrize("notebook", list(EXERCISES), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_exercise_is_a_solution_then_its_test(notebook: Path) -> None:
    assert_exercise_layout(notebook, EXERCISES[notebook][1])


@pytest.mark.parametrize(("notebook", "solution", "test"), CASES)
def test_each_exercise_has_two_wrong_answers_and_a_constant_one(notebook: Path, solution: str,
                                                                test: str) -> None:
    names = list(_wrong(EXERCISES[notebook][0], solution, test))
    assert [n for n in names if n.startswith("constant")], names
    assert len(names) >= 3, names


@pytest.mark.parametrize(("notebook", "solution", "test"), CASES)
def test_the_reference_solution_passes(notebook: Path, solution: str, test: str) -> None:
    run_solution_and_test(_versions(notebook)[0], solution, test, _namespace(notebook))


@pytest.mark.parametrize(("notebook", "solution", "test"), CASES)
def test_the_student_version_fails(notebook: Path, solution: str, test: str) -> None:
    student = _versions(notebook)[1]
    assert "BEGIN HIDDEN TESTS" not in student[test].source
    assert_student_version_fails(student, solution, test, _namespace(notebook))


@pytest.mark.parametrize(("notebook", "test", "wrong"), WRONG_CASES)
def test_a_wrong_answer_fails(notebook: Path, test: str, wrong: str) -> None:
    ns = _namespace(notebook)
    exec(wrong, ns)
    with pytest.raises(AssertionError):
        exec(_versions(notebook)[0][test].source, ns)
