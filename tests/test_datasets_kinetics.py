"""Kinetics class names, clip-name parsing, and the sample loader on folders with known content."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from utils.datasets.download import cut_clip
from utils.datasets.kinetics import (
    clip_filename,
    kinetics_classes,
    load_classnames_json,
    load_kinetics_sample,
    parse_clip_name,
)
from utils.errors import InputError
from utils.video.io import probe, read_frames, write_video


def tiny_clip(path: Path, n: int = 16) -> Path:
    frames = np.full((n, 32, 32, 3), 128, dtype=np.uint8)
    return write_video(path, frames, 30)


@pytest.mark.parametrize(
    ("name", "label", "youtube_id", "start", "end"),
    [
        ("passing American football (in game)-ab-cd_EF-12-000014-000024.mp4",
         "passing American football (in game)", "ab-cd_EF-12", 14, 24),
        ("massaging person's head-XyZ12345678-5-15.mp4", "massaging person's head",
         "XyZ12345678", 5, 15),
        ("riding a bike-abc-1234567-30-40.mp4", "riding a bike", "abc-1234567", 30, 40),
        ("skiing (not slalom or crosscountry)--abcdefghij-0-10", "skiing (not slalom or "
         "crosscountry)", "-abcdefghij", 0, 10),
    ],
)
def test_parse_clip_name_from_the_right(
    name: str, label: str, youtube_id: str, start: int, end: int
) -> None:
    parsed = parse_clip_name(name)
    assert (parsed.label, parsed.youtube_id, parsed.start, parsed.end) == (
        label, youtube_id, start, end)


@pytest.mark.parametrize(
    "name", ["abseiling.mp4", "abseiling-short-1-2.mp4", "abseiling-XyZ12345678-15-5.mp4",
             "XyZ12345678-1-11.mp4", "abseiling-XyZ1234567!-1-11.mp4"])
def test_parse_rejects_names_outside_the_pattern(name: str) -> None:
    with pytest.raises(InputError, match=r"abseiling|XyZ"):
        parse_clip_name(name)


@given(
    label=st.sampled_from(kinetics_classes()),
    youtube_id=st.text("ABCxyz019_-", min_size=11, max_size=11),
    start=st.integers(0, 10**6),
    length=st.integers(1, 20),
)
def test_filename_round_trip(label: str, youtube_id: str, start: int, length: int) -> None:
    parsed = parse_clip_name(clip_filename(label, youtube_id, start, start + length))
    assert (parsed.label, parsed.youtube_id, parsed.start, parsed.end) == (
        label, youtube_id, start, start + length)


def test_shipped_class_names() -> None:
    names = kinetics_classes()
    assert len(names) == 400 == len(set(names))
    assert names == sorted(names)
    assert (names[0], names[-1]) == ("abseiling", "zumba")
    assert names.index("massaging person's head") == 196
    assert names.index("passing American football (in game)") == 208


def test_json_loader_strips_quotes_and_orders_by_index(tmp_path: Path) -> None:
    names = kinetics_classes()
    items = [(f'"{n}"' if "(" in n else n, i) for i, n in enumerate(names)]
    random.Random(0).shuffle(items)
    path = tmp_path / "kinetics_classnames.json"
    path.write_text(json.dumps(dict(items)))
    assert load_classnames_json(path) == names
    path.write_text(json.dumps({"a": 0, "b": 2}))
    with pytest.raises(InputError, match=r"0\.\.1"):
        load_classnames_json(path)


@pytest.fixture()
def sample_folder(tmp_path: Path) -> Path:
    tiny_clip(tmp_path / "abseiling-AAAAAAAAAAA-10-20.mp4")
    tiny_clip(tmp_path / "zumba-BBB-BBBB_BB-000005-000015.mp4")
    tiny_clip(tmp_path / "not a clip name.mp4")
    tiny_clip(tmp_path / "flying carpet-CCCCCCCCCCC-1-11.mp4")
    (tmp_path / "applauding-DDDDDDDDDDD-0-10.mp4").write_bytes(b"\x00corrupt" * 100)
    return tmp_path


def test_sample_loader_names_every_clip_left_out(sample_folder: Path) -> None:
    report = load_kinetics_sample(sample_folder, progress=False)
    assert [(s.label, s.class_index, s.youtube_id) for s in report.samples] == [
        ("abseiling", 0, "AAAAAAAAAAA"), ("zumba", 399, "BBB-BBBB_BB")]
    assert report.unparsable == ["not a clip name.mp4"]
    assert report.unknown_label == {"flying carpet-CCCCCCCCCCC-1-11.mp4": "flying carpet"}
    assert list(report.unreadable) == ["applauding-DDDDDDDDDDD-0-10.mp4"]
    assert set(report.left_out()) == {
        "not a clip name.mp4", "flying carpet-CCCCCCCCCCC-1-11.mp4",
        "applauding-DDDDDDDDDDD-0-10.mp4"}
    assert report.pairs() == [(s.path, s.class_index) for s in report.samples]
    text = report.to_text()
    assert "2 usable clips in 2 classes" in text and "3 clips left out:" in text
    assert "label 'flying carpet' is not a Kinetics-400 class\n" in text
    tiny_clip(sample_folder / "air_drumming-AAAAAAAAAAA-30-40.mp4")
    reason = load_kinetics_sample(sample_folder, progress=False).left_out()
    assert reason["air_drumming-AAAAAAAAAAA-30-40.mp4"].endswith("(did you mean 'air drumming'?)")


def test_annotation_join(sample_folder: Path) -> None:
    csv = sample_folder / "validate.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "abseiling,AAAAAAAAAAA,10,20,val\n"
        '"zumba",BBB-BBBB_BB,5,15,val\n'
        "air drumming,EEEEEEEEEEE,3,13,val\n"
        "applauding,FFFFFFFFFFF,0,10,train\n"
    )
    report = load_kinetics_sample(sample_folder, csv, split="val", progress=False)
    assert [s.label for s in report.samples] == ["abseiling", "zumba"]
    assert "applauding-DDDDDDDDDDD-0-10.mp4" in report.not_in_annotations
    assert report.not_downloaded == 1  # air drumming; the train row is filtered out
    csv.write_text("label,youtube_id,time_start,time_end,split\n"
                   "air drumming,AAAAAAAAAAA,10,20,val\n")
    report = load_kinetics_sample(sample_folder, csv, progress=False)
    assert report.label_mismatch == {
        "abseiling-AAAAAAAAAAA-10-20.mp4": "annotation says 'air drumming'"}
    assert [(s.label, s.class_index) for s in report.samples] == [("air drumming", 1)]


def test_annotation_csv_without_the_columns(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("name,id\nx,y\n")
    with pytest.raises(InputError, match=r"missing column\(s\)"):
        load_kinetics_sample(tmp_path, tmp_path / "bad.csv", progress=False)


def test_cut_clip_keeps_the_frames_of_the_window(tmp_path: Path) -> None:
    # frame i has grey level 4 * i, so the cut's content says which frames it kept
    levels = np.arange(60, dtype=np.uint8) * 4
    frames = np.repeat(levels[:, None, None, None], 32 * 32 * 3).reshape(60, 32, 32, 3)
    source = write_video(tmp_path / "full.mp4", frames, 30)
    cut = cut_clip(source, tmp_path / "cut.mp4", 1.0, 1.5)
    info = probe(cut)
    assert info.num_frames == 15
    first, last = read_frames(cut, [0.0, 14 / 30])
    assert round(first.mean() / 4) == 30 and round(last.mean() / 4) == 44
