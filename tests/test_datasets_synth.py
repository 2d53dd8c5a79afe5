"""Synthetic data: the real loaders read it, same seed -> same bytes, and the patterns exist."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from utils.datamode import DataChoice
from utils.datasets import synth
from utils.datasets.dcsass import find_root, load_dcsass
from utils.datasets.kinetics import kinetics_classes, load_kinetics_sample, parse_clip_name
from utils.errors import InputError

SMALL = synth.ClipSize(height=48, width=64, frames=16)


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_dcsass_deterministic_and_read_by_the_real_loader(tmp_path: Path) -> None:
    kwargs = {"seed": 5, "videos": 3, "clips_per_video": 4, "size": SMALL, "progress": False}
    a = synth.write_synthetic_dcsass(tmp_path / "a", **kwargs)
    b = synth.write_synthetic_dcsass(tmp_path / "b", **kwargs)
    assert digest(a) == digest(b)
    c = synth.write_synthetic_dcsass(tmp_path / "c", **{**kwargs, "seed": 6})
    assert digest(c) != digest(a)
    report = load_dcsass(a, progress=False)
    assert len(report.clips) == 11 and len(report.malformed) == 1
    assert report.unlabelled_files == [report.malformed[0].text.split(",")[0]]
    assert not report.missing and not report.unreadable
    assert len(report.per_video()) == 3
    labels = (a / "DCSASS Dataset" / "Labels" / "Shoplifting.csv").read_text().splitlines()
    assert len(labels) == 12 and labels[0].startswith("Shoplifting")
    assert all(p.is_dir() for p in (a / "DCSASS Dataset" / "Shoplifting").iterdir())


def test_dcsass_second_copy_and_reuse(tmp_path: Path) -> None:
    kwargs = {"videos": 1, "clips_per_video": 2, "size": SMALL, "progress": False}
    out = synth.write_synthetic_dcsass(tmp_path, both_copies=True, **kwargs)
    assert "ignoring the duplicate copy" in find_root(out).note
    assert digest(out / "DCSASS Dataset") == digest(out / "dcsass dataset" / "DCSASS Dataset")
    label_file = out / "DCSASS Dataset" / "Labels" / "Shoplifting.csv"
    stamp = label_file.stat().st_mtime_ns
    synth.write_synthetic_dcsass(tmp_path, both_copies=True, **kwargs)  # same request: reused
    assert label_file.stat().st_mtime_ns == stamp
    synth.write_synthetic_dcsass(tmp_path, **kwargs)  # different request: regenerated
    assert not (out / "dcsass dataset").exists()


def test_never_overwrites_real_data(tmp_path: Path) -> None:
    (tmp_path / "DCSASS Dataset").mkdir()
    with pytest.raises(InputError, match="not generated here"):
        synth.write_synthetic_dcsass(tmp_path, size=SMALL, progress=False)
    (tmp_path / "abseiling-AAAAAAAAAAA-0-10.mp4").write_bytes(b"real clip")
    with pytest.raises(InputError, match="not generated here"):
        synth.write_synthetic_kinetics(tmp_path, size=SMALL, progress=False)


def test_theft_runs_rate_and_contiguity() -> None:
    runs = synth._theft_runs(2000, 32, 0.17, np.random.default_rng(0))
    assert np.mean(np.concatenate(runs)) == pytest.approx(0.17, abs=0.01)
    assert np.mean([r.sum() == 0 for r in runs]) == pytest.approx(0.15, abs=0.02)
    assert all(np.count_nonzero(np.diff(np.r_[0, r, 0])) <= 2 for r in runs)  # one run at most


def test_theft_item_ends_in_the_pocket_only_in_positives() -> None:
    size = synth.ClipSize(height=120, width=160, frames=30)
    scene = synth._scene(size, np.random.default_rng(0))
    colour = np.array(scene.item_colour)

    def item_pixels(frame: np.ndarray) -> int:
        return int((frame == colour).all(axis=-1).sum())

    background = item_pixels(scene.background)  # shelf products may share the colour
    for seed in range(6):
        pos = synth._shop_clip(scene, 1, size, np.random.default_rng(seed))
        neg = synth._shop_clip(scene, 0, size, np.random.default_rng(seed))
        assert item_pixels(pos[0]) > background  # on the shelf at the start
        assert item_pixels(pos[-1]) == background  # gone into the pocket
        assert item_pixels(neg[-1]) > background  # left on the shelf or put back


def test_kinetics_names_classes_and_motion(tmp_path: Path) -> None:
    out = synth.write_synthetic_kinetics(tmp_path / "k", seed=2, classes=5, clips_per_class=3,
                                         size=SMALL, progress=False)
    report = load_kinetics_sample(out, progress=False)
    assert len(report.samples) == 15 and not report.left_out()
    names = kinetics_classes()
    assert sorted(report.counts()) == sorted(names[i * 80] for i in range(5))
    assert any("-" in parse_clip_name(s.path.name).youtube_id for s in report.samples)
    again = synth.write_synthetic_kinetics(tmp_path / "k2", seed=2, classes=5,
                                           clips_per_class=3, size=SMALL, progress=False)
    assert digest(out) == digest(again)
    # class c moves along angle 2*pi*c/N: class 0 right, so its centroid's x grows, y stays
    clip = synth._motion_clip(0, 4, synth.ClipSize(96, 128, frames=16), np.random.default_rng(1))
    mask = (clip.astype(int) - clip[:, :1, :1].astype(int)).any(axis=-1)
    xs = [np.nonzero(m)[1].mean() for m in mask[::5]]
    ys = [np.nonzero(m)[0].mean() for m in mask[::5]]
    assert np.all(np.diff(xs) > 0) and np.ptp(ys) < 2


def test_bad_sizes() -> None:
    with pytest.raises(InputError, match="even"):
        synth.ClipSize(height=47)
    with pytest.raises(InputError, match="16 frames"):
        synth.ClipSize(frames=8)


def test_data_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "SYNTHETIC_DIR", tmp_path / "synthetic")
    monkeypatch.setattr(synth, "DCSASS_DIR", tmp_path / "dcsass")
    choice = synth.choose_dcsass("auto", videos=1, clips_per_video=2, size=SMALL, progress=False)
    assert choice.synthetic and choice.path == tmp_path / "synthetic" / "dcsass"
    assert len(load_dcsass(choice.path, progress=False).clips) == 1
    with pytest.raises(InputError, match="DATA='real'"):
        synth.choose_dcsass("real")
    (tmp_path / "dcsass").mkdir()
    assert synth.choose_dcsass("auto") == DataChoice(tmp_path / "dcsass", synthetic=False)


def test_kinetics_data_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "SYNTHETIC_DIR", tmp_path / "synthetic")
    monkeypatch.setattr(synth, "KINETICS_SAMPLE_DIR", tmp_path / "kinetics_sample")
    choice = synth.choose_kinetics_sample("auto", classes=2, clips_per_class=1, size=SMALL,
                                          progress=False)
    assert choice.synthetic and choice.path == tmp_path / "synthetic" / "kinetics_sample"
    assert len(load_kinetics_sample(choice.path, progress=False).samples) == 2
    with pytest.raises(InputError, match="DATA='real'"):
        synth.choose_kinetics_sample("real")
    (tmp_path / "kinetics_sample").mkdir()
    assert synth.choose_kinetics_sample("auto") == DataChoice(tmp_path / "kinetics_sample",
                                                              synthetic=False)
