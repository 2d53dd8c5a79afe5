"""Find and execute the lab notebooks (papermill conventions).

Every lab notebook has a first code cell tagged ``parameters``. Its test-size values live in the
notebook's own metadata (``metadata.actionlab.test_parameters``), so the test suite and
``actionlab labs run --smoke`` execute notebooks added later without any edit here.
"""

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from utils.paths import REPO_ROOT


@dataclass(frozen=True)
class LabRun:
    notebook: Path
    output: Path
    seconds: float


def discover(root: Path = REPO_ROOT) -> list[Path]:
    """Every lab notebook, in course order (lab folder, then file name)."""
    return sorted(p for p in root.glob("lab*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """The names and default values assigned in the cell tagged ``parameters``, as papermill
    reads them (``papermill.inspect_notebook``); a default that is not a literal is None."""
    import papermill

    nb = nbformat.read(notebook, as_version=4)
    if not any(cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", [])
               for cell in nb.cells):
        raise ValueError(f"{notebook} has no code cell tagged 'parameters'")
    values: dict[str, Any] = {}
    for name, spec in papermill.inspect_notebook(str(notebook)).items():
        try:
            values[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError):
            values[name] = None
    return values


def smoke_parameters(notebook: Path) -> dict[str, Any]:
    """Small sizes for a quick run, as stored by the notebook's author in its metadata."""
    nb = nbformat.read(notebook, as_version=4)
    return dict(nb.metadata.get("actionlab", {}).get("test_parameters", {}))


def run_notebook(
    notebook: Path, output: Path, parameters: dict[str, Any] | None = None, timeout: int = 1800,
    *, progress: bool = False,
) -> LabRun:
    """Execute ``notebook`` into ``output``; only parameters the notebook declares are passed.

    The kernel runs in the notebook's folder with the repository on ``PYTHONPATH`` so ``utils``
    imports from this checkout even when another copy is installed. ``progress``: papermill's
    own bar, one step per cell (a long notebook is otherwise silent for minutes).
    """
    import papermill

    declared = declared_parameters(notebook)
    params = {k: v for k, v in (parameters or {}).items() if k in declared}
    output.parent.mkdir(parents=True, exist_ok=True)
    root = str(REPO_ROOT)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = root if not old else f"{root}{os.pathsep}{old}"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=params, cwd=str(notebook.parent),
            kernel_name="python3", language="python", progress_bar=progress,
            execution_timeout=timeout,
        )
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    return LabRun(notebook, output, time.perf_counter() - start)


def lab_name(notebook: Path) -> str:
    return f"{notebook.parent.name}/{notebook.name}"


def run_all(out_dir: Path, smoke: bool = False, data: str = "auto", *,
            root: Path = REPO_ROOT) -> list[LabRun]:
    """Run every lab (of ``root``) in order; each writes its figures and JSON under
    ``out_dir/<lab>/<name>``. Prints which notebook runs ("[2/10] lab1_pretrained/...") with
    papermill's cell bar under it, then its time."""
    from utils.io import make_folder

    make_folder(out_dir)  # a file in the way or no permission: one line, before any notebook
    notebooks = discover(root)
    runs = []
    for i, nb in enumerate(notebooks, 1):
        lab_out = out_dir / nb.parent.name / nb.stem
        params: dict[str, Any] = {"DATA": "synthetic" if smoke else data,
                                  "OUTPUT_DIR": str(lab_out)}
        if smoke:
            params |= smoke_parameters(nb)
        print(f"[{i}/{len(notebooks)}] {lab_name(nb)}", flush=True)
        runs.append(run_notebook(nb, lab_out / nb.name, params, progress=True))
        print(f"[{i}/{len(notebooks)}] {lab_name(nb)}: {runs[-1].seconds:.0f} s", flush=True)
    return runs
