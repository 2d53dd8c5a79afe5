"""Notebooks run as a fresh Colab would run them: released with a repository URL (a local git
repository holding this working tree), each in its own process and empty ``/content``-like
folder, with a stub ``google.colab`` (tests/colab_stub) and nothing shared but WORKDIR.

The setup cell really fetches the code and really runs ``pip install --no-deps -e`` plus the lab's
extra, into a throwaway virtual environment that sees this environment's packages (a ``.pth``
line), so the shared environment is never touched and nothing is downloaded from the internet.
Every remote file comes from a mirror on 127.0.0.1 (``ACTIONLAB_MIRROR``, tests/mirror_server.py)
in its real layout: a tiny CVDF Kinetics archive + val.csv, Kaggle's DCSASS zip and the tsm_r50
checkpoint. With ``DATA="auto"`` each notebook reaches real-data mode (no stand-in banner): 1.1
downloads the Kinetics sample and benchmarks tsm_r50 with its checkpoint (tsn_r50, whose hosts all
answer 404, is left out with the reason), 2.1 downloads DCSASS and 2.2 uses 2.1's run, lab 3
receives its alerts CSV through the stub upload dialog.

Each notebook is its own Colab VM (process, empty folder, torch hub cache); the throwaway virtual
environment standing in for Colab's image is made once per module: every setup cell still
clones and ``pip install``s into it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from mirror_server import (
    MirrorServer,
    serving,
    write_checkpoint,
    write_cvdf_kinetics,
    write_kaggle_dcsass,
)

from utils.alerts.synth import write_synthetic_alerts
from utils.course.setup_cell import write_cell
from utils.datasets.kinetics import parse_clip_name
from utils.datasets.synth import ClipSize
from utils.labs import smoke_parameters
from utils.models import get_weights
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


@pytest.fixture(scope="module")
def colab_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    """The remote files of labs 1-2, tiny, on a mirror of their own (sizes of this simulation)."""
    with serving(tmp_path_factory.mktemp("colab_mirror")) as mirror:
        write_cvdf_kinetics(mirror.root, classes=3, clips_per_class=2, parts=1)
        write_kaggle_dcsass(mirror.root, videos=8, clips_per_video=8, others=["Stealing"],
                            size=ClipSize(height=64, width=80, frames=32))
        write_checkpoint(mirror.root, "tsm_r50")  # x3d's fixed head pool needs full size
        yield mirror


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
            "TORCH_HOME": str(machine / "torch"),
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


def _setup_seconds(notebook: str, colab: dict[str, Path]) -> float:
    """How long the executed setup cell of ``notebook`` took (papermill's cell timing)."""
    nb = nbformat.read(colab["root"] / Path(notebook).stem / "executed.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "colab-setup" in c.metadata.get("tags", []))
    return float(cell.metadata["papermill"]["duration"])


def test_lab1_benchmark_downloads_the_sample_and_leaves_out_a_missing_checkpoint(
    colab: dict[str, Path], colab_mirror: MirrorServer
) -> None:
    notebook = "lab1_pretrained/01_pretrained_benchmark.ipynb"
    text = _run(colab, notebook, {"DATA": "auto", "WEIGHTS": "auto",
                                  "MODELS": ["tsm_r50", "tsn_r50"]},
                {"ACTIONLAB_MIRROR": colab_mirror.url})
    sample = colab["workdir"].resolve() / "data" / "kinetics_sample"
    assert f"Real data: {sample} (fetched into WORKDIR" in text and "SYNTHETIC DATA" not in text
    labels = [parse_clip_name(p.name).label for p in sample.glob("*.mp4")]
    assert len(labels) == len(set(labels)) == 3  # one clip of each class of the mirrored val.csv
    key = json.loads((colab["workdir"] / "outputs" / "lab1_pretrained" /
                      "01_pretrained_benchmark" / "key_numbers.json").read_text())
    assert key["data"]["synthetic"] is False and key["findings"] is True
    assert key["weights"] == key["mistakes_weights"] == "default"
    assert [m["model"] for m in key["benchmark"]["models"]] == ["tsm_r50"]
    assert list(key["left_out"]) == ["tsn_r50"] and "404" in key["left_out"]["tsn_r50"]
    assert "left out, why" in text and "tsn_r50" in text  # shown, with the reason
    assert (colab["root"] / "01_pretrained_benchmark" / "torch" / "hub" / "checkpoints" /
            get_weights("tsm_r50").filename).is_file()  # from the mirror, into this VM's cache
    print(f"setup cell of 1.1: {_setup_seconds(notebook, colab):.1f} s")


def test_lab2_notebooks_share_the_run_through_workdir_only(
    colab: dict[str, Path], colab_mirror: MirrorServer
) -> None:
    mirror = {"ACTIONLAB_MIRROR": colab_mirror.url}
    first = _run(colab, "lab2_finetune/01_finetune_head.ipynb", {"DATA": "auto"}, mirror)
    assert "installing the lab2 extra" in first and "imports of lab2 checked" in first
    assert "NO GPU" in first and "T4" in first  # the runtime without GPU says so
    dcsass = colab["workdir"].resolve() / "data" / "dcsass"
    assert f"Real data: {dcsass} (fetched into WORKDIR" in first
    assert "SYNTHETIC DATA" not in first
    second = _run(colab, "lab2_finetune/02_thresholds_and_errors.ipynb", {"DATA": "auto"}, mirror)
    assert f"Real data: {dcsass} (found in WORKDIR)" in second and "SYNTHETIC DATA" not in second
    run_dir = colab["workdir"].resolve() / "runs" / "lab2_finetune"
    assert f"Used the run of notebook 2.1: {run_dir}" in second
    print("setup cells of 2.1, 2.2: " + ", ".join(
        f"{_setup_seconds(nb, colab):.1f} s" for nb in
        ("lab2_finetune/01_finetune_head.ipynb", "lab2_finetune/02_thresholds_and_errors.ipynb")))
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
