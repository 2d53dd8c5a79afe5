"""From raw alert rows to the clean frame every analysis uses, with a report of every problem.

Policy (also printed in every report):

* EXCLUDED (counted, with examples): rows without a probability, with a probability that is not a
  finite number, without a label, without a store, or whose ``video_name`` does not follow
  ``{START}_to_{END}_camera_{ID}_ip_{IP}_port_{PORT}.mp4`` (their camera is unknown).
* KEPT and flagged: probability < 0 (never an alert at the default threshold 0), probability > 1,
  duplicated rows, labels that almost spell a theft label (counted as normal, like every label
  that is not exactly a theft label), cameras without any theft.

A camera is the pair (store, CAMERA_ID): the same CAMERA_ID in two stores is two cameras.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from utils.alerts.schema import COLUMNS, THEFT_LABELS, as_text, parse_video_names
from utils.alerts.schema import theft_label_variant as _variant
from utils.columns import require_columns
from utils.errors import InputError

POLICY = (
    "Excluded: rows with a missing or non-numeric probability, a missing label, a missing store "
    "or an unparsable video_name. Kept: probability < 0 (not an alert at the default threshold "
    "0), probability > 1 and duplicate rows (flagged). Labels other than the theft labels "
    f"({', '.join(sorted(THEFT_LABELS))}) are normal. A camera is (store, CAMERA_ID)."
)
EXAMPLES = 5

# (key, description, excluded?) in report order.
CHECKS: tuple[tuple[str, str, bool], ...] = (
    ("missing_probability", "missing probability", True),
    ("invalid_probability", "probability not a finite number", True),
    ("missing_label", "missing label", True),
    ("missing_store", "missing store", True),
    ("unparsable_video_name", "unparsable video_name", True),
    ("negative_probability", "probability < 0", False),
    ("probability_above_one", "probability > 1", False),
    ("duplicate_rows", "duplicate of an earlier row", False),
)
CLEAN_COLUMNS = ("store", "camera", "video_name", "label", "probability", "is_theft",
                 "start_time", "end_time", "dvr_ip", "dvr_port")


@dataclass
class Issue:
    """Rows hit by one check: how many, a few of them (row label, offending value), and whether
    they were excluded."""

    count: int
    excluded: bool
    examples: list[tuple[Any, Any]] = field(default_factory=list)


@dataclass
class ValidationReport:
    """What was read, what was excluded and why, what looks odd: counted and named."""

    source: str
    rows: int
    kept: int
    cameras: int
    thefts: int
    normals: int
    issues: dict[str, Issue]
    labels: dict[str, int]  # label vocabulary of the kept rows, with counts
    theft_label_variants: dict[str, str]  # label -> the theft label it almost spells
    cameras_without_theft: list[tuple[str, str]]
    policy: str = POLICY

    @property
    def excluded(self) -> int:
        """Rows excluded (a row failing several checks counts once)."""
        return self.rows - self.kept

    def count(self, key: str) -> int:
        return self.issues[key].count

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "rows": self.rows, "kept": self.kept,
            "excluded": self.excluded, "cameras": self.cameras, "thefts": self.thefts,
            "normals": self.normals,
            "issues": {k: {"count": v.count, "excluded": v.excluded,
                           "examples": [{"row": _plain(r), "value": _plain(x)}
                                        for r, x in v.examples]}
                       for k, v in self.issues.items()},
            "labels": dict(self.labels),
            "theft_labels": sorted(THEFT_LABELS),
            "theft_label_variants": dict(self.theft_label_variants),
            "cameras_without_theft": [{"store": s, "camera": c}
                                      for s, c in self.cameras_without_theft],
            "policy": self.policy,
        }

    def to_text(self) -> str:
        lines = [f"Alerts source: {self.source}",
                 f"{self.rows:,} rows read; {self.kept:,} kept, {self.excluded:,} excluded.",
                 f"Kept: {self.cameras} cameras, {self.thefts:,} theft rows, "
                 f"{self.normals:,} normal rows (rows with probability < 0 included: they are "
                 "kept but are not alerts)."]
        listed = sum(i.count for i in self.issues.values() if i.excluded)
        if listed > self.excluded:
            lines.append(f"  The exclusion reasons below overlap: they list {listed:,} reasons "
                         f"for {self.excluded:,} excluded rows, because "
                         f"{listed - self.excluded:,} reason(s) fall on a row already excluded "
                         "for another reason (a row is excluded once).")
        for key, text, _ in CHECKS:
            issue = self.issues[key]
            if issue.count:
                action = "excluded" if issue.excluded else "kept"
                shown = ", ".join(f"row {_plain(r)}: {_plain(x)!r}" for r, x in issue.examples)
                rows = "row" if issue.count == 1 else "rows"
                lines.append(f"  {text}: {issue.count:,} {rows} ({action}), e.g. {shown}")
        if self.issues and not any(i.count for i in self.issues.values()):
            lines.append("  no problem found in any row.")
        vocab = ", ".join(f"{label} {n:,}{' [theft]' if label in THEFT_LABELS else ''}"
                          for label, n in self.labels.items())
        lines.append(f"Labels: {vocab or 'none'}.")
        for label, theft in self.theft_label_variants.items():
            lines.append(f"  WARNING: label {label!r} looks like the theft label {theft!r} but "
                         "is counted as normal: fix the export if it is a theft.")
        if self.cameras_without_theft:
            names = ", ".join(f"{s}/{c}" for s, c in self.cameras_without_theft)
            lines.append(f"Cameras without any theft ({len(self.cameras_without_theft)}): "
                         f"{names}.")
        lines.append(f"Policy: {self.policy}")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    """A JSON/text-friendly scalar (numpy scalars unwrapped, missing as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _issue(mask: np.ndarray, values: pd.Series, excluded: bool) -> Issue:
    hit = values[mask]
    return Issue(count=int(mask.sum()), excluded=excluded,
                 examples=list(zip(hit.index[:EXAMPLES], hit.iloc[:EXAMPLES], strict=True)))


def prepare(raw: pd.DataFrame, *, source: str = "<frame>") -> tuple[pd.DataFrame, ValidationReport]:
    """The clean frame (columns :data:`CLEAN_COLUMNS`, index = the raw row labels) and the report.

    Only the rows named in the policy are excluded; everything else is kept and flagged.
    """
    require_columns(raw.columns, COLUMNS, source)
    store, label, name = (as_text(raw[c]) for c in ("store", "label", "video_name"))
    raw_p = raw["probability"]
    _check_scalars(raw, source)
    p = pd.to_numeric(raw_p, errors="coerce").astype("float64")
    finite = np.isfinite(p)
    parsed = parse_video_names(name)

    no_p = raw_p.isna() | (as_text(raw_p).str.strip() == "")
    masks = {
        "missing_probability": no_p,
        "invalid_probability": ~no_p & ~np.isfinite(p),
        "missing_label": label.isna() | (label.str.strip() == ""),
        "missing_store": store.isna() | (store.str.strip() == ""),
        "unparsable_video_name": parsed["camera"].isna(),
        # An infinite probability is excluded above, never also listed as kept here.
        "negative_probability": finite & (p < 0),
        "probability_above_one": finite & (p > 1),
        "duplicate_rows": raw.loc[:, list(COLUMNS)].duplicated(keep="first"),
    }
    values = {"missing_probability": name, "invalid_probability": raw_p,
              "missing_label": name, "missing_store": name, "unparsable_video_name": name,
              "negative_probability": p, "probability_above_one": p, "duplicate_rows": name}
    masks = {key: np.asarray(mask, bool) for key, mask in masks.items()}
    issues = {key: _issue(masks[key], values[key], excluded) for key, _, excluded in CHECKS}
    keep = ~np.logical_or.reduce([masks[key] for key, _, excluded in CHECKS if excluded])

    clean = pd.DataFrame({
        "store": store, "camera": parsed["camera"], "video_name": name, "label": label,
        "probability": p, "is_theft": label.isin(THEFT_LABELS),
        "start_time": parsed["start_time"], "end_time": parsed["end_time"],
        "dvr_ip": parsed["dvr_ip"], "dvr_port": parsed["dvr_port"],
    }, index=raw.index)[keep]
    clean.index.name = "row"

    per_camera = clean.groupby(["store", "camera"], sort=True)["is_theft"].sum()
    labels, variants = label_vocabulary(clean["label"].value_counts(sort=False).to_dict())
    n_theft = int(clean["is_theft"].sum())
    report = ValidationReport(
        source=str(source), rows=len(raw), kept=len(clean), cameras=len(per_camera),
        thefts=n_theft, normals=len(clean) - n_theft, issues=issues, labels=labels,
        theft_label_variants=variants,
        cameras_without_theft=[(str(s), str(c)) for (s, c), n in per_camera.items() if n == 0],
    )
    return clean, report


def label_vocabulary(counts: Mapping[Any, int]) -> tuple[dict[str, int], dict[str, str]]:
    """Labels with their counts, most frequent first (ties by name), and the labels that almost
    spell a theft label."""
    labels = {str(k): int(counts[k]) for k in sorted(counts, key=lambda v: (-counts[v], v))}
    return labels, {lbl: v for lbl in labels if (v := _variant(lbl)) is not None}


def _check_scalars(raw: pd.DataFrame, source: str) -> None:
    """One value per cell: a list or a mapping (e.g. a Parquet list column) is not a row."""
    for col in COLUMNS:
        values = raw[col]
        if values.dtype != object:
            continue
        nested = values.map(lambda v: isinstance(v, (list, tuple, dict, np.ndarray)))
        if nested.any():
            row = nested.idxmax()
            raise InputError(f"{source}: column {col} holds {type(values[row]).__name__} values "
                             f"(first at row {row}); expected one number or text per row")


def load_alerts(source: str | Path, *, table: str = "alerts", store: str | None = None,
                camera: str | None = None) -> tuple[pd.DataFrame, ValidationReport]:
    """Read ``source`` (see :func:`utils.alerts.sources.read_alerts`) and :func:`prepare` it."""
    from utils.alerts.sources import display_source, read_alerts

    raw = read_alerts(source, table=table, store=store, camera=camera)
    return prepare(raw, source=display_source(source))
