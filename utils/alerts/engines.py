"""``--engine local|dask``: which :class:`utils.alerts.summaries.Runner` runs the partition
functions. Dask is imported only when asked for (the ``scale`` extra is optional)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from utils.alerts.summaries import LocalRunner, Runner
from utils.errors import InputError

ENGINES = ("local", "dask")


def check_engine(engine: str, scheduler: str | None) -> None:
    """Refuse an unknown engine, or a scheduler without the Dask engine, before any work."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "local" and scheduler is not None:
        raise InputError("--scheduler needs --engine dask")


def on_dask(source: str | Path, engine: str, scheduler: str | None) -> bool:
    """Whether the Dask engine runs: ``--engine dask`` on a Parquet dataset. Any other source
    is one partition, read in this process by either engine."""
    from utils.alerts.dataset import is_dataset

    check_engine(engine, scheduler)
    return engine == "dask" and is_dataset(source)


@contextmanager
def engine_runner(engine: str = "local", scheduler: str | None = None) -> Iterator[Runner]:
    """The runner of ``--engine`` (``dask``: on the cluster at ``scheduler``, else on a
    LocalCluster that lives as long as the ``with`` block)."""
    check_engine(engine, scheduler)
    if engine == "local":
        yield LocalRunner()
        return
    from utils.alerts.dask_engine import DaskRunner, dask_client

    with dask_client(scheduler) as client:
        yield DaskRunner(client)
