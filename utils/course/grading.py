"""Grading parameters: what each submitted notebook runs with when ``course grade`` executes it.

A notebook's defaults are the sizes of a real lab (all models, all clips, thousands of bootstrap
resamples); the grader only needs the exercises' cells to run, so ``course release`` records in
``RELEASE/grading.json`` each notebook's parameters (its defaults with its ``smoke_parameters``
over them), the ``DATA`` mode, the time limit, and a grading folder. ``course grade`` injects
them into every submission (papermill, after the cell tagged ``parameters``, so the student's
own values are overridden) with absolute folders of its own under the grading folder::

    GRADING/<student>/<lab>/                    WORKDIR (the lab's notebooks share it, as on
                                                Colab with Drive: 2.2 finds the run of 2.1)
    GRADING/<student>/<lab>/outputs/<notebook>  OUTPUT_DIR
    GRADING/<student>/<lab>/features            CACHE_DIR
    GRADING/<student>/<lab>/data                a link to the release's data folder, if any

so no submission reads another's cache or run, and nothing lands in the repository. With
``DATA = "real"`` or ``"auto"``, give the release a data folder (what a WORKDIR's ``data/``
holds: the datasets, fetched once) so that each submission does not download its own copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from utils.datamode import MODES
from utils.errors import InputError
from utils.io import atomic_path, make_folder, write_json
from utils.labs import declared_parameters, lab_name, smoke_parameters

GRADING_FILE = "grading.json"


@dataclass(frozen=True)
class GradingPlan:
    folder: Path  # absolute: the per-submission folders are made under it
    data: str
    timeout: int  # seconds per notebook
    parameters: dict[str, dict[str, Any]]  # "<lab>/<notebook>.ipynb" -> declared names only
    declared: dict[str, list[str]]  # every parameter each notebook declares
    data_dir: Path | None = None  # absolute: linked as every submission's WORKDIR/data

    def for_submission(self, student: str, lab: str, notebook: str) -> dict[str, Any]:
        """The parameters of ``student``'s ``lab/notebook``: the small sizes and DATA, plus its
        absolute WORKDIR, OUTPUT_DIR and CACHE_DIR (created), for the names it declares."""
        key = f"{lab}/{notebook}"
        if key not in self.parameters:
            raise InputError(f"{GRADING_FILE}: no grading parameters for {key}; release again")
        workdir = self.submission_folder(student, lab)
        folders = {"WORKDIR": workdir, "OUTPUT_DIR": workdir / "outputs" / Path(notebook).stem,
                   "CACHE_DIR": workdir / "features"}
        declared = set(self.declared[key])
        if self.data_dir is not None and "WORKDIR" in declared and not (workdir / "data").exists():
            make_folder(workdir).joinpath("data").symlink_to(self.data_dir,
                                                             target_is_directory=True)
        chosen = {name: make_folder(path) for name, path in folders.items() if name in declared}
        return self.parameters[key] | {name: str(path) for name, path in chosen.items()}

    def submission_folder(self, student: str, lab: str) -> Path:
        return self.folder / student / lab

    def clear(self, student: str, lab: str) -> None:
        """Remove what an earlier grading of this submission left (a stale run or cache would
        be read instead of recomputed)."""
        folder = self.submission_folder(student, lab)
        if folder.exists():
            shutil.rmtree(folder)


def plan(notebooks: Sequence[Path], folder: Path, *, data: str = "synthetic",
         timeout: int = 1800, data_dir: Path | None = None) -> GradingPlan:
    """The grading parameters of ``notebooks``: each one's declared defaults (so a value the
    student changed, such as ``USE_DRIVE = True`` on Colab or a path on Drive, is set back),
    then ``data`` as DATA and its smoke parameters, for the names its parameters cell declares.
    ``data_dir``: an existing folder every submission's ``WORKDIR/data`` links to."""
    if data not in MODES:
        raise InputError(f"--data must be one of {list(MODES)}, got {data!r}")
    if data_dir is not None and not Path(data_dir).is_dir():
        raise InputError(f"--data-dir {data_dir} is not a folder")
    parameters, declared = {}, {}
    for nb in notebooks:
        names = declared_parameters(nb)
        wanted = {**names, "DATA": data, **smoke_parameters(nb)}
        parameters[lab_name(nb)] = {k: v for k, v in wanted.items() if k in names}
        declared[lab_name(nb)] = sorted(names)
    return GradingPlan(Path(folder).resolve(), data, int(timeout), parameters, declared,
                       None if data_dir is None else Path(data_dir).resolve())


def write_plan(grading: GradingPlan, release_dir: Path) -> Path:
    return write_json({"folder": str(grading.folder), "data": grading.data,
                       "timeout": grading.timeout, "parameters": grading.parameters,
                       "declared": grading.declared,
                       "data_dir": None if grading.data_dir is None else str(grading.data_dir)},
                      Path(release_dir) / GRADING_FILE)


def read_plan(release_dir: Path) -> GradingPlan:
    path = Path(release_dir) / GRADING_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return GradingPlan(Path(raw["folder"]), str(raw["data"]), int(raw["timeout"]),
                           dict(raw["parameters"]), dict(raw["declared"]),
                           None if raw.get("data_dir") is None else Path(raw["data_dir"]))
    except FileNotFoundError:
        raise InputError(f"--release {release_dir}: no {GRADING_FILE}; pass the folder written "
                         "by `actionlab course release` (release again if it is older)") from None
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a grading file written by `actionlab course release` "
                         f"({err})") from None


def parameterize(source: Path, target: Path, parameters: dict[str, Any]) -> Path:
    """``source`` with ``parameters`` injected after its ``parameters`` cell (papermill's own
    ``injected-parameters`` cell, replacing one left by an earlier run), written to ``target``.
    A notebook nbformat cannot read is copied as it is: nbgrader then reports it."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = parameterize_notebook(load_notebook_node(str(source)), parameters)
    except (ValueError, KeyError, AttributeError):  # not a notebook: nbgrader reports it, named
        shutil.copy2(source, target)
        return target
    with atomic_path(target) as tmp:
        nbformat.write(nb, tmp)
    return target
