"""One time limit per notebook for nbgrader's execution (its own ``Execute.timeout`` is per cell).

A submission that loops, or runs a lab at full size, must not hold the class's grading: each cell
may take what is left of the notebook's budget; the cell running when it ends is interrupted and
every later cell is marked as not run, both with a ``CellTimeoutError`` output, which
:func:`timed_out` finds in the autograded notebook. Cells that ran keep their points.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer

TIMEOUT_ERROR = "CellTimeoutError"


class NotebookTimeLimit(Execute):
    """nbgrader's ``Execute`` with ``seconds`` for the whole notebook."""

    seconds = Integer(1800, help="seconds allowed for the whole notebook").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        self._deadline = time.monotonic() + self.seconds
        self.timeout_func = self._left
        return super().preprocess(nb, resources, km)

    def _left(self, cell: NotebookNode) -> int:
        return max(1, math.ceil(self._deadline - time.monotonic()))

    def preprocess_cell(self, cell: NotebookNode, resources: Any,
                        index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type == "code" and time.monotonic() >= self._deadline:
            cell.outputs = [nbformat.v4.new_output(
                "error", ename=TIMEOUT_ERROR,
                evalue=f"not run: the notebook's time limit ({self.seconds} s) was reached",
                traceback=[])]
            return cell, resources
        return super().preprocess_cell(cell, resources, index)


def timed_out(notebook: Path) -> str | None:
    """Which cell of an executed notebook the time limit stopped first ("cell 3 (ex1_test)"),
    else None."""
    nb = nbformat.read(notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(
                o.output_type == "error" and o.get("ename") == TIMEOUT_ERROR
                for o in cell.outputs):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            return f"cell {i}" + (f" ({grade_id})" if grade_id else "")
    return None
