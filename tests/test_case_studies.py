"""The course's two case studies (issue 18, item 6) are written exercises graded by hand: a
question cell, then a markdown answer cell with nbgrader's solution + grade metadata whose rubric
sits in the solution region, so the student version shows only nbgrader's answer stub. No
notebook is executed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbgrader_helpers import released_versions

from utils.course.metadata import BEGIN_SOLUTION, END_SOLUTION, SCHEMA_VERSION
from utils.paths import REPO_ROOT

# (notebook, grade_id of the answer, words the rubric must cover: the course's questions)
CASES = [
    (REPO_ROOT / "lab2_finetune" / "03_shoplifting_demo.ipynb", "cs1_council_answer",
     ["night", "IR", "label", "classes", "fine-tune", "scratch", "platform", "recall",
      "precision", "threshold", "notification", "Urgent", "budget", "many councils"]),
    (REPO_ROOT / "lab2_finetune" / "04_anomaly_detection.ipynb", "cs2_bank_answer",
     ["rare", "label", "normal footage only", "PSNR", "regularity", "threshold", "unusual",
      "confirm"]),
]
IDS = [gid for _, gid, _ in CASES]


def _answer_index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    [index] = [i for i, c in enumerate(nb.cells)
               if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return index


@pytest.mark.parametrize(("notebook", "grade_id", "topics"), CASES, ids=IDS)
def test_case_study_is_a_hand_graded_answer_before_the_last_cell(
        notebook: Path, grade_id: str, topics: list[str]) -> None:
    nb = nbformat.read(notebook, as_version=4)
    i = _answer_index(nb, grade_id)
    answer, question = nb.cells[i], nb.cells[i - 1]
    meta = answer.metadata["nbgrader"]
    assert answer.cell_type == question.cell_type == "markdown"
    assert meta["solution"] and meta["grade"] and not meta["locked"]
    assert meta["schema_version"] == SCHEMA_VERSION and meta["points"] > 0
    assert i == len(nb.cells) - 2  # just before the notebook's summary
    assert "nbgrader" not in question.metadata
    stated = re.search(r"\((\d+) points, graded by hand\)", question.source)
    assert stated is not None and float(stated[1]) == meta["points"]
    text = answer.source.strip()
    assert text.startswith(BEGIN_SOLUTION) and text.endswith(END_SOLUTION)
    rubric = " ".join(text[len(BEGIN_SOLUTION):-len(END_SOLUTION)].replace("*", "").split())
    missing = [t for t in topics if t.lower() not in rubric.lower()]
    assert not missing, missing


@pytest.mark.parametrize(("notebook", "grade_id", "topics"), CASES, ids=IDS)
def test_student_version_hides_the_rubric(notebook: Path, grade_id: str,
                                          topics: list[str]) -> None:
    teacher, student = released_versions(notebook)
    assert student[grade_id].source.strip() == "YOUR ANSWER HERE"
    assert len(teacher[grade_id].source) > 500
