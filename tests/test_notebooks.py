"""Execute every lab notebook with its small test parameters; any cell error fails the test.

Notebooks are discovered, so a new lab notebook is tested without editing this file. The run is
shared with the autograding tests (``tests/conftest.py``), which grade these same outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Executed

from utils.labs import discover

NOTEBOOKS = discover()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]


@pytest.mark.notebook
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_executes(notebook: Path,
                           executed_notebook: Callable[[Path], Executed]) -> None:
    run = executed_notebook(notebook)
    assert run.notebook.exists()
    # Every lab writes its key numbers to a JSON file next to its figures.
    assert list(run.out_dir.rglob("*.json")), f"{notebook.name} wrote no JSON into OUTPUT_DIR"
