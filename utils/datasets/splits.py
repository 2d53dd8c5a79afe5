"""Train/val/test splits grouped by source video and stratified by label.

Clips cut from one video share its camera, scene and people; a model sees them as near
duplicates. A clip-level random split therefore puts pieces of the same video in training and
test and reports the memorised scene as accuracy. Here every source video goes to exactly one
split, and the groups are dealt so that each split gets its share of clips, of clips of each
label, and of groups of each kind (a group's kind is the rarest label it contains: for DCSASS,
"has a theft" vs "no theft").

Dealing is greedy: strata from the rarest, groups in a seeded random order, each group to the
split whose shares it brings closest to their targets (sum of squared relative deviations),
except that while a split still lacks a kind of group and only as many groups of that kind are
left as splits lacking it, one of those splits takes the group (so every split gets positives
whenever there are enough positive videos, and no split stays empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from utils.columns import require_columns
from utils.errors import InputError
from utils.io import atomic_path

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("train", "val", "test")
COLUMNS = ("clip", "source_video", "label", "split")


def _fractions(val: float, test: float) -> np.ndarray:
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise InputError(f"split fractions need 0 <= val, test and val + test < 1 (got {val}, "
                         f"{test})")
    return np.array([1 - val - test, val, test])


def assign_groups(
    groups: Sequence[str],
    labels: Sequence[int],
    *,
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
) -> dict[str, str]:
    """{group: split} for clips given as parallel ``groups`` and integer ``labels``."""
    fractions = _fractions(val, test)
    names, group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    label_values, label_of = np.unique(np.asarray(labels, dtype=np.int64), return_inverse=True)
    used = np.flatnonzero(fractions > 0)
    if len(names) < len(used):
        raise InputError(f"{len(names)} source videos cannot fill {len(used)} non-empty splits")
    n_labels = len(label_values)
    # counts[g, k] = clips of group g with label k
    counts = np.zeros((len(names), n_labels), dtype=np.int64)
    np.add.at(counts, (group_of, label_of), 1)
    label_totals = counts.sum(axis=0)
    rarity = np.argsort(np.argsort(label_totals, kind="stable"), kind="stable")
    stratum = np.array([min(np.flatnonzero(row), key=lambda k: rarity[k]) for row in counts])
    # One row of contributions per group: [clips, clips per label..., groups per stratum...]
    contrib = np.zeros((len(names), 1 + 2 * n_labels))
    contrib[:, 0] = counts.sum(axis=1)
    contrib[:, 1 : 1 + n_labels] = counts
    contrib[np.arange(len(names)), 1 + n_labels + stratum] = 1
    totals = np.maximum(contrib.sum(axis=0), 1)
    target = fractions[:, None] * contrib.sum(axis=0)[None, :]
    current = np.zeros_like(target)
    rng = np.random.default_rng(seed)
    order = np.concatenate([
        rng.permutation(np.flatnonzero(stratum == k)) for k in np.argsort(rarity)
    ])
    left = np.bincount(stratum, minlength=n_labels)
    assignment = {}
    for i, g in enumerate(order):
        # Keep every split non-empty and holding each kind of group while enough are left.
        choices = used
        lacking = used[current[used, 1 + n_labels + stratum[g]] == 0]
        if 0 < len(lacking) >= left[stratum[g]]:
            choices = lacking
        empty = choices[current[choices, 0] == 0]
        if 0 < len(empty) >= len(order) - i:
            choices = empty
        left[stratum[g]] -= 1
        nz = np.flatnonzero(contrib[g])
        c = contrib[g, nz]
        # change of sum((current - target)^2 / total^2) if g joins each split
        gap = current[choices][:, nz] - target[choices][:, nz]
        delta = (c**2 + 2 * c * gap) / totals[nz] ** 2
        best = choices[int(np.argmin(delta.sum(axis=1)))]
        current[best] += contrib[g]
        assignment[str(names[g])] = SPLITS[best]
    return assignment


def grouped_split(
    clips: Sequence[str],
    groups: Sequence[str],
    labels: Sequence[int],
    *,
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
) -> pd.DataFrame:
    """A table ``clip, source_video, label, split`` (clip order kept), verified leak-free."""
    import pandas as pd

    if not len(clips) == len(groups) == len(labels):
        raise InputError("clips, groups and labels must have the same length")
    if not len(clips):
        raise InputError("no clips to split")
    assignment = assign_groups(groups, labels, val=val, test=test, seed=seed)
    frame = pd.DataFrame({
        "clip": list(clips),
        "source_video": list(groups),
        "label": np.asarray(labels, dtype=np.int64),
    })
    frame["split"] = frame["source_video"].map(assignment)
    verify_split(frame)
    return frame


def verify_split(frame: pd.DataFrame) -> pd.DataFrame:
    """Raise InputError on leakage (a source video in two splits), a clip listed twice, or an
    unknown split name; otherwise return the per-split summary."""
    require_columns(frame.columns, COLUMNS, "split table")
    unknown = sorted(set(frame["split"]) - set(SPLITS))
    if unknown:
        raise InputError(f"unknown split names {unknown}; expected {list(SPLITS)}")
    twice = frame.loc[frame["clip"].duplicated(), "clip"].tolist()
    if twice:
        raise InputError(f"{len(twice)} clips listed twice, e.g. {twice[:5]}")
    spread = frame.groupby("source_video")["split"].nunique()
    leaking = spread[spread > 1].index.tolist()
    if leaking:
        raise InputError(f"leakage: {len(leaking)} source videos in more than one split: "
                         f"{leaking[:10]}")
    return split_summary(frame)


def split_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per split: source videos, clips, positive clips (label != 0) and the positive rate."""
    table = frame.assign(positive=frame["label"] != 0).groupby("split").agg(
        source_videos=("source_video", "nunique"),
        clips=("clip", "size"),
        positives=("positive", "sum"),
    )
    table = table.reindex([s for s in SPLITS if s in table.index])
    table["positive_rate"] = table["positives"] / table["clips"]
    return table


def write_split_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write the verified split table (columns ``clip,source_video,label,split``), atomically."""
    verify_split(frame)
    path = Path(path)
    with atomic_path(path) as tmp:
        frame.loc[:, list(COLUMNS)].to_csv(tmp, index=False)
    return path


def read_split_csv(path: str | Path) -> pd.DataFrame:
    """Read and verify a split table written by :func:`write_split_csv`."""
    import pandas as pd

    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"clip": str, "source_video": str, "split": str})
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read split CSV ({exc})") from exc
    verify_split(frame)
    return frame
