"""DCSASS loader on a hand-built tree with known content, and the torch Dataset over its clips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from utils.datasets.dcsass import clip_path, find_root, load_dcsass, source_video
from utils.datasets.torch_data import ClipDataset, make_loader
from utils.errors import InputError
from utils.video.io import VideoDecodeError, write_video
from utils.video.presets import KINETICS_MEAN, KINETICS_STD, Preset

LABELS = """\
Shoplifting001_x264_0,Shoplifting,0
Shoplifting001_x264_1,Shoplifting,1
Shoplifting001_x264_2,Shoplifting
Shoplifting005_x264_0,Shoplifting,0
Shoplifting005_x264_1,Shoplifting,2
Shoplifting005_x264_2,Shoplifting,1
Shoplifting005_x264_3,Shoplifting,0
Shoplifting001_x264_0,Shoplifting,1
"""
TINY = Preset(name="tiny", sampling="dense", num_frames=4, sampling_rate=2, fps=30.0, resize=32,
              crop=32, mean=KINETICS_MEAN, std=KINETICS_STD, layout="(N, 3, 4, 32, 32)",
              train_short_side=(32, 40), train_crop=32)


def clip(path: Path, level: int) -> None:
    """48x64, 20 frames; the grey level codes which clip it is; a moving bar gives content."""
    frames = np.full((20, 48, 64, 3), level, dtype=np.uint8)
    for t in range(20):
        frames[t, :, 2 * t : 2 * t + 6] = 255
    write_video(path, frames, 30)


@pytest.fixture()
def unzip(tmp_path: Path) -> Path:
    """Known content: rows 3 and 5 malformed, 005_2 missing, 005_3 corrupt, 001_0 listed twice."""
    root = tmp_path / "unzip" / "DCSASS Dataset"
    (root / "Labels").mkdir(parents=True)
    (root / "Labels" / "Shoplifting.csv").write_text(LABELS)
    for name, level in [("Shoplifting001_x264_0", 40), ("Shoplifting001_x264_1", 80),
                        ("Shoplifting001_x264_2", 120), ("Shoplifting005_x264_0", 160),
                        ("Shoplifting005_x264_1", 200)]:
        path = clip_path(root, "Shoplifting", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        clip(path, level)
    clip_path(root, "Shoplifting", "Shoplifting005_x264_3").write_bytes(b"not a video" * 50)
    return tmp_path / "unzip"


def test_layout_helpers() -> None:
    assert source_video("Shoplifting012_x264_17") == "Shoplifting012_x264"
    assert clip_path(Path("R"), "Arson", "Arson003_x264_2") == Path(
        "R/Arson/Arson003_x264.mp4/Arson003_x264_2.mp4")


def test_loader_reports_known_content(unzip: Path) -> None:
    report = load_dcsass(unzip, progress=False)
    assert [(c.name, c.label, c.line) for c in report.clips] == [
        ("Shoplifting001_x264_0", 0, 1), ("Shoplifting001_x264_1", 1, 2),
        ("Shoplifting005_x264_0", 0, 4)]
    assert [(m.line, m.reason) for m in report.malformed] == [
        (3, "2 fields, expected 3"), (5, "label '2' is not 0 or 1")]
    assert report.missing == ["Shoplifting005_x264_2"]
    assert list(report.unreadable) == ["Shoplifting005_x264_3"]
    assert report.duplicates == {"Shoplifting001_x264_0": 8}
    assert report.unlabelled_files == ["Shoplifting001_x264_2", "Shoplifting005_x264_1"]
    assert report.per_label() == {0: 2, 1: 1}
    assert report.per_video() == {"Shoplifting001_x264": {"clips": 2, "positives": 1},
                                  "Shoplifting005_x264": {"clips": 1, "positives": 0}}
    text = report.to_text()
    for expected in ("line 3:", "line 5:", "Shoplifting005_x264_2", "Shoplifting005_x264_3"):
        assert expected in text


def test_root_found_from_either_copy_and_the_kaggle_cache(unzip: Path, tmp_path: Path) -> None:
    top = unzip / "DCSASS Dataset"
    second = unzip / "dcsass dataset" / "DCSASS Dataset"
    shutil.copytree(top, second)
    found = find_root(unzip)
    assert found.path == top and str(second) in found.note
    assert find_root(unzip / "dcsass dataset").path == second
    assert find_root(second).path == second
    cache = tmp_path / "kaggle" / "dcsass-dataset"
    shutil.copytree(unzip, cache / "versions" / "1")
    assert find_root(cache).path == cache / "versions" / "1" / "DCSASS Dataset"
    assert len(load_dcsass(cache, progress=False).clips) == 3


def test_bad_inputs_are_named(tmp_path: Path, unzip: Path) -> None:
    with pytest.raises(InputError, match="no DCSASS copy"):
        find_root(tmp_path / "unzip" / "DCSASS Dataset" / "Shoplifting")
    with pytest.raises(InputError, match="unknown DCSASS category 'Theft'"):
        load_dcsass(unzip, "Theft")
    with pytest.raises(InputError, match=r"Arson\.csv"):
        load_dcsass(unzip, "Arson")


def test_clip_dataset_shapes_labels_and_errors(unzip: Path) -> None:
    report = load_dcsass(unzip, progress=False)
    data = ClipDataset(report.pairs(), TINY)
    x, y = data[1]
    assert x.shape == (3, 4, 32, 32) and x.dtype == torch.float32 and y == 1
    # grey level 80 outside the bar, normalised with mean/std 0.45/0.225
    assert x[:, :, :, -1].median().item() == pytest.approx((80 / 255 - 0.45) / 0.225, abs=0.05)
    views, _ = ClipDataset(report.pairs(), TINY, num_clips=2, num_crops=3)[0]
    assert views.shape == (6, 3, 4, 32, 32)
    corrupt = clip_path(report.root.path, "Shoplifting", "Shoplifting005_x264_3")
    with pytest.raises(VideoDecodeError, match="Shoplifting005_x264_3"):
        ClipDataset([(corrupt, 0)], TINY)[0]
    skipping = ClipDataset([*report.pairs(), (corrupt, 0)], TINY, skip_unreadable=True)
    assert len(skipping) == 3 and list(skipping.skipped) == [str(corrupt)]


def test_loaders_reproducible_across_workers(unzip: Path) -> None:
    pairs = load_dcsass(unzip, progress=False).pairs()
    def epoch(workers: int, seed: int) -> list[torch.Tensor]:
        data = ClipDataset(pairs, TINY, train=True, seed=seed)
        loader = make_loader(data, batch_size=2, shuffle=True, seed=seed, num_workers=workers)
        return [torch.cat([x.flatten(), y.float()]) for x, y in loader]
    first = epoch(0, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(first, epoch(2, seed=3), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, epoch(0, seed=4), strict=True))
