"""Lab 1.2's exercises, their plausible wrong answers and a constant one, and what the notebook
has defined when they run (checked by tests/test_exercises.py); here, its grade cells and that
exercise 3's library function is not in scope before it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from utils.paths import REPO_ROOT

NOTEBOOK = REPO_ROOT / "lab1_pretrained" / "02_onnx_and_deployment.ipynb"
EXERCISES = {NOTEBOOK: [("ex1_parity_solution", "ex1_parity_test"),
                        ("ex3_devices_solution", "ex3_devices_test")]}
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


def namespace(notebook: Path) -> dict[str, Any]:
    """What the notebook has defined when the exercises run (``np``)."""
    return {"np": np}


def test_metadata_and_layout() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    assert [m["grade_id"] for m in graded] == [
        "ex1_parity_solution", "ex1_parity_test", "ex2-targets", "ex3_devices_solution",
        "ex3_devices_test"]
    assert sum(m.get("points", 0) for m in graded if m["grade"]) == 5
    # the library function of exercise 3 is not in scope before its test cell
    order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    before = nb.cells[:order.index("ex3_devices_test")]
    assert not any("platforms" in c.source for c in before if c.cell_type == "code")
