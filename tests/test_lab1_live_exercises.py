"""Lab 1.3's exercises as nbgrader releases them: the autograded checks pass on the solutions,
fail on the student version, and fail on plausible wrong answers and on a constant one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from nbgrader_helpers import (
    assert_exercise_layout,
    assert_student_version_fails,
    released_versions,
    run_solution_and_test,
)

from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "03_live_demo.ipynb"
EXERCISES = [("ex1_summary_solution", "ex1_summary_test"),
             ("ex2_subset_solution", "ex2_subset_test")]
WRONG = {
    "ex1_summary_solution": {
        "share of the frames, not of the windows": '''
def my_read_summary(summary):
    return summary["inferences"] / summary["frames_in"], 1 / summary["inference_latency_s"]
''',
        "the share dropped, not the share seen": '''
def my_read_summary(summary):
    return summary["dropped_windows"] / summary["windows"], 1 / summary["inference_latency_s"]
''',
        "the inference loop's measured rate taken for the blocking bound": '''
def my_read_summary(summary):
    return summary["inferences"] / summary["windows"], summary["inference_fps"]
''',
        "constant answer": '''
def my_read_summary(summary):
    return 0.0, 0.0
''',
    },
    "ex2_subset_solution": {
        "softmax over every class, then the subset's columns": '''
def my_subset_probs(logits, columns):
    logits = np.asarray(logits, dtype=float)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True))[:, list(columns)]
''',
        "softmax over the wrong axis (over the clips)": '''
def my_subset_probs(logits, columns):
    chosen = np.asarray(logits, dtype=float)[:, list(columns)]
    e = np.exp(chosen - chosen.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
''',
        "the columns sorted (the labels' order lost)": '''
def my_subset_probs(logits, columns):
    chosen = np.asarray(logits, dtype=float)[:, sorted(columns)]
    e = np.exp(chosen - chosen.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
''',
        "constant answer": '''
def my_subset_probs(logits, columns):
    return np.zeros((len(logits), len(columns)))
''',
    },
}


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    return released_versions(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run: ``np`` and a demo ``summary``."""
    summary = {"frames_in": 40, "window_frames": 8, "windows": 33, "inferences": 11,
               "dropped_windows": 22, "inference_latency_s": 0.05, "inference_fps": 12.0,
               "capture_fps": 200.0, "display_fps": 150.0}
    return {"np": np, "summary": summary}


def test_each_exercise_is_a_solution_then_its_test() -> None:
    assert_exercise_layout(NOTEBOOK, EXERCISES)


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
