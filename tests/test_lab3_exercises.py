"""Lab 3.1-3.3's exercises, their plausible wrong answers and a constant one, and what their
test cells read, made up here (checked by tests/test_exercises.py, with no notebook run: the
hidden tests build their own inputs); here, that the hidden part alone catches each wrong
answer."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from nbgrader_helpers import released_versions

from utils.alerts import planning
from utils.alerts.curves import grouped_curves
from utils.paths import REPO_ROOT

LAB = REPO_ROOT / "lab3_thresholds"
CURVES = LAB / "01_curves_and_uniformity.ipynb"
PLANNING = LAB / "02_threshold_planning.ipynb"
DEPLOYMENT = LAB / "03_deployment.ipynb"
EXERCISES: dict[Path, list[tuple[str, str]]] = {
    CURVES: [("ex1_pareto_solution", "ex1_pareto_test"),
             ("ex2_decide_solution", "ex2_decide_test")],
    PLANNING: [("ex1_removed_solution", "ex1_removed_test"),
               ("ex2_greedy_solution", "ex2_greedy_test"), ("ex3_toy_solution", "ex3_toy_test")],
    DEPLOYMENT: [("ex1_compare_solution", "ex1_compare_test"),
                 ("ex2_check_solution", "ex2_check_test")],
}

# ---------------------------------------------------------------- 3.1 exercise 1: Pareto points
_PARETO = '''
def my_pareto_curve(probability, is_theft):
    p = np.asarray(probability, dtype=float)
    y = np.asarray(is_theft, dtype=bool)
    thefts = y[p >= 0].sum()
    alert = ALERT
    order = np.argsort(p[alert], kind="stable")
    p, y = p[alert][order], y[alert][order]
    cut = CUT
    tp = np.r_[0, np.cumsum(y)][cut]
    fp = np.r_[0, np.cumsum(~y)][cut]
    last = np.r_[np.flatnonzero(np.diff(tp) > 0), len(tp) - 1]
    tp, fp = tp[last], fp[last]
    keep = np.r_[True, np.diff(fp) > 0]
    tp, fp = tp[keep], fp[keep]
    return (DENOMINATOR - tp) / DENOMINATOR, (~y).sum() - fp
'''
_RIGHT = {"ALERT": "p >= 0", "CUT": "np.r_[0, np.flatnonzero(np.diff(p) > 0) + 1, len(p)]",
          "DENOMINATOR": "thefts"}


def _pareto(**change: str) -> str:
    source = _PARETO
    for name, value in (_RIGHT | change).items():
        source = source.replace(name, value)
    return source


# ---------------------------------------------------------------- 3.2 exercise 2: greedy + toy
_GREEDY = '''
def my_greedy(tp_lost, fp_removed, fp_needed):
    point = [0] * len(tp_lost)
    removed = START
    while removed < fp_needed:
        gains = [GAIN if i + 1 < len(k) else -np.inf
                 for k, f, i in zip(tp_lost, fp_removed, point, strict=True)]
        best = int(np.argmax(gains))
        removed += int(fp_removed[best][point[best] + 1] - fp_removed[best][point[best]])
        point[best] += 1
    return point
'''


def _greedy(start: str = "sum(int(f[0]) for f in fp_removed)",
            gain: str = "(f[i + 1] - f[i]) / (k[i + 1] - k[i])") -> str:
    return _GREEDY.replace("START", start).replace("GAIN", gain)


# ---------------------------------------------------------------- 3.3 exercise 2: shipping check
_CHECK = '''
def my_check(plan, jobs):
    planned = {(c["store"], c["camera"]): c["fp_removed"] for c in plan["cameras"]}
    ran = dict(zip(zip(jobs["store"], jobs["camera"]), jobs["exit_code"]))
    blocked = {}
    for key, code in ran.items():
        if FAILED:
            blocked[key] = "failed"
        elif key not in planned:
            blocked[key] = "missing"
    for key in planned:
        if key not in ran:
            blocked[key] = "stale"
    shipped = SHIPPED
    needed = planning.fp_needed(plan["total"]["fp_before"], plan["target_fp_reduction"])
    return blocked, shipped REACHES needed
'''
_RIGHT_CHECK = {"FAILED": "code != 0", "SHIPPED": "sum(fp for key, fp in planned.items() "
                "if key not in blocked)", "REACHES": ">="}


def _check(**change: str) -> str:
    source = _CHECK
    for name, value in (_RIGHT_CHECK | change).items():
        source = source.replace(name, value)
    return source


WRONG: dict[str, dict[str, str]] = {
    "ex1_pareto_solution": {
        "`>` for `>=`: a score at the default threshold is not an alert": _pareto(ALERT="p > 0"),
        "ignoring ties: a cut between any two sorted alerts": _pareto(
            CUT="np.arange(len(p) + 1)"),
        "recall over all thefts, not the alerted ones": _pareto(DENOMINATOR="y_all"
                                                                ).replace(
            "    thefts =", "    y_all = y.sum()\n    thefts ="),
        "constant answer": "def my_pareto_curve(probability, is_theft):\n"
                           "    return np.zeros(0), np.zeros(0)\n",
    },
    "ex2_decide_solution": {
        "p equal to alpha taken as evidence": '''
def my_decide(permutation_p, cochran_rejection, table, alpha, min_thefts):
    low = table[(table.n_thefts >= min_thefts) & (table.auc_high < 0.5)]
    return (bool(permutation_p > alpha), bool(cochran_rejection <= 2 * alpha),
            sorted(f"{s} / {c}" for s, c in zip(low.store, low.camera)))
''',
        "the point estimate below chance, not the whole interval": '''
def my_decide(permutation_p, cochran_rejection, table, alpha, min_thefts):
    low = table[(table.n_thefts >= min_thefts) & (table.auc < 0.5)]
    return (bool(permutation_p >= alpha), bool(cochran_rejection <= 2 * alpha),
            sorted(f"{s} / {c}" for s, c in zip(low.store, low.camera)))
''',
        "Cochran trusted only strictly below twice alpha": '''
def my_decide(permutation_p, cochran_rejection, table, alpha, min_thefts):
    low = table[(table.n_thefts >= min_thefts) & (table.auc_high < 0.5)]
    return (bool(permutation_p >= alpha), bool(cochran_rejection < 2 * alpha),
            sorted(f"{s} / {c}" for s, c in zip(low.store, low.camera)))
''',
        "constant answer": "def my_decide(permutation_p, cochran_rejection, table, alpha, "
                           "min_thefts):\n    return 0, 0, []\n",
    },
    "ex1_removed_solution": {
        "`<=` for `<`: an alert at the threshold is removed": '''
def my_removed(frame, thresholds):
    t = np.array([thresholds.get(k, 0.0) for k in zip(frame.store, frame.camera)], dtype=float)
    p, y = frame.probability.to_numpy(float), frame.is_theft.to_numpy(bool)
    removed = (p >= 0) & (p <= t)
    return int((removed & ~y).sum()), int((removed & y).sum())
''',
        "rows with a negative probability counted as removed alerts": '''
def my_removed(frame, thresholds):
    t = np.array([thresholds.get(k, 0.0) for k in zip(frame.store, frame.camera)], dtype=float)
    p, y = frame.probability.to_numpy(float), frame.is_theft.to_numpy(bool)
    removed = p < t
    return int((removed & ~y).sum()), int((removed & y).sum())
''',
        "a camera id without its store": '''
def my_removed(frame, thresholds):
    by_camera = {camera: value for (store, camera), value in thresholds.items()}
    t = np.array([by_camera.get(c, 0.0) for c in frame.camera], dtype=float)
    p, y = frame.probability.to_numpy(float), frame.is_theft.to_numpy(bool)
    removed = (p >= 0) & (p < t)
    return int((removed & ~y).sum()), int((removed & y).sum())
''',
        "constant answer": "def my_removed(frame, thresholds):\n    return 0, 0\n",
    },
    "ex2_greedy_solution": {
        "free false positives ignored": _greedy(start="0"),
        "one step too many (`<=` for `<`)": _greedy().replace("while removed < fp_needed",
                                                              "while removed <= fp_needed"),
        "most false positives first, not per theft": _greedy(gain="f[i + 1] - f[i]"),
        "the library's refined greedy (hull steps, cheapest last move)": '''
def my_greedy(tp_lost, fp_removed, fp_needed):
    if fp_needed <= sum(int(f[0]) for f in fp_removed):
        return [0] * len(tp_lost)
    total = sum(int(f[-1]) for f in fp_removed)
    plan = planning.greedy(planning.toy_curves(tp_lost, fp_removed), fp_needed / total)
    return [int(c.threshold) for c in plan.cameras]  # a toy camera's threshold = its point
''',
        "constant answer": "def my_greedy(tp_lost, fp_removed, fp_needed):\n"
                           "    return [0] * len(tp_lost)\n",
    },
    "ex3_toy_solution": {
        "a toy on which greedy is optimal": '''
def my_toy():
    return [np.array([0, 1]), np.array([0, 2]), np.array([0, 5])], \\
        [np.array([0, 10]), np.array([0, 12]), np.array([0, 20])], 10
''',
        "a toy of two cameras": '''
def my_toy():
    return [np.array([0, 1]), np.array([0, 2])], [np.array([0, 10]), np.array([0, 12])], 12
''',
        "a target beyond what muting every camera removes": '''
def my_toy():
    return [np.array([0, 1]), np.array([0, 2]), np.array([0, 5])], \\
        [np.array([0, 10]), np.array([0, 12]), np.array([0, 20])], 50
''',
        "constant answer": "def my_toy():\n    return [], [], 0\n",
    },
    "ex1_compare_solution": {
        "matched on the camera id alone": '''
def my_compare(plan, other):
    a = pd.DataFrame(plan["cameras"])[["store", "camera", "tp_lost"]]
    b = pd.DataFrame(other["cameras"])[["camera", "tp_lost"]].drop_duplicates("camera")
    compare = a.merge(b, on="camera", suffixes=("", "_exercise"), how="left")
    compare["extra_tp_lost"] = compare["tp_lost_exercise"] - compare["tp_lost"]
    return compare
''',
        "matched by position": '''
def my_compare(plan, other):
    compare = pd.DataFrame(plan["cameras"])[["store", "camera", "tp_lost"]]
    compare["tp_lost_exercise"] = [c["tp_lost"] for c in other["cameras"]]
    compare["extra_tp_lost"] = compare["tp_lost_exercise"] - compare["tp_lost"]
    return compare
''',
        "difference the wrong way round": '''
def my_compare(plan, other):
    compare = pd.DataFrame(plan["cameras"])[["store", "camera", "tp_lost"]].merge(
        pd.DataFrame(other["cameras"])[["store", "camera", "tp_lost"]],
        on=["store", "camera"], suffixes=("", "_exercise"))
    compare["extra_tp_lost"] = compare["tp_lost"] - compare["tp_lost_exercise"]
    return compare
''',
        "constant answer": "def my_compare(plan, other):\n    return pd.DataFrame()\n",
    },
    "ex2_check_solution": {
        "only exit code 2 taken as a failure (a crash exits 1, a killed job 137)": _check(
            FAILED="code == 2"),
        "`>` for `>=`: a plan removing exactly the FP needed is turned down": _check(
            REACHES=">"),
        "the target on the plan's totals, blocked cameras included": _check(
            SHIPPED='plan["total"]["fp_removed"]'),
        "plan cameras without a job tonight not flagged": _check().replace(
            '    for key in planned:\n        if key not in ran:\n'
            '            blocked[key] = "stale"\n', ""),
        "a camera id without its store": _check().replace(
            "key not in planned", "key[1] not in {c for _, c in planned}").replace(
            "key not in ran", "key[1] not in {c for _, c in ran}"),
        "constant answer": "def my_check(plan, jobs):\n    return {}, False\n",
    },
}


def _alerts(seed: int = 0, n: int = 600) -> pd.DataFrame:
    """A small alerts frame of six cameras (camera ids repeated across stores)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.2
    p = np.round(np.clip(rng.normal(0.3 + 0.3 * y, 0.2), -0.1, 1), 2)
    return pd.DataFrame({"store": rng.choice(["A", "B"], n),
                         "camera": rng.choice(["1", "2", "3"], n), "probability": p, "is_theft": y})


def namespace(notebook: Path) -> dict[str, Any]:
    """What the test cells of ``notebook`` read from the cells before them."""
    clean = _alerts()
    if notebook == CURVES:
        table = pd.DataFrame({"store": ["A", "B", "C"], "camera": ["1", "1", "2"],
                              "n_thefts": [40, 35, 3], "auc": [0.3, 0.7, 0.4],
                              "auc_low": [0.2, 0.6, np.nan], "auc_high": [0.45, 0.8, np.nan]})
        return {"np": np, "rows": clean[clean.store == "A"], "table": table,
                "het": SimpleNamespace(permutation_p=0.01),
                "null": SimpleNamespace(cochran_rejection=0.2), "ALPHA": 0.05, "MIN_THEFTS": 30}
    if notebook == PLANNING:
        alerts = clean[clean.probability >= 0]
        return {"np": np, "pd": pd, "planning": planning, "clean": clean, "alerts": alerts,
                "example_thresholds": alerts.groupby(["store", "camera"]).probability.median()
                .to_dict()}
    keys = sorted(set(zip(clean.store, clean.camera, strict=True)))
    codes = pd.MultiIndex.from_frame(clean[["store", "camera"]]).map(keys.index).to_numpy()
    found = grouped_curves(codes, clean.probability, clean.is_theft, keys)
    plan = planning.plan_thresholds(found, 0.3, progress=False).to_dict()
    demo = keys[:2]  # 3.3's log: two cameras' jobs succeeded, one for an unknown camera failed
    job_log = pd.DataFrame([(*k, 0) for k in demo] + [(demo[0][0], "no-such-camera", 2)],
                           columns=["store", "camera", "exit_code"])
    return {"pd": pd, "display": lambda _: None, "planning": planning, "plan": plan,
            "exercise_plan": planning.plan_thresholds(found, 0.5, progress=False).to_dict(),
            "demo": demo, "job_log": job_log}


@pytest.fixture(scope="module")
def versions() -> dict[Path, tuple[dict[str, Any], dict[str, Any]]]:
    return {notebook: released_versions(notebook) for notebook in EXERCISES}


WRONG_CASES = [pytest.param(nb, s, t, source, id=f"{nb.stem[:2]} {s[:3]}: {name}")
               for nb, ex in EXERCISES.items() for s, t in ex
               for name, source in WRONG[s].items()]


@pytest.mark.parametrize(("notebook", "solution", "test", "wrong"),
                         [c for c in WRONG_CASES if c.values[1] != "ex3_toy_solution"])
def test_the_hidden_part_alone_fails_a_wrong_answer(notebook: Path, solution: str, test: str,
                                                    wrong: str, versions: dict) -> None:
    """The visible check is only a sanity check: the hidden tests, on their own inputs, catch
    every wrong answer by themselves (the toy's hidden part reads the visible part's names)."""
    ns = namespace(notebook)
    exec(wrong, ns)
    hidden = versions[notebook][0][test].source.split("### BEGIN HIDDEN TESTS")[1]
    with pytest.raises(AssertionError):
        exec(hidden, ns)
