"""Lab 1's exercises (1.1, 1.3, 1.4), their plausible wrong answers and a constant one (checked
by tests/test_exercises.py); the hidden tests build their own inputs, and the namespaces below
only stand in for what the notebook defined before (the 1.4 clip's own table may be empty).
Here, 1.1's grade cells in order and its library steps kept out of scope before each exercise."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd

from utils.paths import REPO_ROOT

LAB = REPO_ROOT / "lab1_pretrained"
BENCHMARK, LIVE, YOLO = "01_pretrained_benchmark", "03_live_demo", "04_yolo_boxes_pose"
PAIRS = {
    BENCHMARK: [("ex1_sampling_solution", "ex1_sampling_test"),
                ("ex2_topk_solution", "ex2_topk_test"),
                ("ex3_videos_solution", "ex3_videos_test"),
                ("ex4_budget_solution", "ex4_budget_test")],
    LIVE: [("ex1_summary_solution", "ex1_summary_test"),
           ("ex2_subset_solution", "ex2_subset_test")],
    YOLO: [("ex1_tracks_solution", "ex1_tracks_test"),
           ("ex2_skeleton_solution", "ex2_skeleton_test")],
}

EXERCISES = {LAB / f"{stem}.ipynb": pairs for stem, pairs in PAIRS.items()}

def _skeleton(compare: str, divide: str) -> str:
    """A version of 1.4's skeleton features with the wrist test and the span's divisor given."""
    return f'''
def my_skeleton_features(table):
    return pd.DataFrame({{
        "track_id": table["track_id"], "frame": table["frame"],
        "wrist_above_shoulder": (table["right_wrist_y"] {compare}
                                 table["right_shoulder_y"]).astype(float),
        "arm_span": np.hypot(table["right_wrist_x"] - table["left_wrist_x"],
                             table["right_wrist_y"] - table["left_wrist_y"]) {divide},
    }})
'''


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
        "y taken to grow upwards (> for <)": _skeleton(">", '/ (table["y2"] - table["y1"])'),
        "arm span divided by the box width": _skeleton("<", '/ (table["x2"] - table["x1"])'),
        "arm span in pixels (not normalised)": _skeleton("<", ""),
        "constant answer": '''
def my_skeleton_features(table):
    return 0
''',
    },
}


def _live_summary() -> dict[str, Any]:
    return {"frames_in": 40, "window_frames": 8, "windows": 33, "inferences": 11,
            "dropped_windows": 22, "inference_latency_s": 0.05, "inference_fps": 12.0,
            "capture_fps": 200.0, "display_fps": 150.0}


def _pose_table() -> pd.DataFrame:
    """Two rows of one track in the real columns of ``utils.deploy.detect``."""
    from utils.deploy.detect import COLUMNS

    pose = pd.DataFrame(np.ones((2, len(COLUMNS))), columns=COLUMNS)
    pose["track_id"], pose["frame"], pose["y2"] = 1, [0, 4], 3.0
    return pose


NAMESPACES: dict[str, Callable[[], dict[str, Any]]] = {
    BENCHMARK: lambda: {"np": np},
    LIVE: lambda: {"np": np, "summary": _live_summary()},
    YOLO: lambda: {"np": np, "pd": pd, "pose": _pose_table(), "runs": {"pose": {"fps": 30.0}}},
}


def namespace(notebook: Path) -> dict[str, Any]:
    return NAMESPACES[notebook.stem]()


def test_benchmark_grade_ids_in_order() -> None:
    nb = nbformat.read(LAB / f"{BENCHMARK}.ipynb", as_version=4)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    pairs = PAIRS[BENCHMARK]
    assert ids == [i for pair in pairs[:2] for i in pair] + ["ex5_explain"] + [
        i for pair in pairs[2:] for i in pair]


def test_the_library_step_is_not_in_scope_before_its_exercise() -> None:
    """No code cell before a 1.1 exercise imports the function its hidden test compares with."""
    nb = nbformat.read(LAB / f"{BENCHMARK}.ipynb", as_version=4)
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    library = ("segment_indices", "topk_accuracy", "clips_per_second",
               r"best_within_budget|import[^\n]*\bbudget\b")
    for (solution, _), name in zip(PAIRS[BENCHMARK], library, strict=True):
        before = nb.cells[:order.index(solution)]
        assert not [c for c in before if c.cell_type == "code" and re.search(name, c.source)], name
