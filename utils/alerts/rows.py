"""The kept rows of a source, reduced to what the row-level analyses read, on either engine.

``alerts report`` (Q2: bootstrap intervals and a permutation test that resample rows) and
``alerts monitor`` (KS and PSI of every camera-week's scores) need every kept row, not a
per-camera summary. On Dask the partitions are validated and reduced to these columns on the
workers (cameras as categories: about 13 bytes a row, against the whole table's frame for the
local engine), then gathered in row order, so the analyses run unchanged and give the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from utils.alerts.dataset import Partition, read_partition
from utils.alerts.engines import engine_runner, on_dask
from utils.alerts.summaries import KEY
from utils.alerts.validate import prepare

if TYPE_CHECKING:
    from utils.alerts.validate import ValidationReport

ANALYSIS_COLUMNS = [*KEY, "probability", "is_theft"]


def kept_rows(source: str | Path, part: Partition, dated: bool) -> tuple[pd.DataFrame, int]:
    """The kept rows of one partition, only :data:`ANALYSIS_COLUMNS`, cameras as categories.
    ``dated``: with ``day`` and ``week`` (:func:`utils.alerts.weeks.with_dates`), rows without a
    start time removed and counted."""
    from utils.alerts.sources import display_source
    from utils.alerts.weeks import with_dates

    clean, _ = prepare(read_partition(source, part), source=display_source(source))
    undated = 0
    if dated:
        clean, undated = with_dates(clean)
    rows = clean.loc[:, ANALYSIS_COLUMNS + (["day", "week"] if dated else [])]
    return rows.astype({"store": "category", "camera": "category"}), undated


def merge_kept_rows(parts: Sequence[tuple[pd.DataFrame, int]]) -> tuple[pd.DataFrame, int]:
    """Consecutive partitions' :func:`kept_rows` as one frame in row order (categories sorted,
    so cameras group in the order of the whole-table frame)."""
    from pandas.api.types import union_categoricals

    frames = [f for f, _ in parts]
    merged = pd.concat([f.drop(columns=KEY) for f in frames])
    for col in KEY:
        merged.insert(KEY.index(col), col, pd.Categorical(union_categoricals(
            [f[col] for f in frames], sort_categories=True)))
    return merged, sum(n for _, n in parts)


def analysis_rows(source: str | Path, *, table: str = "alerts", engine: str = "local",
                  scheduler: str | None = None, scratch: str | None = None,
                  dated: bool = False) -> tuple[pd.DataFrame, ValidationReport, int]:
    """The kept rows ``report`` and ``monitor`` analyse (the whole clean frame on the local
    engine, :func:`kept_rows` gathered on Dask), the validation report and, with ``dated``, the
    number of rows left out for want of a start time."""
    from utils.alerts.validate import load_alerts
    from utils.alerts.weeks import with_dates

    if on_dask(source, engine, scheduler, scratch):
        from utils.alerts.dataset import partitions
        from utils.alerts.summaries import dataset_report

        with engine_runner("dask", scheduler, scratch) as runner:
            report = dataset_report(source, runner)
            rows, undated = runner.map_merge(kept_rows, merge_kept_rows, source,
                                             partitions(source), dated)
        return rows, report, undated
    clean, report = load_alerts(source, table=table)
    if dated:
        clean, undated = with_dates(clean)
        return clean, report, undated
    return clean, report, 0
