"""Execute every lab notebook with its small test parameters; any cell error fails the test.

Notebooks are discovered, so a new lab notebook is tested without editing this file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utils.labs import discover, run_notebook, smoke_parameters

NOTEBOOKS = discover()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_executes(notebook: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    params = {"DATA": "synthetic", "OUTPUT_DIR": str(out_dir), **smoke_parameters(notebook)}
    run = run_notebook(notebook, tmp_path / notebook.name, params)
    assert run.output.exists()
    # Every lab writes its key numbers to a JSON file next to its figures.
    assert list(out_dir.rglob("*.json")), f"{notebook.name} wrote no JSON result into OUTPUT_DIR"
