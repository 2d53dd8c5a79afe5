"""What an alert row means: which labels are thefts and what ``video_name`` encodes.

``video_name`` is ``{START}_to_{END}_camera_{CAMERA_ID}_ip_{DVR_IP}_port_{DVR_PORT}.mp4``, e.g.
``2023-02-25_17h16m23s_to_2023-02-25_17h16m42s_camera_60_ip_192.168.1.60_port_None.mp4``. The
times themselves contain ``_`` and ``-``, so the pattern is anchored on the fixed markers rather
than split on a separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from utils.columns import require_columns
from utils.errors import InputError

THEFT_LABELS: frozenset[str] = frozenset(
    {"Suspicious Bag", "Suspicious", "Theft", "Gesture Into Body", "Product Into Stroller"}
)
"""Every other label is a normal (non-theft) alert, e.g. ``Other Normal``, ``Store Normal Bag``."""

COLUMNS: tuple[str, ...] = ("store", "video_name", "label", "probability")


_VIDEO_NAME = re.compile(
    r"^(?P<start>.+?)_to_(?P<end>.+)_camera_(?P<camera>.+)_ip_(?P<ip>[^_]+)"
    r"_port_(?P<port>\d+|None)\.mp4$"
)


@dataclass(frozen=True)
class VideoName:
    """The fields encoded in a ``video_name`` (times kept as written: their format varies)."""

    start_time: str
    end_time: str
    camera: str
    dvr_ip: str
    dvr_port: int | None


def parse_video_name(name: str) -> VideoName | None:
    """The fields of ``name``, or None when it does not follow the pattern."""
    if not isinstance(name, str):
        return None
    match = _VIDEO_NAME.match(name.strip())
    if match is None:
        return None
    port = match["port"]
    return VideoName(start_time=match["start"], end_time=match["end"], camera=match["camera"],
                     dvr_ip=match["ip"], dvr_port=None if port == "None" else int(port))


def theft_label_variant(label: str) -> str | None:
    """The theft label that ``label`` almost spells (case/whitespace variant), else None.

    Such labels are counted as normal, like every label outside :data:`THEFT_LABELS`; they are
    flagged because a typo in the export would silently turn thefts into normals.
    """
    key = " ".join(str(label).split()).casefold()
    for theft in THEFT_LABELS:
        if label != theft and key == theft.casefold():
            return theft
    return None


def parse_video_names(names: pd.Series) -> pd.DataFrame:
    """:func:`parse_video_name` over a column at once: columns ``start_time``, ``end_time``,
    ``camera``, ``dvr_ip`` (str, missing when unparsable) and ``dvr_port`` (Int64, missing for
    ``None`` or when unparsable), same index as ``names``."""
    parts = as_text(names).str.strip().str.extract(_VIDEO_NAME)
    port = parts["port"].where(parts["port"] != "None")
    return pd.DataFrame({
        "start_time": as_text(parts["start"]), "end_time": as_text(parts["end"]),
        "camera": as_text(parts["camera"]), "dvr_ip": as_text(parts["ip"]),
        "dvr_port": pd.to_numeric(port).astype("Int64"),
    }, index=names.index)


def as_text(values: pd.Series) -> pd.Series:
    """``values`` as text with missing values still missing (pandas 2's ``astype(str)`` alone
    would turn them into the string ``"nan"``)."""
    return values.astype(str).mask(values.isna())


def camera_marker(camera: str) -> str:
    """The part of ``video_name`` that names a camera: ``_camera_<id>_ip_``."""
    return f"_camera_{camera}_ip_"


def exact_filter(raw: pd.DataFrame, store: str | None, camera: str | None) -> pd.DataFrame:
    """Exactly the rows of ``store`` and ``camera`` (the filters readers push down are coarse:
    SQL LIKE ignores ASCII case, substrings may overlap)."""
    keep = pd.Series(True, index=raw.index)
    if store is not None:
        keep &= as_text(raw["store"]) == store
    if camera is not None:
        keep &= as_text(raw["video_name"]).str.contains(camera_marker(camera), regex=False,
                                                        na=False)
    return raw if keep.all() else raw[keep]


def check_parquet_schema(schema: Any, where: str) -> None:
    """The four columns are there, each one number or text per row (not a list, not bytes)."""
    import pyarrow as pa

    require_columns(schema.names, COLUMNS, where)
    for name in COLUMNS:
        kind = schema.field(name).type
        if pa.types.is_nested(kind) or pa.types.is_binary(kind):
            raise InputError(f"{where}: column {name} holds {kind} values; expected one "
                             "number or text per row")
