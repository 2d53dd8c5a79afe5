"""The grading parameters on their own (no nbgrader, no kernel): what release records, the
folders each submission gets, the injection into a notebook, and bad grading files."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_course_cli import _tiny_lab

from utils.course.grading import parameterize, plan, read_plan, write_plan
from utils.errors import InputError

DEFAULTS = {"N": 3, "DATA": "auto", "OUTPUT_DIR": None, "WORKDIR": None, "CACHE_DIR": None,
            "USE_DRIVE": False}


def test_plan_records_defaults_data_and_smoke_sizes(tmp_path: Path) -> None:
    nb = _tiny_lab(tmp_path / "repo")
    grading = plan([nb], tmp_path / "grading", data="real", timeout=60)
    assert grading.parameters == {"lab9_tiny/01_sum.ipynb": DEFAULTS | {"N": 2, "DATA": "real"}}
    assert grading.declared == {"lab9_tiny/01_sum.ipynb": sorted(DEFAULTS)}
    assert grading.folder == (tmp_path / "grading").resolve() and grading.timeout == 60
    write_plan(grading, tmp_path)
    assert read_plan(tmp_path) == grading


def test_each_submission_gets_absolute_folders_of_its_own(tmp_path: Path) -> None:
    data = tmp_path / "datasets"
    (data / "faces").mkdir(parents=True)
    grading = plan([_tiny_lab(tmp_path / "repo")], tmp_path / "grading", data_dir=data)
    params = {s: grading.for_submission(s, "lab9_tiny", "01_sum.ipynb") for s in ("ada", "bob")}
    workdir = tmp_path / "grading" / "ada" / "lab9_tiny"
    assert params["ada"] == DEFAULTS | {
        "N": 2, "DATA": "synthetic", "WORKDIR": str(workdir),
        "OUTPUT_DIR": str(workdir / "outputs" / "01_sum"), "CACHE_DIR": str(workdir / "features")}
    assert params["bob"]["WORKDIR"] == str(tmp_path / "grading" / "bob" / "lab9_tiny")
    for name in ("WORKDIR", "OUTPUT_DIR", "CACHE_DIR"):
        assert Path(params["ada"][name]).is_dir()
    assert (workdir / "data").resolve() == data.resolve() and (workdir / "data" / "faces").is_dir()
    grading.clear("ada", "lab9_tiny")  # a new grading starts empty; the datasets stay
    assert not workdir.exists() and (data / "faces").is_dir()
    with pytest.raises(InputError, match=r"no grading parameters for lab9_tiny/02_other\.ipynb"):
        grading.for_submission("ada", "lab9_tiny", "02_other.ipynb")


def test_parameterize_overrides_the_students_values(tmp_path: Path) -> None:
    source = _tiny_lab(tmp_path / "repo")
    target = parameterize(source, tmp_path / "out" / "nb.ipynb", {"N": 2, "USE_DRIVE": False})
    cells = nbformat.read(target, as_version=4).cells
    assert "injected-parameters" in cells[1].metadata["tags"]
    namespace: dict[str, object] = {}
    for cell in cells[:2]:  # the notebook's parameters cell, then the injected one
        exec(cell.source, namespace)
    assert (namespace["N"], namespace["USE_DRIVE"]) == (2, False)
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    copied = parameterize(broken, tmp_path / "out" / "broken.ipynb", {"N": 2})
    assert copied.read_text() == '{"cells": ['  # nbgrader names what is wrong with it


def test_bad_grading_input(tmp_path: Path) -> None:
    nb = _tiny_lab(tmp_path / "repo")
    with pytest.raises(InputError, match=r"--data-dir .*none is not a folder"):
        plan([nb], tmp_path, data_dir=tmp_path / "none")
    with pytest.raises(InputError, match=r"no grading\.json"):
        read_plan(tmp_path)
    (tmp_path / "grading.json").write_text('{"folder": "/g"}')
    with pytest.raises(InputError, match="not a grading file written by `actionlab course "
                                         "release`"):
        read_plan(tmp_path)
