"""Issue 18's "done when" for grading, on one notebook (the whole course is
benchmarks/bench_grading.py): ``course release`` then ``course grade`` of two fake students, the
instructor version and a mutant with one plausible wrong answer, run by nbgrader at grading size
in their own folders, give the points per cell the notebook's metadata says."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from grading_helpers import expected_points, hand_in, mutant, wrong_answers

from utils.cli import main
from utils.course.grading import read_plan
from utils.labs import declared_parameters, lab_name, smoke_parameters
from utils.paths import REPO_ROOT

pytestmark = [pytest.mark.notebook, pytest.mark.slow]
# ~30 s at its smoke sizes, and its exercise module keeps wrong answers
NOTEBOOK = REPO_ROOT / "lab3_thresholds" / "04_reducing_false_positives.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("grading")
    release_dir = tmp / "release"
    assert main(["course", "release", "--labs", NOTEBOOK.parent.name, "--out",
                 str(release_dir)]) == 0
    change = mutant(NOTEBOOK, wrong_answers()[NOTEBOOK])
    assert change is not None
    instructor = release_dir / "instructor" / NOTEBOOK.parent.name / NOTEBOOK.name
    hand_in(instructor, tmp / "subs" / "reference" / NOTEBOOK.parent.name / NOTEBOOK.name)
    hand_in(instructor, tmp / "subs" / "mutant" / NOTEBOOK.parent.name / NOTEBOOK.name, change)
    out = tmp / "grades.csv"
    assert main(["course", "grade", str(tmp / "subs"), "--release", str(release_dir), "--out",
                 str(out), "--jobs", "2"]) == 0
    return release_dir, pd.read_csv(out)


def test_points_per_cell(graded: tuple[Path, pd.DataFrame]) -> None:
    _, grades = graded
    rows = grades[grades.notebook == NOTEBOOK.name].set_index("student")
    change = mutant(NOTEBOOK, wrong_answers()[NOTEBOOK])
    for student, expected in (("reference", expected_points(NOTEBOOK)),
                              ("mutant", expected_points(NOTEBOOK, change))):
        row = rows.loc[student]
        assert row.status == "graded"
        assert {test: row[test] for test in expected} == expected, student
        assert row.score == sum(expected.values())
    assert change is not None and (
        rows.loc["mutant", change.exercise.test_id] == 0 < rows.loc["reference",
                                                                   change.exercise.test_id])
    # the lab's other notebooks were not handed in
    others = grades[grades.notebook != NOTEBOOK.name]
    assert len(others) == 2 * (len(list(NOTEBOOK.parent.glob("*.ipynb"))) - 1)
    assert set(others.status) == {"missing"}


def test_submissions_ran_at_grading_size_in_their_own_folders(
        graded: tuple[Path, pd.DataFrame]) -> None:
    release_dir, _ = graded
    plan = read_plan(release_dir)
    change = mutant(NOTEBOOK, wrong_answers()[NOTEBOOK])
    assert change is not None
    assert plan.parameters[lab_name(NOTEBOOK)] == {
        **declared_parameters(NOTEBOOK), "DATA": "synthetic", **smoke_parameters(NOTEBOOK)}
    for student in ("reference", "mutant"):
        workdir = plan.folder / student / NOTEBOOK.parent.name
        autograded = (release_dir / "course" / "autograded" / student / NOTEBOOK.parent.name
                      / NOTEBOOK.name)
        nb = nbformat.read(autograded, as_version=4)
        [injected] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert f'OUTPUT_DIR = "{workdir / "outputs" / NOTEBOOK.stem}"' in injected.source
        assert f'WORKDIR = "{workdir}"' in injected.source
        failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                  and any(o.output_type == "error" for o in c.outputs)]
        # the notebook ran to its end (the mutant fails in its test cell only), writing its
        # key numbers where it was told
        assert failed == ([] if student == "reference" else [
            i for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade_id") == change.exercise.test_id])
        assert [json.loads(p.read_text()) for p in
                (workdir / "outputs" / NOTEBOOK.stem).glob("*.json")]
