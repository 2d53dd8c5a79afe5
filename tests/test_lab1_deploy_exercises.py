"""Lab 1.2's exercises as nbgrader releases them: the autograded checks pass on the solutions, fail
on the student version, and fail on plausible wrong answers and on a constant one (so a check
that cannot fail would be caught here)."""

from __future__ import annotations

from typing import Any

import nbformat
import numpy as np
import pytest
from nbgrader_helpers import (
    assert_exercise_layout,
    assert_student_version_fails,
    released_versions,
    run_solution_and_test,
)

from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "02_onnx_and_deployment.ipynb"
EXERCISES = [("ex1_parity_solution", "ex1_parity_test"),
             ("ex3_devices_solution", "ex3_devices_test")]
WRONG = {
    "ex1_parity_solution": {
        "top-k compared as sets (order ignored)": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    top_r = np.sort(np.argsort(-r, axis=1)[:, :k], axis=1)
    top_c = np.sort(np.argsort(-c, axis=1)[:, :k], axis=1)
    return float(np.abs(c - r).max()), bool((top_r == top_c).all())
''',
        "signed difference (a negative outlier is missed)": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    same = (np.argsort(-r, axis=1)[:, :k] == np.argsort(-c, axis=1)[:, :k]).all()
    return float((c - r).max()), bool(same)
''',
        "mean absolute difference": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    same = (np.argsort(-r, axis=1)[:, :k] == np.argsort(-c, axis=1)[:, :k]).all()
    return float(np.abs(c - r).mean()), bool(same)
''',
        "first row only (the batch forgotten)": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    same = (np.argsort(-r[0])[:k] == np.argsort(-c[0])[:k]).all()
    return float(np.abs(c - r).max()), bool(same)
''',
        "ascending sort (the k worst classes)": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    same = (np.argsort(r, axis=1)[:, :k] == np.argsort(c, axis=1)[:, :k]).all()
    return float(np.abs(c - r).max()), bool(same)
''',
        "ranked along the batch axis": '''
def my_parity(reference, candidate, k=5):
    r, c = np.asarray(reference), np.asarray(candidate)
    same = (np.argsort(-r, axis=0)[:k] == np.argsort(-c, axis=0)[:k]).all()
    return float(np.abs(c - r).max()), bool(same)
''',
        "constant answer": '''
def my_parity(reference, candidate, k=5):
    return 0.0, True
''',
    },
    "ex3_devices_solution": {
        "rounded, not rounded up": '''
def my_devices_needed(n_cameras, windows_per_s, device_windows_per_s, edge):
    if edge:
        return n_cameras * round(windows_per_s / device_windows_per_s)
    return round(n_cameras * windows_per_s / device_windows_per_s)
''',
        "floor + 1 (a spare device on an exact fit)": '''
def my_devices_needed(n_cameras, windows_per_s, device_windows_per_s, edge):
    if edge:
        return n_cameras * (int(windows_per_s // device_windows_per_s) + 1)
    return int(n_cameras * windows_per_s // device_windows_per_s) + 1
''',
        "edge units shared like a central server": '''
import math

def my_devices_needed(n_cameras, windows_per_s, device_windows_per_s, edge):
    return math.ceil(n_cameras * windows_per_s / device_windows_per_s)
''',
        "edge: one unit per camera whatever the load": '''
import math

def my_devices_needed(n_cameras, windows_per_s, device_windows_per_s, edge):
    if edge:
        return n_cameras
    return math.ceil(n_cameras * windows_per_s / device_windows_per_s)
''',
        "constant answer": '''
def my_devices_needed(n_cameras, windows_per_s, device_windows_per_s, edge):
    return 0
''',
    },
}


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    return released_versions(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run (``np``)."""
    return {"np": np}


def test_metadata_and_layout() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    assert [m["grade_id"] for m in graded] == [
        "ex1_parity_solution", "ex1_parity_test", "ex2-targets", "ex3_devices_solution",
        "ex3_devices_test"]
    assert sum(m.get("points", 0) for m in graded if m["grade"]) == 5
    assert_exercise_layout(NOTEBOOK, EXERCISES)
    # the library function of exercise 3 is not in scope before its test cell
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    before = nb.cells[:order.index("ex3_devices_test")]
    assert not any("platforms" in c.source for c in before if c.cell_type == "code")


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_pass_on_the_solution(solution: str, test: str,
                                     versions: tuple[dict, dict]) -> None:
    run_solution_and_test(versions[0], solution, test, _namespace())


@pytest.mark.parametrize(("solution", "test"), EXERCISES)
def test_checks_fail_on_the_student_version(solution: str, test: str,
                                            versions: tuple[dict, dict]) -> None:
    assert "BEGIN HIDDEN TESTS" not in versions[1][test].source
    assert_student_version_fails(versions[1], solution, test, _namespace())


WRONG_CASES = [pytest.param(solution, test, source, id=f"{solution[:3]}: {name}")
               for solution, test in EXERCISES for name, source in WRONG[solution].items()]


@pytest.mark.parametrize(("solution", "test", "wrong"), WRONG_CASES)
def test_the_hidden_test_fails_a_wrong_answer(solution: str, test: str, wrong: str,
                                              versions: tuple[dict, dict]) -> None:
    teacher, _ = versions
    ns = _namespace()
    exec(wrong, ns)
    with pytest.raises(AssertionError):
        exec(teacher[test].source, ns)
