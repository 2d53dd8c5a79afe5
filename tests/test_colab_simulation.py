"""Notebooks run as a fresh Colab would run them: released with a repository URL (a local git
repository holding this working tree), each in its own process and empty ``/content``-like
folder, with a stub ``google.colab`` (tests/colab_stub) and nothing shared but WORKDIR.

The setup cell really fetches the code and really runs ``pip install --no-deps -e`` plus the lab's
extra, into a throwaway virtual environment that sees this environment's packages (a ``.pth``
line), so the shared environment is never touched and nothing is downloaded. Lab 2 uses the
generated stand-in (a DCSASS download needs the download layer); lab 3 receives its alerts CSV
through the stub upload dialog and reaches real-data mode.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from utils.alerts.synth import write_synthetic_alerts
from utils.course.setup_cell import write_cell
from utils.labs import smoke_parameters
from utils.paths import REPO_ROOT

pytestmark = [pytest.mark.notebook, pytest.mark.slow]
STUB = Path(__file__).parent / "colab_stub"
RUNNER = """\
import sys, papermill, json
notebook, output, cwd, params = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
papermill.execute_notebook(notebook, output, parameters=params, cwd=cwd, kernel_name="python3",
                           progress_bar=False, execution_timeout=900)
"""


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def colab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The course repository (this working tree, committed into a local repository), a
    virtual environment standing in for Colab's image, and the shared WORKDIR."""
    root = tmp_path_factory.mktemp("colab")
    repo = root / "course"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT,
                           check=True, capture_output=True, text=True).stdout.split("\n")
    for name in filter(None, files):
        if (REPO_ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, repo / name)
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "course", cwd=repo)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   capture_output=True)  # pip and setuptools: the image's, below
    site = next((venv / "lib").glob("python*/site-packages"))
    # Colab's preinstalled packages: this environment's, as a plain path (its editable install
    # of this checkout is a .pth finder there, which a plain path does not activate).
    (site / "colab_image.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"root": root, "repo": repo, "python": venv / "bin" / "python",
            "workdir": root / "drive" / "actionlab"}


def _run(colab: dict[str, Path], notebook: str, params: dict[str, object],
         extra_env: dict[str, str] | None = None) -> str:
    """Release ``notebook`` with the repository's URL, run it in a new process and an empty
    folder, and return the text of all its outputs."""
    source = REPO_ROOT / notebook
    machine = colab["root"] / source.stem  # a new Colab VM: its own /content
    released = machine / "released" / source.parent.name / source.name
    released.parent.mkdir(parents=True)
    shutil.copy2(source, released)
    write_cell(released, colab["repo"].as_uri(), "HEAD")
    content = machine / "content"
    content.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ACTIONLAB_WORKDIR")}
    env |= {"PYTHONPATH": str(STUB), "ACTIONLAB_CLONE_DIR": str(content / "actionlab"),
            "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1",
            "COLAB_STUB_LOG": str(colab["root"] / "colab_calls.jsonl"), **(extra_env or {})}
    out = machine / "executed.ipynb"
    params = {"WORKDIR": str(colab["workdir"]), **smoke_parameters(source), **params}
    done = subprocess.run([str(colab["python"]), "-c", RUNNER, str(released), str(out),
                           str(content), json.dumps(params)], env=env, cwd=content,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", ""))
            text += [str(v) for v in output.get("data", {}).values()]
    return "\n".join(text)


def test_lab2_notebooks_share_the_run_through_workdir_only(colab: dict[str, Path]) -> None:
    first = _run(colab, "lab2_finetune/01_finetune_head.ipynb", {"DATA": "synthetic"})
    assert "installing the lab2 extra" in first and "imports of lab2 checked" in first
    assert "NO GPU" in first and "T4" in first  # the runtime without GPU says so
    second = _run(colab, "lab2_finetune/02_thresholds_and_errors.ipynb", {"DATA": "synthetic"})
    run_dir = colab["workdir"].resolve() / "runs" / "lab2_finetune"
    assert f"Used the run of notebook 2.1: {run_dir}" in second
    clones = [colab["root"] / name / "content" / "actionlab" / "utils" for name in
              ("01_finetune_head", "02_thresholds_and_errors")]
    assert all(c.is_dir() for c in clones)  # each VM cloned the code itself


def test_lab3_receives_the_alerts_upload_and_uses_real_data(colab: dict[str, Path]) -> None:
    upload = write_synthetic_alerts(colab["root"] / "upload" / "alerts.csv", seed=3, n_rows=20000)
    text = _run(colab, "lab3_thresholds/01_curves_and_uniformity.ipynb", {"DATA": "auto"},
                {"COLAB_STUB_UPLOAD": str(upload)})
    target = colab["workdir"].resolve() / "data" / "alerts" / "alerts.csv"
    assert target.read_bytes() == upload.read_bytes()
    assert f"Real data: {target}" in text and "SYNTHETIC DATA" not in text
    calls = [json.loads(line) for line in
             (colab["root"] / "colab_calls.jsonl").read_text().splitlines()]
    assert [c["files"] for c in calls if c["call"] == "files.upload"] == [["alerts.csv"]]


def test_the_setup_cell_is_safe_to_run_twice(colab: dict[str, Path]) -> None:
    """The same cell run twice in one session: the second run updates the clone and installs
    again, and lands in the lab folder both times."""
    from utils.course.setup_cell import cell_source

    cell = cell_source("lab3_thresholds", colab["repo"].as_uri(), "HEAD")
    content = colab["root"] / "twice"
    content.mkdir()
    script = content / "cell.py"
    script.write_text(f"{cell}\nimport os\nprint('cwd', os.getcwd())\n" * 2)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ACTIONLAB_WORKDIR")}
    env |= {"PYTHONPATH": str(STUB), "ACTIONLAB_CLONE_DIR": str(content / "actionlab"),
            "PIP_NO_BUILD_ISOLATION": "0", "PIP_NO_INDEX": "1"}
    done = subprocess.run([str(colab["python"]), str(script)], env=env, cwd=content,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lab = content / "actionlab" / "lab3_thresholds"
    assert done.stdout.count("imports of lab3 checked") == 2
    assert done.stdout.count(f"cwd {lab}") == 2
