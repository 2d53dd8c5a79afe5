"""What a lab's Colab setup cell does once the course code is cloned: install and check it.

The generated cell (:mod:`utils.course.setup_cell`) clones the repository and calls
:func:`setup`; this module therefore imports only the standard library (nothing of the course's
requirements is installed yet when it runs). Every failing step raises ``SetupError`` saying what
failed and what to do, which stops the notebook there instead of at a confusing later import.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# Colab's own builds (CUDA-matched); a lab extra never replaces them.
KEEP = ("torch", "torchvision", "torchaudio")
# Modules each lab's notebooks need; importing them checks the install.
CHECKS = {
    "lab1": ("utils.models", "utils.bench.run", "utils.deploy.live", "utils.deploy.export",
             "utils.deploy.detect"),
    "lab2": ("utils.models", "utils.finetune.run", "utils.datasets.dcsass", "utils.deploy.live"),
    "lab3": ("utils.alerts.curves", "utils.alerts.planning", "utils.metrics"),
}
GPU_LABS = ("lab1", "lab2")
SLOW = {"lab1": "the benchmark and the live demo will be 10-50x slower",
        "lab2": "feature extraction (once per backbone) will be 10-50x slower"}


class SetupError(RuntimeError):
    """A setup step failed; the message says which and what to do."""


def extra_requirements(pyproject: Path, extra: str) -> list[str]:
    """The requirements of optional extra ``extra`` of ``pyproject``, with the extras it names
    of the project itself (``actionlab[video]``) expanded, in order, without duplicates."""
    import tomllib

    project = tomllib.loads(Path(pyproject).read_text())["project"]
    extras = project.get("optional-dependencies", {})
    if extra not in extras:
        raise SetupError(f"{pyproject} has no extra {extra!r} (it has {sorted(extras)})")
    own = re.compile(rf"^{re.escape(project['name'])}\[([^\]]+)\]$")
    found: list[str] = []
    for requirement in extras[extra]:
        match = own.match(requirement.replace(" ", ""))
        names = ([r for e in match.group(1).split(",") for r in extra_requirements(pyproject, e)]
                 if match else [requirement])
        found += [r for r in names if r not in found]
    return found


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (``opencv-python>=4.8``)."""
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _run(what: str, command: list[str], fix: str, *, show: tuple[str, ...] = ()) -> None:
    """Run ``command``; lines starting with ``show`` are printed as progress; on failure, the
    last lines of its output and ``fix`` are raised."""
    print(f"... {what}", flush=True)
    began = time.perf_counter()
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith(show) and show:
                print("    " + line.rstrip(), flush=True)
    if process.returncode:
        tail = "\n".join(lines[-15:])
        raise SetupError(f"Colab setup stopped: {what} failed (exit {process.returncode}):\n"
                         f"{tail}\nWhat to do: {fix}")
    print(f"    done in {time.perf_counter() - began:.0f} s", flush=True)


def install(repo: Path, extra: str) -> list[str]:
    """``pip install --no-deps -e repo`` (the package without requirements.txt), then the
    requirements of ``extra`` except Colab's torch; returns what was asked of pip."""
    retry = "run this cell again; if it fails twice, Runtime > Disconnect and delete runtime."
    _run("installing the course package (pip install --no-deps -e)",
         [sys.executable, "-m", "pip", "install", "--no-deps", "-e", str(repo)], retry)
    wanted = [r for r in extra_requirements(repo / "pyproject.toml", extra)
              if requirement_name(r) not in KEEP]
    _run(f"installing the {extra} extra ({len(wanted)} requirements; Colab's torch is kept)",
         [sys.executable, "-m", "pip", "install", "--progress-bar", "off", *wanted], retry,
         show=("Collecting", "Installing", "Successfully"))
    return wanted


def check_imports(extra: str) -> None:
    """Import the modules the lab needs, so a broken install stops here, named."""
    for module in CHECKS.get(extra, ("utils",)):
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise SetupError(
                f"Colab setup stopped: `import {module}` failed after the install ({exc!r}).\n"
                "What to do: Runtime > Restart session (a package Colab had already imported "
                "was upgraded), then run the notebook from the top; if it fails again, tell "
                "your instructor with this message.") from exc
    print(f"... imports of {extra} checked", flush=True)


def setup(repo: str | Path, extra: str, lab_folder: str) -> None:
    """Install ``repo`` for ``extra``, check the imports, report the GPU (labs 1-2) and move to
    the lab folder, where the notebook's relative paths point."""
    repo = Path(repo)
    install(repo, extra)
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    check_imports(extra)
    if extra in GPU_LABS:
        from utils.settings import gpu_report

        print(gpu_report(SLOW[extra]), flush=True)
    os.chdir(repo / lab_folder)
