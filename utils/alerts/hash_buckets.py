"""The duplicate check of a dataset on Dask: row hashes in bucket files on a scratch folder.

Each partition's task writes its rows' (hash, row label) pairs to one file, ordered by bucket
(hash modulo the number of buckets) behind a header of the buckets' offsets; then one task per
bucket reads its slice of every file and looks for repeats there (equal rows have equal hashes,
so they share a bucket). A task holds one partition's hashes or one bucket's (about
:data:`BUCKET_ROWS` rows, 16 bytes each), whatever the table's size: the files wait on disk, not
in the workers' memory as a shuffle's shards do (measured: ``benchmarks/bench_scale.py``). The
folder must be one every worker reaches (``--scratch``: a path or an fsspec URL); fsspec comes
with Dask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.summaries import first_duplicates

# rows of one bucket: 16 MB of hashes, about what one partition's rows take
BUCKET_ROWS = 1_000_000
RECORD = np.dtype([("h", "<u8"), ("row", "<i8")])
OFFSET = np.dtype("<i8")  # the header: buckets + 1 record offsets


def bucket_count(rows: int) -> int:
    """Buckets for a table of ``rows`` rows: about :data:`BUCKET_ROWS` rows each, at least one."""
    return max(1, -(-rows // BUCKET_ROWS))


def file_system(url: str) -> tuple[Any, str]:
    """(fsspec file system, path inside it) of a local path or URL."""
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def make_folder(url: str) -> None:
    """Create the folder ``url`` (object stores have none: nothing to do there)."""
    fs, path = file_system(url)
    fs.makedirs(path, exist_ok=True)


def part_url(folder: str, number: int) -> str:
    """The file of partition ``number`` in the scratch folder ``folder``."""
    return f"{folder}/part-{number:06d}.bin"


def write_hashes(hashes: pd.DataFrame, buckets: int, url: str) -> int:
    """Write one partition's :func:`utils.alerts.summaries.row_hashes` to ``url`` (staged under
    another name, then moved into place); returns its row count."""
    h = hashes["h"].to_numpy(np.uint64)
    bucket = (h % np.uint64(buckets)).astype(np.int64)
    order = np.argsort(bucket, kind="stable")
    records = np.empty(len(h), RECORD)
    records["h"] = h[order]
    records["row"] = hashes["row"].to_numpy(np.int64)[order]
    header = np.zeros(buckets + 1, OFFSET)
    np.cumsum(np.bincount(bucket, minlength=buckets), out=header[1:])
    fs, path = file_system(url)
    fs.pipe_file(path + ".partial", header.tobytes() + records.tobytes())
    fs.mv(path + ".partial", path)
    return len(h)


def read_bucket(urls: Sequence[str], bucket: int, buckets: int) -> pd.DataFrame:
    """Bucket ``bucket``'s (hash, row) pairs from every file written by :func:`write_hashes`."""
    header = (buckets + 1) * OFFSET.itemsize
    pieces = []
    for url in urls:
        fs, path = file_system(url)
        lo, hi = np.frombuffer(fs.cat_file(path, start=bucket * OFFSET.itemsize,
                                           end=(bucket + 2) * OFFSET.itemsize), OFFSET)
        if hi > lo:
            pieces.append(np.frombuffer(fs.cat_file(path, start=header + int(lo) * RECORD.itemsize,
                                                    end=header + int(hi) * RECORD.itemsize),
                                        RECORD))
    records = np.concatenate(pieces) if pieces else np.zeros(0, RECORD)
    return pd.DataFrame({"h": records["h"], "row": records["row"]})


def bucket_duplicates(folder: str, files: int, bucket: int, buckets: int, _written: int
                      ) -> tuple[int, list[int]]:
    """:func:`utils.alerts.summaries.first_duplicates` of one bucket of the ``files`` files in
    ``folder`` (``_written``: the rows they hold, so the task runs after the writers)."""
    return first_duplicates(read_bucket([part_url(folder, i) for i in range(files)], bucket,
                                        buckets))


def remove(url: str) -> None:
    """Delete the scratch folder ``url`` and what it holds (nothing if it is gone)."""
    fs, path = file_system(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)
