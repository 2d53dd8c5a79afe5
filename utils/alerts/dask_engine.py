"""``--engine dask``: the partition functions of :mod:`utils.alerts.summaries` as Dask tasks.

Each task reads its own partition (where the workers are); the partitions' results are merged
``FAN_IN`` at a time on the workers, so neither a worker nor the driver ever holds every
partition's summary, only the merged one (its size: the cameras and their distinct theft
values). The duplicate check goes through hash-bucket files on a scratch folder
(:mod:`utils.alerts.hash_buckets`), checked one bucket at a time. So a worker's memory depends on
the partition and bucket sizes, not on the table's rows; what grows with the data is the answer:
the workers merging last, and the driver, hold every camera's theft values (the curves' size).
Needs the ``scale`` extra (``pip install "actionlab[scale]"``); nothing else in ``utils`` imports
Dask.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from utils.alerts import hash_buckets
from utils.alerts.dataset import Partition
from utils.alerts.summaries import PartSummary, T, merge_summaries, summarise
from utils.alerts.validate import EXAMPLES
from utils.errors import InputError

LOCAL_WORKERS = 2
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


@contextmanager
def scratch_folder(client: Any, scratch: str | None, scheduler: str | None) -> Iterator[str]:
    """``scratch`` (a folder or fsspec URL every worker reaches), or a temporary folder of this
    machine when every worker runs here (a LocalCluster); removed after the ``with`` block.
    Without ``scratch``, workers on other machines are refused with the reason."""
    if scratch is not None:
        try:
            hash_buckets.make_folder(scratch)
        except (OSError, ValueError, ImportError) as exc:
            raise InputError(f"--scratch {scratch}: cannot use it as a folder ({exc})") from None
        yield scratch
        return
    here = socket.gethostname()
    elsewhere = sorted({h for h in client.run(socket.gethostname).values() if h != here})
    if elsewhere:
        raise InputError(f"--scheduler {scheduler}: workers run on other machines "
                         f"({', '.join(elsewhere)}); give --scratch, a folder or URL (s3://...) "
                         "they all reach, for the duplicate check")
    with tempfile.TemporaryDirectory(prefix="actionlab-scratch.") as folder:
        yield folder


class DaskRunner:
    """Runs the partition functions on the cluster of ``client``; the duplicate check's files
    go under ``scratch``."""

    def __init__(self, client: Any, scratch: str) -> None:
        self.client = client
        self.scratch = scratch

    def pass_one(self, source: str | Path, parts: Sequence[Partition], store: str | None,
                 camera: str | None) -> tuple[PartSummary, tuple[int, list[int]]]:
        dask, _ = _import_dask()

        folder = f"{self.scratch.rstrip('/')}/hashes-{uuid.uuid4().hex}"
        buckets = hash_buckets.bucket_count(sum(p.rows for p in parts))
        try:
            hash_buckets.make_folder(folder)
            both = [dask.delayed(_summarise_to, nout=2)(
                        str(source), part, store, camera, hash_buckets.part_url(folder, i),
                        buckets) for i, part in enumerate(parts)]
            written = _tree([n for _, n in both], sum)  # one key the buckets wait for
            checks = [dask.delayed(hash_buckets.bucket_duplicates)(folder, len(parts), b,
                                                                   buckets, written)
                      for b in range(buckets)]
            summary, found = self.client.compute(
                [_tree([s for s, _ in both], merge_summaries), _tree(checks, _merge_duplicates)],
                sync=True)
        finally:
            hash_buckets.remove(folder)
        return summary, found

    def map_merge(self, fn: Callable[..., T], merge: Callable[[Sequence[T]], T],
                  source: str | Path, parts: Sequence[Partition], *args: Any) -> T:
        dask, _ = _import_dask()

        shared = [dask.delayed(a) if not isinstance(a, (str, type(None))) else a for a in args]
        tasks = [dask.delayed(_partition_task)(fn, str(source), part, *shared) for part in parts]
        return cast(T, self.client.compute(_tree(tasks, merge), sync=True))


def _partition_task(fn: Callable[..., T], source: str, part: Partition, *args: Any) -> T:
    """``fn`` on one partition, then the memory Arrow freed handed back to the system: Arrow's
    allocator otherwise keeps it, and a worker's memory grew with the partitions it had read
    (measured with ``benchmarks/bench_scale.py``: about 70 MB more after 120 partitions)."""
    import pyarrow as pa

    try:
        return fn(source, part, *args)
    finally:
        pa.default_memory_pool().release_unused()


def _summarise_to(source: str, part: Partition, store: str | None, camera: str | None,
                  url: str, buckets: int) -> tuple[PartSummary, int]:
    """:func:`utils.alerts.summaries.summarise` with the row hashes written to ``url``."""
    summary, hashes = _partition_task(summarise, source, part, store, camera)
    return summary, hash_buckets.write_hashes(hashes, buckets, url)


def _merge_duplicates(found: Sequence[tuple[int, list[int]]]) -> tuple[int, list[int]]:
    """Several buckets' :func:`first_duplicates` as one: counts add, the first labels stay."""
    return sum(n for n, _ in found), sorted(r for _, first in found for r in first)[:EXAMPLES]
