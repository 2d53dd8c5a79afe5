"""``--engine local|dask``: which :class:`utils.alerts.summaries.Runner` runs the partition
functions. Dask is imported only when asked for (the ``scale`` extra is optional)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from utils.alerts.summaries import LocalRunner, Runner
from utils.errors import InputError

ENGINES = ("local", "dask")


def check_engine(engine: str, scheduler: str | None, scratch: str | None = None) -> None:
    """Refuse an unknown engine, or a scheduler or scratch folder without the Dask engine,
    before any work."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    for flag, value in (("--scheduler", scheduler), ("--scratch", scratch)):
        if engine == "local" and value is not None:
            raise InputError(f"{flag} needs --engine dask")


def on_dask(source: str | Path, engine: str, scheduler: str | None,
            scratch: str | None = None) -> bool:
    """Whether the Dask engine runs: ``--engine dask`` on a Parquet dataset. Any other source
    is one partition, read in this process by either engine."""
    from utils.alerts.dataset import is_dataset

    check_engine(engine, scheduler, scratch)
    return engine == "dask" and is_dataset(source)


@contextmanager
def engine_runner(engine: str = "local", scheduler: str | None = None,
                  scratch: str | None = None) -> Iterator[Runner]:
    """The runner of ``--engine`` (``dask``: on the cluster at ``scheduler``, else on a
    LocalCluster that lives as long as the ``with`` block; its duplicate check writes under
    ``scratch``, by default a temporary folder of this machine)."""
    check_engine(engine, scheduler, scratch)
    if engine == "local":
        yield LocalRunner()
        return
    from utils.alerts.dask_engine import DaskRunner, dask_client, scratch_folder

    with dask_client(scheduler) as client, scratch_folder(client, scratch, scheduler) as folder:
        yield DaskRunner(client, folder)
