"""Lab 1.1's exercises as nbgrader releases them: the autograded checks pass on the solutions,
fail on the student version (solutions cleared by nbgrader's own preprocessor), and fail on
plausible wrong answers and on a constant one (so a check that cannot fail would be caught)."""

from __future__ import annotations

import re
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

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "01_pretrained_benchmark.ipynb"
EXERCISES = [("ex1_sampling_solution", "ex1_sampling_test"),
             ("ex2_topk_solution", "ex2_topk_test"),
             ("ex3_videos_solution", "ex3_videos_test"),
             ("ex4_budget_solution", "ex4_budget_test")]
WRONG = {
    "ex1_sampling_solution": {
        "evenly spread from first to last frame": '''
def my_segment_indices(n, num_segments):
    return np.linspace(0, n - 1, num_segments).astype(int)
''',
        "segment starts, not centres": '''
def my_segment_indices(n, num_segments):
    tick = n / num_segments
    return np.array([int(tick * x) for x in range(num_segments)])
''',
        "segment length rounded down to whole frames": '''
def my_segment_indices(n, num_segments):
    tick = n // num_segments
    return np.array([tick // 2 + tick * x for x in range(num_segments)])
''',
        "centre rounded instead of truncated": '''
def my_segment_indices(n, num_segments):
    tick = n / num_segments
    return np.array([round(tick / 2 + tick * x) for x in range(num_segments)])
''',
        "constant answer": '''
def my_segment_indices(n, num_segments):
    return np.zeros(num_segments, dtype=int)
''',
    },
    "ex2_topk_solution": {
        "ties counted as hits (label score >= k-th score)": '''
def my_topk_accuracy(logits, labels, k):
    logits = np.asarray(logits)
    kth = np.sort(logits, axis=1)[:, -k]
    return float((logits[np.arange(len(labels)), labels] >= kth).mean())
''',
        "ties broken towards the higher class index": '''
def my_topk_accuracy(logits, labels, k):
    top = np.argsort(np.asarray(logits), axis=1, kind="stable")[:, ::-1][:, :k]
    return float((top == np.asarray(labels)[:, None]).any(axis=1).mean())
''',
        "the k lowest scores (ascending sort)": '''
def my_topk_accuracy(logits, labels, k):
    top = np.argsort(np.asarray(logits), axis=1, kind="stable")[:, :k]
    return float((top == np.asarray(labels)[:, None]).any(axis=1).mean())
''',
        "off by one: the top k + 1": '''
def my_topk_accuracy(logits, labels, k):
    top = np.argsort(-np.asarray(logits), axis=1, kind="stable")[:, :k + 1]
    return float((top == np.asarray(labels)[:, None]).any(axis=1).mean())
''',
        "constant answer": '''
def my_topk_accuracy(logits, labels, k):
    return 0.0
''',
    },
    "ex3_videos_solution": {
        "mean batch time (moved by the slow first call)": '''
def my_videos_per_second(batch_ms, batch_size):
    return batch_size / (np.mean(batch_ms) / 1000)
''',
        "milliseconds taken for seconds": '''
def my_videos_per_second(batch_ms, batch_size):
    return batch_size / np.median(batch_ms)
''',
        "batch size ignored (batches per second)": '''
def my_videos_per_second(batch_ms, batch_size):
    return 1000 / np.median(batch_ms)
''',
        "constant answer": '''
def my_videos_per_second(batch_ms, batch_size):
    return 0.0
''',
    },
    "ex4_budget_solution": {
        "strictly under the budget (> for >=)": '''
def my_best_within_budget(rows, budget_s):
    fits = [r for r in rows if r["s_per_sample"] < budget_s]
    return max(fits, key=lambda r: (r["top1"], -r["s_per_sample"]))["model"] if fits else None
''',
        "ties ignored (the first of the tied rows)": '''
def my_best_within_budget(rows, budget_s):
    fits = [r for r in rows if r["s_per_sample"] <= budget_s]
    return max(fits, key=lambda r: r["top1"])["model"] if fits else None
''',
        "the fastest model that fits": '''
def my_best_within_budget(rows, budget_s):
    fits = [r for r in rows if r["s_per_sample"] <= budget_s]
    return min(fits, key=lambda r: r["s_per_sample"])["model"] if fits else None
''',
        "the most accurate overall when none fits": '''
def my_best_within_budget(rows, budget_s):
    fits = [r for r in rows if r["s_per_sample"] <= budget_s] or list(rows)
    return max(fits, key=lambda r: (r["top1"], -r["s_per_sample"]))["model"]
''',
        "constant answer": '''
def my_best_within_budget(rows, budget_s):
    return 0
''',
    },
}


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    return released_versions(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run: only ``np`` is used."""
    return {"np": np}


def test_metadata_and_layout() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert ids == [i for pair in EXERCISES[:2] for i in pair] + ["ex5_explain"] + [
        i for pair in EXERCISES[2:] for i in pair]
    assert_exercise_layout(NOTEBOOK, EXERCISES)


def test_the_library_step_is_not_in_scope_before_its_exercise() -> None:
    """No code cell before an exercise imports the function its hidden test compares with."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    library = ("segment_indices", "topk_accuracy", "clips_per_second",
               r"best_within_budget|import[^\n]*\bbudget\b")
    for (solution, _), name in zip(EXERCISES, library, strict=True):
        before = nb.cells[:order.index(solution)]
        assert not [c for c in before if c.cell_type == "code" and re.search(name, c.source)], name


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
