"""The check before shipping a plan, on a hand-made plan and job log whose answer is worked out
by hand: camera ids repeat across stores, every reason occurs, the target is met exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from utils.alerts.shipping import check_plan, check_text
from utils.errors import InputError


def _plan(target: float = 0.7, fp_before: int = 100) -> dict:
    cameras = [("A", "1", 30), ("B", "1", 40), ("A", "2", 5), ("C", "3", 20), ("B", "2", 25)]
    return {"target_fp_reduction": target,
            "total": {"fp_before": fp_before, "fp_removed": 120, "tp_before": 9, "tp_lost": 2},
            "cameras": [{"store": s, "camera": c, "threshold": 0.4, "fp_removed": fp,
                         "tp_lost": 0} for s, c, fp in cameras]}


JOBS = pd.DataFrame({"store": ["A", "B", "A", "C", "B", "C"],
                     "camera": ["1", "1", "2", "3", "3", "1"],
                     "exit_code": [0, 0, 137, 0, 0, 1]})


def test_each_reason_and_the_target_by_hand() -> None:
    blocked, reaches = check_plan(_plan(), JOBS)
    # A/2 failed (in the plan, old threshold); C/1 failed (not in it); B/3 succeeded without a
    # threshold; B/2 has a threshold but no job tonight. A/1 and B/1 (one id, two stores) are fine.
    assert blocked == {("A", "2"): "failed", ("B", "2"): "stale", ("B", "3"): "missing",
                       ("C", "1"): "failed"}
    # shipped: A/1 30 + B/1 40 + C/3 20 = 90 >= ceil(0.7 x 100) = 70 (0.7 * 100 > 70 in floats)
    assert reaches
    assert check_plan(_plan(target=0.9), JOBS)[1] is True  # 90 >= 90: met exactly
    assert check_plan(_plan(target=0.91), JOBS)[1] is False  # 90 < 91
    assert check_plan(_plan(fp_before=129), JOBS)[1] is False  # ceil(0.7 x 129 = 90.3) = 91
    assert check_plan(_plan(fp_before=128), JOBS)[1] is True  # ceil(0.7 x 128 = 89.6) = 90


def test_a_clean_run() -> None:
    plan = _plan()
    jobs = pd.DataFrame([(c["store"], c["camera"], 0) for c in plan["cameras"]],
                        columns=["store", "camera", "exit_code"])
    assert check_plan(plan, jobs) == ({}, True)
    assert check_text({}, True) == ("Every camera's job succeeded and fed the plan, which still "
                                    "reaches its target: it can ship.")


def test_the_sentence_follows_the_result() -> None:
    blocked, reaches = check_plan(_plan(), JOBS)
    assert check_text(blocked, reaches) == (
        "4 camera(s) block the plan (2 failed, 1 missing, 1 stale); with them at the default "
        "threshold 0 the rest of the plan still reaches its target FP reduction.")
    assert "does not reach" in check_text(blocked, False)
    assert check_text({}, False).endswith("does not reach its target: it cannot ship.")


@pytest.mark.parametrize(("plan", "jobs", "message"), [
    (_plan(), JOBS.drop(columns="exit_code"), "no column"),
    (_plan(), pd.concat([JOBS, JOBS.head(1)]), "the job log lists camera"),
    (_plan() | {"cameras": _plan()["cameras"] * 2}, JOBS, "the plan lists camera"),
    ({"cameras": []}, JOBS, "not a plan JSON"),
    (_plan(target=1.5), JOBS, "target FP reduction"),
])
def test_bad_input_is_one_clear_error(plan: dict, jobs: pd.DataFrame, message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_plan(plan, jobs)
