"""The generated Colab setup cell: one template for every notebook, a clear stop when a step fails,
and lab extras that cover what each lab imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from utils.course import bootstrap, setup_cell
from utils.course.imports import distributions, imported_names, lab_imports
from utils.labs import discover
from utils.paths import REPO_ROOT

STUB = Path(__file__).parent / "colab_stub"
# Provided by every Colab (and Jupyter) kernel, never by a lab extra.
KERNEL_PROVIDES = {"IPython", "google"}


def test_every_notebook_has_the_generated_cell() -> None:
    assert setup_cell.stale() == [], "run `actionlab course setup-cells`"
    for path in discover():
        assert "actionlab-course" not in path.read_text(), f"{path.name}: placeholder URL"


def _old_copy(tmp_path: Path) -> Path:
    """A lab notebook as another branch would add it: the setup cell copied from an old one."""
    lab = tmp_path / "lab2_finetune"
    lab.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Lab 2.9"),
                nbformat.v4.new_code_cell('DATA = "auto"', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("# Colab only: fetch the course code\n"
                                          "REPO_URL = 'https://github.com/actionlab-course/x'"),
                nbformat.v4.new_code_cell("print(1)")]
    nbformat.write(nb, lab / "09_new.ipynb")
    bare = nbformat.v4.new_notebook()
    bare.cells = [nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]}),
                  nbformat.v4.new_code_cell("print(2)")]
    nbformat.write(bare, lab / "10_bare.ipynb")
    return lab


def test_regenerate_fixes_notebooks_added_later(tmp_path: Path) -> None:
    lab = _old_copy(tmp_path)
    assert setup_cell.stale(tmp_path) == ["lab2_finetune/09_new.ipynb",
                                          "lab2_finetune/10_bare.ipynb"]
    assert setup_cell.regenerate(root=tmp_path) == [lab / "09_new.ipynb", lab / "10_bare.ipynb"]
    assert setup_cell.stale(tmp_path) == []
    assert setup_cell.regenerate(root=tmp_path) == []  # a second call changes nothing
    for name in ("09_new.ipynb", "10_bare.ipynb"):
        cells = nbformat.read(lab / name, as_version=4).cells
        index = setup_cell.find_cell(nbformat.read(lab / name, as_version=4))
        assert index is not None and "parameters" in cells[index - 1].metadata["tags"]
        assert cells[index].source == setup_cell.cell_source("lab2_finetune")
        assert cells[-1].source in ("print(1)", "print(2)")  # the lesson's cells are kept
        assert len(cells) == (4 if name == "09_new.ipynb" else 3)


def test_cell_installs_the_labs_extra_without_requirements() -> None:
    for lab, extra in (("lab1_pretrained", "lab1"), ("lab3_thresholds", "lab3")):
        source = setup_cell.cell_source(lab, "https://example.org/course.git", "v2")
        assert f"setup(REPO, {extra!r}, {lab!r})" in source
        assert "REPO_URL = 'https://example.org/course.git'" in source
        assert "REPO_REF = 'v2'" in source
    lab1 = bootstrap.extra_requirements(REPO_ROOT / "pyproject.toml", "lab1")
    assert "torch>=2.1" in lab1 and "pytorchvideo==0.1.5" in lab1  # lab1 + video, expanded
    assert not any(r.startswith("actionlab") for r in lab1) and len(lab1) == len(set(lab1))
    assert bootstrap.requirement_name("opencv_python[extra]>=4.8") == "opencv-python"


def _run_cell(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a setup cell as Colab would (google.colab importable) in a fresh process."""
    script = tmp_path / "cell.py"
    script.write_text(source)
    env = {**os.environ, "PYTHONPATH": str(STUB), "ACTIONLAB_CLONE_DIR": str(tmp_path / "clone")}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)


def test_a_failing_clone_stops_the_notebook_with_what_to_do(tmp_path: Path) -> None:
    bad = (tmp_path / "no-such-repo.git").as_uri()
    done = _run_cell(setup_cell.cell_source("lab2_finetune", bad), tmp_path)
    assert done.returncode == 1
    assert "RuntimeError: Colab setup stopped: `git -C" in done.stderr
    assert bad in done.stderr and "What to do: check REPO_URL" in done.stderr
    unset = _run_cell(setup_cell.cell_source("lab2_finetune", ""), tmp_path)
    assert unset.returncode == 1 and "has no course repository URL" in unset.stderr


def test_outside_colab_the_cell_does_nothing(tmp_path: Path) -> None:
    script = tmp_path / "cell.py"
    script.write_text(setup_cell.cell_source("lab2_finetune", "file:///nowhere") +
                      "\nprint('ON_COLAB', ON_COLAB)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ON_COLAB False"
    assert list(tmp_path.iterdir()) == [script]


def test_failing_install_and_import_stop_with_what_to_do(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()  # not a Python project: pip refuses it before installing
    with pytest.raises(bootstrap.SetupError, match=r"(?s)pip install --no-deps -e.*What to do"):
        bootstrap.install(tmp_path / "empty", "lab3")
    monkeypatch.setitem(bootstrap.CHECKS, "labx", ("utils.no_such_module",))
    with pytest.raises(bootstrap.SetupError,
                       match=r"(?s)import utils.no_such_module` failed.*Restart session"):
        bootstrap.check_imports("labx")


def test_an_import_guarded_by_except_import_error_is_optional() -> None:
    source = ("try:\n    import fsspec\nexcept ImportError:\n    fsspec = None\n"
              "try:\n    from dask import array\n"
              "except (ValueError, ModuleNotFoundError):\n    pass\n"
              "try:\n    import yaml\nexcept OSError:\n    import json5\n"
              "import numpy\n")
    assert imported_names(source) == {"yaml", "json5", "numpy"}


@pytest.mark.parametrize("extra", ["lab1", "lab2", "lab3"])
def test_each_extra_covers_its_notebooks_imports(extra: str) -> None:
    notebooks = [p for p in discover() if setup_cell.lab_extra(p.parent.name) == extra]
    assert notebooks
    covered = {bootstrap.requirement_name(r)
               for r in bootstrap.extra_requirements(REPO_ROOT / "pyproject.toml", extra)}
    needed = distributions(lab_imports(notebooks) - KERNEL_PROVIDES)
    missing = {module: dists for module, dists in needed.items() if not dists & covered}
    assert not missing, f"the {extra} extra lacks {missing}"
    if extra == "lab3":  # the light lab: no torch nor video stack reached
        assert not {"torch", "av", "cv2"} & set(needed)


def test_setup_cells_command(capsys: pytest.CaptureFixture[str]) -> None:
    from utils.cli import main

    assert main(["course", "setup-cells", "--check"]) == 0
    with pytest.raises(SystemExit):
        main(["course", "release", "--help"])
    assert "--repo-url URL" in capsys.readouterr().out
