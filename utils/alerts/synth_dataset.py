"""Synthetic alerts at production scale: a hive-partitioned Parquet dataset written in chunks.

``actionlab data synth alerts --rows N --cameras C --partition-by store|month --out DIR``.
Rows are generated camera after camera, ``chunk_rows`` at a time (never the whole table in
memory); each chunk is written as one file per partition value (``store=00042/part-00003.parquet``
or ``month=2023-03/part-00003.parquet``), so a camera with many rows, or partitioned by month,
spans several files. Cameras follow the model of :mod:`utils.alerts.synth` (per-camera volume,
theft rate, ROC-AUC and calibration; a few rows without a probability, a few negative ones); two
cameras per store, CAMERA_IDs 1 and 2, store codes numeric-looking text (``00042``). The same
arguments give the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.synth import draw_labels, separation, squash, times
from utils.errors import InputError
from utils.io import staged_folder, write_json

PARTITION_BY = ("store", "month")
MARKER = "_synth.json"  # starts with "_": Parquet dataset readers skip it
MISSING_RATE = 0.014  # rows without a probability, as in the known copy (2,199 of 158,136)
NEGATIVE_RATE = 3e-5


def _camera_table(rng: np.random.Generator, rows: int, cameras: int) -> dict[str, np.ndarray]:
    volume = rng.lognormal(0.0, 1.0, cameras)
    share = rows * volume / volume.sum()
    counts = np.maximum(np.floor(share).astype(np.int64), 1)
    counts[np.argmax(counts)] += rows - counts.sum()  # exact total (largest camera absorbs it)
    rate = np.where(rng.random(cameras) < 0.13, 0.0, rng.beta(1.2, 90.0, cameras))
    auc = 0.1 + 0.8 * rng.beta(5.0, 2.5, cameras)
    return {"rows": counts, "rate": rate, "d": separation(auc),
            "offset": rng.normal(-1.2, 0.6, cameras), "slope": rng.uniform(0.8, 1.6, cameras)}


def _chunk(rng: np.random.Generator, cam: np.ndarray, table: dict[str, np.ndarray]
           ) -> pd.DataFrame:
    n = len(cam)
    theft = rng.random(n) < table["rate"][cam]
    z = rng.standard_normal(n) + np.where(theft, table["d"][cam], 0.0)
    probability = squash(z, table["offset"][cam], table["slope"][cam])
    negative = ~theft & (rng.random(n) < NEGATIVE_RATE)
    probability[negative] = -np.round(rng.uniform(0.001, 0.2, int(negative.sum())), 6)
    probability[rng.random(n) < MISSING_RATE] = np.nan
    start, end = times(rng, n)
    store = pd.Series(cam // 2).map("{:05d}".format)
    camera_id = pd.Series(cam % 2 + 1).astype(str)
    video_name = (start + "_to_" + end + "_camera_" + camera_id + "_ip_10.0."
                  + (cam // 2 % 250).astype(str) + "." + camera_id + "_port_80.mp4")
    return pd.DataFrame({"store": store, "video_name": video_name,
                         "label": draw_labels(rng, theft), "probability": probability,
                         "month": start.str.slice(0, 7)})


def write_partitioned_alerts(out: str | Path, *, rows: int, cameras: int,
                             partition_by: str = "month", seed: int = 0,
                             chunk_rows: int = 500_000, progress: bool = False
                             ) -> dict[str, Any]:
    """Write the dataset into ``out`` (replaced whole, only if empty or an earlier dataset of
    this writer) and return what was written (rows, cameras, files, partition_by, seed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from utils.alerts.progress import progress_bar

    if partition_by not in PARTITION_BY:
        raise InputError(f"--partition-by must be one of {', '.join(PARTITION_BY)}, "
                         f"got {partition_by!r}")
    for name, value in (("--cameras", cameras), ("--chunk-rows", chunk_rows)):
        if value < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    if rows < cameras:
        raise InputError(f"--rows ({rows}) must be at least --cameras ({cameras}): every camera "
                         "has a row")
    if seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    table = _camera_table(np.random.default_rng([seed, 0]), rows, cameras)
    ends = np.cumsum(table["rows"])
    files = 0
    with staged_folder(out, owned_marker=MARKER) as folder:
        starts = range(0, rows, chunk_rows)
        for number, first in enumerate(progress_bar(starts, desc="synthetic alerts",
                                                    unit="chunk", disable=not progress)):
            row = np.arange(first, min(first + chunk_rows, rows))
            cam = np.searchsorted(ends, row, side="right")
            frame = _chunk(np.random.default_rng([seed, 1, number]), cam, table)
            for value, part in frame.groupby(partition_by, sort=True):
                where = folder / f"{partition_by}={value}"
                where.mkdir(exist_ok=True)
                columns = [c for c in ("store", "video_name", "label", "probability")
                           if c != partition_by]
                pq.write_table(pa.Table.from_pandas(part[columns], preserve_index=False),
                               where / f"part-{number:05d}.parquet")
                files += 1
        written = {"rows": rows, "cameras": cameras, "partition_by": partition_by,
                   "seed": seed, "chunk_rows": chunk_rows, "files": files}
        write_json(written, folder / MARKER)
    return written
