"""Validation reports and camera curves of a partitioned dataset, partition by partition.

Each step is a function of one partition (run where the data lives) and an associative merge
of small results (a running total locally, a tree on Dask), so no step holds more than one
partition's rows or every partition's results; the merged results are exactly what
the whole table gives (:func:`utils.alerts.validate.prepare` and
:func:`utils.alerts.curves.camera_curves`):

* validation: counts, labels and per-camera theft counts add up; examples are the first ones in
  row order; duplicates across partitions are found by a 64-bit hash of each row's four columns,
  bucketed by hash (a collision could flag one extra row: about 1 in 3,700 runs at 10^8 rows);
* curves, in two passes: (1) each camera's theft probabilities with their counts, (2) the normal
  alerts counted between consecutive theft values. A camera's Pareto points depend on nothing
  else (each best cut sits at a theft value; muting needs the maximum), so the curves rebuilt
  from these counts equal the curves of the rows. The merged summary holds the cameras' theft
  values, not their rows.

Which engine runs the partition functions is a :class:`Runner`: here the local one (in this
process, one partition at a time); :mod:`utils.alerts.dask_engine` runs them on Dask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from utils.alerts.dataset import Partition, partitions, read_partition
from utils.alerts.schema import COLUMNS
from utils.alerts.validate import EXAMPLES, Issue, ValidationReport, label_vocabulary, prepare

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve

KEY = ["store", "camera"]
T = TypeVar("T")


@dataclass
class PartSummary:
    """What one partition contributes: its report (global row labels), per camera its kept rows
    and thefts, and its theft probabilities (alerts only) with their counts."""

    report: ValidationReport
    cameras: pd.DataFrame  # index (store, camera), sorted; columns rows, thefts
    theft_values: TheftValues


@dataclass
class TheftValues:
    """Distinct theft probabilities with their counts, ordered by camera then value: ``code``
    is the camera's position in its summary's ``cameras`` (20 bytes a value, no camera text:
    the merged summary holds every camera's values)."""

    code: np.ndarray  # int32
    probability: np.ndarray  # float64
    n: np.ndarray  # int64

    @classmethod
    def merged(cls, parts: Sequence[TheftValues], remaps: Sequence[np.ndarray]) -> TheftValues:
        """Several summaries' values with their codes mapped by ``remaps`` (old position ->
        merged position), equal (camera, value) pairs counted together."""
        code = np.concatenate([r[v.code] for v, r in zip(parts, remaps, strict=True)])
        code = code.astype(np.int32)
        p = np.concatenate([v.probability for v in parts])
        n = np.concatenate([v.n for v in parts])
        order = np.lexsort((p, code))
        code, p, n = code[order], p[order], n[order]
        starts = np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (p[1:] != p[:-1])]) \
            if len(code) else np.zeros(0, np.int64)
        return cls(code[starts], p[starts],
                   np.add.reduceat(n, starts) if len(starts) else n[:0])


@dataclass
class TheftIndex:
    """Merged pass 1: cameras in (store, camera) order; camera i's distinct theft values are
    ``values[offsets[i]:offsets[i + 1]]`` (increasing) with ``counts``; its kept rows ``rows``.
    ``distinct``: every theft value once, sorted; ``sort_keys``: per theft value, camera i and
    the value's rank r in ``distinct`` as one increasing integer ``i * (len(distinct) + 1) + r``,
    so pass 2 places a normal among its camera's theft values by binary search."""

    keys: list[tuple[str, str]]
    rows: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    counts: np.ndarray
    distinct: np.ndarray
    sort_keys: np.ndarray

    def codes(self, clean: pd.DataFrame) -> np.ndarray:
        index = pd.MultiIndex.from_tuples(self.keys, names=KEY)
        return np.asarray(index.get_indexer(pd.MultiIndex.from_frame(clean[KEY])), np.int64)


def row_hashes(raw: pd.DataFrame) -> pd.DataFrame:
    """Per row: a 64-bit hash of the four columns and the row label (for the duplicate check)."""
    hashed = pd.util.hash_pandas_object(raw.loc[:, list(COLUMNS)].astype(object), index=False)
    return pd.DataFrame({"h": hashed.to_numpy(np.uint64), "row": raw.index.to_numpy(np.int64)})


def first_duplicates(hashes: pd.DataFrame) -> tuple[int, list[int]]:
    """How many rows repeat an earlier row (same hash, lower label), and the first few labels."""
    ordered = hashes.sort_values("row", kind="stable")
    rows = ordered["row"].to_numpy()[ordered["h"].duplicated(keep="first").to_numpy()]
    return len(rows), [int(r) for r in rows[:EXAMPLES]]


def summarise(source: str | Path, part: Partition, store: str | None = None,
              camera: str | None = None) -> tuple[PartSummary, pd.DataFrame]:
    """Pass 1 on one partition: its summary and its row hashes."""
    from utils.alerts.sources import display_source

    raw = read_partition(source, part, store=store, camera=camera)
    clean, report = prepare(raw, source=display_source(source))
    cameras = clean.groupby(KEY, sort=True).agg(rows=("is_theft", "size"),
                                                thefts=("is_theft", "sum"))
    thefts = clean[clean["is_theft"] & (clean["probability"] >= 0)]
    counts = thefts.groupby([*KEY, "probability"], sort=True).size()
    code = cameras.index.get_indexer(counts.index.droplevel("probability"))
    values = TheftValues(code.astype(np.int32),
                         counts.index.get_level_values("probability").to_numpy(np.float64),
                         counts.to_numpy(np.int64))
    return PartSummary(report, cameras, values), row_hashes(raw)


def merge_summaries(parts: Sequence[PartSummary]) -> PartSummary:
    """Consecutive partitions' summaries as one (associative: merged in a tree where the data
    lives, so no process holds every partition's summary): counts, labels and theft values
    add up, examples stay the first ones in row order. The report's per-camera fields are filled
    by :func:`merge_reports`."""
    first = parts[0].report
    issues = {key: Issue(count=sum(p.report.issues[key].count for p in parts),
                         excluded=issue.excluded,
                         examples=[e for p in parts
                                   for e in p.report.issues[key].examples][:EXAMPLES])
              for key, issue in first.issues.items()}
    labels: Counter[str] = Counter()
    for p in parts:
        labels.update(p.report.labels)
    report = ValidationReport(
        source=first.source, rows=sum(p.report.rows for p in parts),
        kept=sum(p.report.kept for p in parts), cameras=0, thefts=0, normals=0, issues=issues,
        labels=dict(labels), theft_label_variants={}, cameras_without_theft=[])
    frames = [p.cameras for p in parts if len(p.cameras)]
    cameras = (pd.concat(frames).groupby(level=[0, 1], sort=True).sum() if frames
               else parts[0].cameras)
    remaps = [cameras.index.get_indexer(p.cameras.index) if len(p.cameras)
              else np.zeros(0, np.int64) for p in parts]
    return PartSummary(report, cameras,
                       TheftValues.merged([p.theft_values for p in parts], remaps))


def merge_reports(summary: PartSummary, duplicates: tuple[int, list[int]],
                  names: dict[int, Any], source: str) -> ValidationReport:
    """The report of the whole table from the merged summary (:func:`merge_summaries`) and the
    duplicate check (``names``: video_name of each duplicate example row)."""
    count, rows = duplicates
    issues = {**summary.report.issues,
              "duplicate_rows": Issue(count=count, excluded=False,
                                      examples=[(r, names[r]) for r in rows])}
    cameras = summary.cameras
    vocab, variants = label_vocabulary(Counter(summary.report.labels))
    thefts = int(cameras["thefts"].sum())
    kept = summary.report.kept
    return ValidationReport(
        source=source, rows=summary.report.rows, kept=kept,
        cameras=len(cameras), thefts=thefts, normals=kept - thefts, issues=issues, labels=vocab,
        theft_label_variants=variants,
        cameras_without_theft=[(str(s), str(c))
                               for (s, c), n in cameras["thefts"].items() if n == 0])


def theft_index(summary: PartSummary) -> TheftIndex:
    """Pass 1's merged summary (:func:`merge_summaries`) as one :class:`TheftIndex`."""
    cameras, values = summary.cameras, summary.theft_values
    keys = [(str(s), str(c)) for s, c in cameras.index]
    offsets = np.zeros(len(keys) + 1, np.int64)
    np.cumsum(np.bincount(values.code, minlength=len(keys)), out=offsets[1:])
    distinct = np.unique(values.probability)
    sort_keys = (values.code.astype(np.int64) * (len(distinct) + 1)
                 + np.searchsorted(distinct, values.probability))
    return TheftIndex(keys, cameras["rows"].to_numpy(np.int64), offsets,
                      values.probability, values.n, distinct, sort_keys)


def normal_bins(source: str | Path, part: Partition, index: TheftIndex,
                store: str | None = None, camera: str | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2 on one partition: per camera, its normal alerts counted in the bins its theft
    values make (bin j of camera i, at slot ``offsets[i] + i + j``, holds the normals with
    j theft values <= p) as (occupied slots, increasing; their counts), and its highest normal
    probability (-inf when none). Each normal is placed by binary search, so the work and the
    result grow with the partition's rows, not with the table's theft values."""
    from utils.alerts.sources import display_source

    clean, _ = prepare(read_partition(source, part, store=store, camera=camera),
                       source=display_source(source))
    normals = clean[~clean["is_theft"] & (clean["probability"] >= 0)]
    code = index.codes(normals)
    p = normals["probability"].to_numpy(np.float64)
    top = np.full(len(index.keys), -np.inf)
    np.maximum.at(top, code, p)
    # the normal's key sorts after exactly its camera's theft values <= p (see TheftIndex)
    key = code * (len(index.distinct) + 1) + np.searchsorted(index.distinct, p, side="right")
    below = np.searchsorted(index.sort_keys, key, side="left")  # earlier cameras' + its own
    slots, counts = np.unique(below + code, return_counts=True)
    return slots, counts.astype(np.int64), top


def rebuild_curves(index: TheftIndex, counts: tuple[np.ndarray, np.ndarray, np.ndarray]
                   ) -> list[CameraCurve]:
    """The cameras' curves from the merged counts (:func:`merge_bins`): thefts at their values;
    the normals of bin j at the j-th theft value (bin 0 at 0.0), except one normal of the last
    bin at the camera's highest normal probability, so muting gets the same threshold as from
    the rows."""
    from utils.alerts.curves import weighted_curves

    slots, normals, top = counts
    n_cam = len(index.keys)
    bins = np.zeros(len(index.values) + n_cam, np.int64)
    bins[slots] = normals
    per_cam = np.diff(index.offsets)
    theft_code = np.repeat(np.arange(n_cam), per_cam)
    bin_code = np.repeat(np.arange(n_cam), per_cam + 1)
    # the value a bin starts at: 0.0 for bin 0, else the camera's previous theft value
    start = np.zeros(len(bins))
    first = index.offsets[:-1] + np.arange(n_cam)
    inner = np.ones(len(bins), bool)
    inner[first] = False
    start[inner] = index.values
    last = index.offsets[1:] + np.arange(n_cam)
    has_top = bins[last] > 0
    weight = bins.copy()
    weight[last[has_top]] -= 1
    codes = np.concatenate([theft_code, bin_code, np.flatnonzero(has_top)])
    p = np.concatenate([index.values, start, top[has_top]])
    theft = np.concatenate([np.ones(len(theft_code), bool), np.zeros(len(bins), bool),
                            np.zeros(int(has_top.sum()), bool)])
    w = np.concatenate([index.counts, weight, np.ones(int(has_top.sum()), np.int64)])
    keep = w > 0
    return weighted_curves(codes[keep], p[keep], theft[keep], w[keep], index.keys, index.rows)


def merge_bins(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 2's results of several partitions as one: counts of the same slot add up, highest
    normals take the maximum."""
    slots, inverse = np.unique(np.concatenate([s for s, _, _ in parts]), return_inverse=True)
    counts = np.zeros(len(slots), np.int64)
    np.add.at(counts, inverse, np.concatenate([c for _, c, _ in parts]))
    top = parts[0][2].copy()
    for _, _, high in parts[1:]:  # in place: no stack of FAN_IN copies
        np.maximum(top, high, out=top)
    return slots, counts, top


class Runner(Protocol):
    """Runs the partition functions: :class:`LocalRunner` or the Dask one."""

    def pass_one(self, source: str | Path, parts: Sequence[Partition], store: str | None,
                 camera: str | None) -> tuple[PartSummary, tuple[int, list[int]]]:
        """Every partition's :func:`summarise`, merged (:func:`merge_summaries`), and
        :func:`first_duplicates` over all rows."""

    def map_merge(self, fn: Callable[..., T], merge: Callable[[Sequence[T]], T],
                  source: str | Path, parts: Sequence[Partition], *args: Any) -> T:
        """``fn(source, part, *args)`` for every partition, merged by ``merge`` (associative,
        given consecutive results in partition order)."""


class LocalRunner:
    """One partition at a time in this process, each result merged into the running total
    (the row hashes, 16 bytes a row, are kept)."""

    def pass_one(self, source: str | Path, parts: Sequence[Partition], store: str | None,
                 camera: str | None) -> tuple[PartSummary, tuple[int, list[int]]]:
        hashes: list[pd.DataFrame] = []

        def one(source: str | Path, part: Partition) -> PartSummary:
            summary, part_hashes = summarise(source, part, store, camera)
            hashes.append(part_hashes)
            return summary

        summary = self.map_merge(one, merge_summaries, source, parts)
        return summary, first_duplicates(pd.concat(hashes))

    def map_merge(self, fn: Callable[..., T], merge: Callable[[Sequence[T]], T],
                  source: str | Path, parts: Sequence[Partition], *args: Any) -> T:
        total = fn(source, parts[0], *args)
        for part in parts[1:]:
            total = merge([total, fn(source, part, *args)])
        return total


def _example_names(source: str | Path, parts: Sequence[Partition], rows: list[int]
                   ) -> dict[int, Any]:
    """video_name of a few rows, read back from their partitions."""
    offsets = np.array([p.offset for p in parts])
    names: dict[int, Any] = {}
    for row in rows:
        part = parts[int(np.searchsorted(offsets, row, side="right")) - 1]
        names[row] = read_partition(source, part).loc[row, "video_name"]
    return names


def _pass_one(source: str | Path, runner: Runner, store: str | None, camera: str | None
              ) -> tuple[list[Partition], PartSummary, ValidationReport]:
    from utils.alerts.sources import display_source

    parts = partitions(source)
    summary, duplicates = runner.pass_one(source, parts, store, camera)
    names = _example_names(source, parts, duplicates[1])
    return parts, summary, merge_reports(summary, duplicates, names, display_source(source))


def dataset_report(source: str | Path, runner: Runner | None = None) -> ValidationReport:
    """The validation report of a dataset, partition by partition."""
    return _pass_one(source, runner or LocalRunner(), None, None)[2]


def dataset_curves(source: str | Path, runner: Runner | None = None, *,
                   store: str | None = None, camera: str | None = None
                   ) -> tuple[list[CameraCurve], ValidationReport]:
    """Every camera's curve (or only ``store``/``camera``'s) and the validation report, in two
    passes over the partitions."""
    runner = runner or LocalRunner()
    parts, summary, report = _pass_one(source, runner, store, camera)
    index = theft_index(summary)
    counts = runner.map_merge(normal_bins, merge_bins, source, parts, index, store, camera)
    return rebuild_curves(index, counts), report
