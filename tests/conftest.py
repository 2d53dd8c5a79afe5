"""Shared fixtures. Executing a lab notebook is the most expensive thing the suite does, so each
notebook is executed once per session (synthetic data, its small test parameters) and every test
that needs the executed notebook reads that one run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from mirror_server import mirror, mirror_server  # noqa: F401  (fixtures: a local ACTIONLAB_MIRROR)

from utils.labs import run_notebook, smoke_parameters


@dataclass(frozen=True)
class Executed:
    notebook: Path  # the executed copy (outputs included)
    out_dir: Path  # its OUTPUT_DIR


@pytest.fixture(scope="session")
def executed_notebook(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Executed]:
    """``executed_notebook(path)`` runs the lab notebook at ``path`` the first time it is asked
    for and returns the same run afterwards; a failing cell raises in the test that asked."""
    runs: dict[Path, Executed] = {}
    # One WORKDIR for the session, as on Colab with Drive: 2.2 and 2.3 reuse 2.1's run.
    workdir = tmp_path_factory.mktemp("workdir")

    def run(notebook: Path) -> Executed:
        if notebook not in runs:
            folder = tmp_path_factory.mktemp(f"{notebook.parent.name}-{notebook.stem}")
            out_dir = folder / "out"
            params = {"DATA": "synthetic", "OUTPUT_DIR": str(out_dir), "WORKDIR": str(workdir),
                      **smoke_parameters(notebook)}
            result = run_notebook(notebook, folder / notebook.name, params)
            runs[notebook] = Executed(result.output, out_dir)
        return runs[notebook]

    return run


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """Address of one small Dask cluster per test module (starting one costs seconds): workers
    are threads of this process, reached over TCP like a real ``--scheduler``. Not kept for the
    session: its connections take ephemeral ports, and a notebook kernel started later in the
    session once found the port it had picked taken ("Address already in use")."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", dashboard_address=None) as cluster:
        yield cluster.scheduler_address
