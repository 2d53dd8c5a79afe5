"""Lab 1.4's exercises as nbgrader releases them: the autograded checks pass on the solutions,
fail on the student version, and fail on plausible wrong answers and on a constant one, on the
generated tables of the hidden tests (the notebook's own table may be empty)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from nbgrader_helpers import (
    assert_exercise_layout,
    assert_student_version_fails,
    released_versions,
    run_solution_and_test,
)

from utils.deploy.detect import COLUMNS
from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "04_yolo_boxes_pose.ipynb"
EXERCISES = [("ex1_tracks_solution", "ex1_tracks_test"),
             ("ex2_skeleton_solution", "ex2_skeleton_test")]
WRONG = {
    "ex1_tracks_solution": {
        "off by one: last - first, without the last frame": '''
def my_seconds_on_screen(table, fps):
    span = table.groupby("track_id")["frame"].agg(["min", "max"])
    return (span["max"] - span["min"]) / fps
''',
        "frames seen, not the span (gaps ignored)": '''
def my_seconds_on_screen(table, fps):
    return table.groupby("track_id")["frame"].nunique() / fps
''',
        "rows counted (a frame seen twice counts twice)": '''
def my_seconds_on_screen(table, fps):
    return table.groupby("track_id").size() / fps
''',
        "constant answer": '''
def my_seconds_on_screen(table, fps):
    return 0
''',
    },
    "ex2_skeleton_solution": {
        "y taken to grow upwards (> for <)": '''
def my_skeleton_features(table):
    return pd.DataFrame({
        "track_id": table["track_id"], "frame": table["frame"],
        "wrist_above_shoulder": (table["right_wrist_y"] > table["right_shoulder_y"]).astype(float),
        "arm_span": np.hypot(table["right_wrist_x"] - table["left_wrist_x"],
                             table["right_wrist_y"] - table["left_wrist_y"])
        / (table["y2"] - table["y1"]),
    })
''',
        "arm span divided by the box width": '''
def my_skeleton_features(table):
    return pd.DataFrame({
        "track_id": table["track_id"], "frame": table["frame"],
        "wrist_above_shoulder": (table["right_wrist_y"] < table["right_shoulder_y"]).astype(float),
        "arm_span": np.hypot(table["right_wrist_x"] - table["left_wrist_x"],
                             table["right_wrist_y"] - table["left_wrist_y"])
        / (table["x2"] - table["x1"]),
    })
''',
        "arm span in pixels (not normalised)": '''
def my_skeleton_features(table):
    return pd.DataFrame({
        "track_id": table["track_id"], "frame": table["frame"],
        "wrist_above_shoulder": (table["right_wrist_y"] < table["right_shoulder_y"]).astype(float),
        "arm_span": np.hypot(table["right_wrist_x"] - table["left_wrist_x"],
                             table["right_wrist_y"] - table["left_wrist_y"]),
    })
''',
        "constant answer": '''
def my_skeleton_features(table):
    return 0
''',
    },
}


@pytest.fixture(scope="module")
def versions() -> tuple[dict[str, Any], dict[str, Any]]:
    return released_versions(NOTEBOOK)


def _namespace() -> dict[str, Any]:
    """What the notebook has defined when the exercises run: ``np``, ``pd``, the ``runs``
    summary and a ``pose`` table in the real columns (two rows of one track)."""
    pose = pd.DataFrame(np.ones((2, len(COLUMNS))), columns=COLUMNS)
    pose["track_id"], pose["frame"], pose["y2"] = 1, [0, 4], 3.0
    return {"np": np, "pd": pd, "pose": pose, "runs": {"pose": {"fps": 30.0}}}


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
