"""``--engine dask``: the partition functions of :mod:`utils.alerts.summaries` as Dask tasks.

Each task reads its own partition (where the workers are); the partitions' results are merged
``FAN_IN`` at a time on the workers, so neither a worker nor the driver ever holds every
partition's summary, only the merged one (its size: the cameras and their distinct theft
values). The row hashes of the duplicate check stay on the workers as a dask.dataframe,
shuffled peer-to-peer (staged on disk) into buckets of ``BUCKET_ROWS`` rows, each checked on its
own. So a worker's memory depends on the partition and bucket sizes, not on the table's. Needs
the ``scale`` extra (``pip install "actionlab[scale]"``); nothing else in ``utils`` imports Dask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pandas as pd

from utils.alerts.dataset import Partition
from utils.alerts.summaries import PartSummary, T, first_duplicates, merge_summaries, summarise
from utils.alerts.validate import EXAMPLES
from utils.errors import InputError

LOCAL_WORKERS = 2
# rows of one duplicate-check bucket: 16 MB of hashes, about what one partition's rows take
BUCKET_ROWS = 1_000_000
CONNECT_TIMEOUT = "10s"
FAN_IN = 8


def _import_dask() -> Any:
    """(dask, distributed), dask.dataframe loaded, or one line saying which extra brings them
    (the only place Dask is imported: the lab 3 extra does not need it)."""
    try:
        import dask
        import dask.dataframe
        import distributed
    except ImportError:
        raise InputError('--engine dask needs Dask: pip install "actionlab[scale]" '
                         '(or "dask[distributed]")') from None
    return dask, distributed


@contextmanager
def dask_client(scheduler: str | None = None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler`` (``tcp://host:8786``), or of a small
    LocalCluster (2 worker processes, one thread each) started and stopped here."""
    _, distributed = _import_dask()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            yield client
        return
    with distributed.LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def _tree(tasks: list[Any], merge: Callable[[Sequence[Any]], Any]) -> Any:
    """One task merging ``tasks`` (``FAN_IN`` consecutive results at a time, on the workers):
    no process ever holds more than ``FAN_IN`` partitions' results."""
    dask, _ = _import_dask()

    while len(tasks) > 1:
        tasks = [dask.delayed(merge)(tasks[i:i + FAN_IN]) for i in range(0, len(tasks), FAN_IN)]
    return tasks[0]


class DaskRunner:
    """Runs the partition functions on the cluster of ``client``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def pass_one(self, source: str | Path, parts: Sequence[Partition], store: str | None,
                 camera: str | None) -> tuple[PartSummary, tuple[int, list[int]]]:
        dask, _ = _import_dask()
        dd = dask.dataframe

        both = [dask.delayed(summarise, nout=2)(str(source), part, store, camera)
                for part in parts]
        meta = pd.DataFrame({"h": pd.Series(dtype="uint64"), "row": pd.Series(dtype="int64")})
        hashes = dd.from_delayed([h for _, h in both], meta=meta, verify_meta=False)
        # one bucket per BUCKET_ROWS rows, so a bucket's memory does not grow with the table;
        # the peer-to-peer shuffle stages the hashes on the workers' disks, not in memory
        buckets = -(-sum(p.rows for p in parts) // BUCKET_ROWS)
        if buckets > 1:
            hashes = hashes.shuffle("h", npartitions=buckets, shuffle_method="p2p")
        else:
            hashes = hashes.repartition(npartitions=1)
        checks = [dask.delayed(first_duplicates)(b) for b in hashes.to_delayed()]
        summary, found = self.client.compute(
            [_tree([s for s, _ in both], merge_summaries), _tree(checks, _merge_duplicates)],
            sync=True)
        return summary, found

    def map_merge(self, fn: Callable[..., T], merge: Callable[[Sequence[T]], T],
                  source: str | Path, parts: Sequence[Partition], *args: Any) -> T:
        dask, _ = _import_dask()

        shared = [dask.delayed(a) if not isinstance(a, (str, type(None))) else a for a in args]
        tasks = [dask.delayed(fn)(str(source), part, *shared) for part in parts]
        return cast(T, self.client.compute(_tree(tasks, merge), sync=True))


def _merge_duplicates(found: Sequence[tuple[int, list[int]]]) -> tuple[int, list[int]]:
    """Several buckets' :func:`first_duplicates` as one: counts add, the first labels stay."""
    return sum(n for n, _ in found), sorted(r for _, first in found for r in first)[:EXAMPLES]
