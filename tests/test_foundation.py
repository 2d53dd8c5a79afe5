"""The shared plumbing: atomic JSON writes, the DATA switch, notebook parameters, the CLI entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from utils.datamode import choose_data
from utils.errors import InputError
from utils.io import atomic_path, check_run, staged_run, write_json
from utils.labs import declared_parameters, lab_name, run_all, run_notebook, smoke_parameters
from utils.paths import REPO_ROOT


def test_write_json_converts_numpy_and_nonfinite(tmp_path: Path) -> None:
    path = write_json({"a": np.int64(3), "b": np.array([0.5, np.nan]), "c": float("inf")},
                      tmp_path / "sub" / "r.json")
    assert json.loads(path.read_text()) == {"a": 3, "b": [0.5, None], "c": None}


def test_atomic_path_keeps_old_file_when_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_staged_run_puts_the_earlier_run_back_when_the_swap_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    with staged_run(run) as (fresh, first):
        (fresh / "a.txt").write_text("first")
    assert check_run(run, ["a.txt"]) == first
    replace = os.replace

    def refuse_new(src: str | Path, dst: str | Path) -> None:
        if Path(src).name.startswith(".run.new."):  # the new run moving into place
            raise OSError(1, "Operation not permitted")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse_new)
    with pytest.raises(InputError, match="run: cannot replace the folder \\(Operation not "), \
            staged_run(run) as (fresh, _):
        (fresh / "a.txt").write_text("second")
    monkeypatch.undo()
    assert (run / "a.txt").read_text() == "first" and check_run(run, ["a.txt"]) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_choose_data_modes(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    made: list[Path] = []

    def make() -> Path:
        made.append(tmp_path / "synthetic.csv")
        return made[-1]

    assert choose_data("auto", real, make).synthetic
    with pytest.raises(InputError, match="does not exist"):
        choose_data("real", real, make)
    real.write_text("x")
    auto = choose_data("auto", real, make)
    assert (auto.path, auto.synthetic) == (real, False)
    assert choose_data("synthetic", real, make).synthetic
    assert len(made) == 2  # generated only when used
    with pytest.raises(InputError, match="DATA must be one of"):
        choose_data("fake", real, make)


def _notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('SIZE = 1000\nDATA = "auto"\nOUTPUT_DIR = "out"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "pathlib.Path(OUTPUT_DIR).mkdir(parents=True, exist_ok=True)\n"
        "pathlib.Path(OUTPUT_DIR, 'r.json').write_text(json.dumps({'size': SIZE, 'data': DATA}))"
    )]
    nb.metadata["actionlab"] = {"test_parameters": {"SIZE": 3}}
    # As in every lab notebook: papermill reads the kernel name to inspect parameters.
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    return path


def test_notebook_parameters_are_read_from_the_tagged_cell(tmp_path: Path) -> None:
    path = _notebook(tmp_path)
    assert declared_parameters(path) == {"SIZE": 1000, "DATA": "auto", "OUTPUT_DIR": "out"}
    assert smoke_parameters(path) == {"SIZE": 3}


@pytest.mark.notebook
def test_run_notebook_injects_only_declared_parameters(tmp_path: Path) -> None:
    path = _notebook(tmp_path)
    out = tmp_path / "results"
    run_notebook(path, tmp_path / "executed.ipynb",
                 {"SIZE": 3, "OUTPUT_DIR": str(out), "UNKNOWN": 1})
    assert json.loads((out / "r.json").read_text()) == {"size": 3, "data": "auto"}


@pytest.mark.notebook
def test_labs_run_names_each_notebook_with_a_cell_bar_and_times(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make labs` is not silent: which notebook runs, papermill's cell bar, each time, total."""
    for lab in ("lab1_a", "lab2_b"):
        (tmp_path / lab).mkdir()
        _notebook(tmp_path / lab)
    runs = run_all(tmp_path / "out", smoke=True, root=tmp_path)
    assert [lab_name(r.notebook) for r in runs] == ["lab1_a/lab.ipynb", "lab2_b/lab.ipynb"]
    shown = capsys.readouterr()
    lines = shown.out.splitlines()
    assert lines[0] == "[1/2] lab1_a/lab.ipynb" and lines[2] == "[2/2] lab2_b/lab.ipynb"
    assert lines[1] == f"[1/2] lab1_a/lab.ipynb: {runs[0].seconds:.0f} s" and len(lines) == 4
    # papermill's bar (its cells: ours and the injected parameters) reached its end, twice
    assert shown.err.count("3/3 [") == 2 and "cell/s" in shown.err
    assert json.loads((tmp_path / "out/lab2_b/lab/r.json").read_text())["size"] == 3


def test_cli_help_and_version() -> None:
    for args in (["--help"], ["--version"]):
        done = subprocess.run([sys.executable, "-m", "utils", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "actionlab" in done.stdout
