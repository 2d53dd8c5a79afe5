"""Grouped, stratified splits: no leakage on any input, balance on a DCSASS-shaped set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.datasets.splits import (
    assign_groups,
    grouped_split,
    read_split_csv,
    split_summary,
    verify_split,
    write_split_csv,
)
from utils.errors import InputError


def dcsass_like(seed: int = 1) -> tuple[list[str], list[str], list[int]]:
    """28 videos x 32 clips; thefts are runs of consecutive clips; 4 videos without theft."""
    rng = np.random.default_rng(seed)
    clips, groups, labels = [], [], []
    for v in range(28):
        n_pos = 0 if v % 7 == 0 else int(rng.integers(1, 12))
        start = int(rng.integers(0, 33 - n_pos))
        for k in range(32):
            clips.append(f"Shoplifting{v:03d}_x264_{k}")
            groups.append(f"Shoplifting{v:03d}_x264")
            labels.append(int(start <= k < start + n_pos))
    return clips, groups, labels


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 12), min_size=3, max_size=30),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
    val=st.floats(0.05, 0.3),
    test=st.floats(0.05, 0.3),
)
def test_no_source_video_in_two_splits(
    sizes: list[int], data: st.DataObject, seed: int, val: float, test: float
) -> None:
    groups = [f"v{g}" for g, n in enumerate(sizes) for _ in range(n)]
    labels = data.draw(st.lists(st.integers(0, 2), min_size=len(groups), max_size=len(groups)))
    clips = [f"c{i}" for i in range(len(groups))]
    frame = grouped_split(clips, groups, labels, val=val, test=test, seed=seed)
    assert frame["clip"].tolist() == clips
    assert (frame.groupby("source_video")["split"].nunique() == 1).all()
    assert set(frame["split"]) == {"train", "val", "test"}  # >= 3 groups: none empty
    again = grouped_split(clips, groups, labels, val=val, test=test, seed=seed)
    assert again["split"].tolist() == frame["split"].tolist()


@pytest.mark.parametrize("seed", range(8))
def test_stratified_within_tolerance(seed: int) -> None:
    clips, groups, labels = dcsass_like()
    frame = grouped_split(clips, groups, labels, val=0.15, test=0.15, seed=seed)
    summary = verify_split(frame)
    overall = np.mean(labels)
    assert summary["clips"].sum() == len(clips)
    # each split: its share of clips within one video of the target, positive rate within 6 pts
    for split, target in [("train", 0.7), ("val", 0.15), ("test", 0.15)]:
        assert abs(summary.loc[split, "clips"] / len(clips) - target) <= 32 / len(clips)
        assert abs(summary.loc[split, "positive_rate"] - overall) <= 0.06
    positive_videos = frame[frame["label"] == 1].groupby("split")["source_video"].nunique()
    theft_free = frame.groupby("source_video")["label"].max().eq(0)
    assert (positive_videos >= 2).all()
    assert frame[frame["source_video"].map(theft_free)]["split"].nunique() >= 2


def test_seeds_differ_and_fraction_zero_is_respected() -> None:
    _, groups, labels = dcsass_like()
    a = assign_groups(groups, labels, seed=0)
    b = assign_groups(groups, labels, seed=1)
    assert a != b
    no_test = assign_groups(groups, labels, val=0.2, test=0.0, seed=0)
    assert set(no_test.values()) == {"train", "val"}


def test_verify_split_names_the_leak(tmp_path: Path) -> None:
    frame = pd.DataFrame({"clip": ["a_0", "a_1", "b_0"], "source_video": ["a", "a", "b"],
                          "label": [0, 1, 0], "split": ["train", "test", "val"]})
    with pytest.raises(InputError, match=r"leakage: 1 source videos .*\['a'\]"):
        verify_split(frame)
    with pytest.raises(InputError, match="leakage"):
        write_split_csv(frame, tmp_path / "split.csv")
    assert not (tmp_path / "split.csv").exists()
    frame.loc[1, "split"] = "train"
    summary = split_summary(frame)
    assert summary.loc["train", "positive_rate"] == 0.5
    path = write_split_csv(frame, tmp_path / "split.csv")
    assert path.read_text().splitlines()[0] == "clip,source_video,label,split"
    pd.testing.assert_frame_equal(read_split_csv(path), frame)


@pytest.mark.parametrize(("val", "test"), [(0.5, 0.5), (-0.1, 0.2), (0.2, 1.0)])
def test_bad_fractions(val: float, test: float) -> None:
    with pytest.raises(InputError, match="fractions"):
        assign_groups(["a", "b", "c"], [0, 1, 0], val=val, test=test)


def test_too_few_videos() -> None:
    with pytest.raises(InputError, match="2 source videos cannot fill 3"):
        assign_groups(["a", "b"], [0, 1])
