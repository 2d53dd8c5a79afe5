"""Every bad input of the ``actionlab data`` and ``anomaly`` commands: one table per command
(arguments built in a temporary folder, exit code, the exact fragment of the message), so the
next bad input is one row; then what ``data check`` lists for clips it cannot use (truncated
files, broken links)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from bad_input import one_error_line, table

from utils.anomaly.synth import write_synthetic_ucsd
from utils.cli import main
from utils.datasets import synth
from utils.datasets.clips import decode_all
from utils.datasets.kinetics import clip_filename
from utils.errors import InputError
from utils.video.io import VideoDecodeError, probe, write_video

TINY = ["--height", "48", "--width", "64", "--frames", "16"]
Args = Callable[[Path], list[str]]


def _clip(path: Path, n: int = 48) -> Path:
    """A clip whose frames differ (so the encoder cannot make later frames nearly empty)."""
    rng = np.random.default_rng(0)
    return write_video(path, rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8), 30)


def _faststart_truncated(folder: Path, name: str) -> Path:
    """An MP4 with its index (moov) first, cut to 60 %: the index still lists every frame."""
    source = _clip(folder / "whole.mp4")
    out = folder / name
    with av.open(str(source)) as src, av.open(str(out), "w", format="mp4",
                                              options={"movflags": "+faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    source.unlink()
    data = out.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first, as the case needs
    out.write_bytes(data[: int(len(data) * 0.6)])
    return out


def _kinetics(folder: Path, *broken: str) -> Path:
    """A Kinetics folder with one good clip and the given kinds of broken entries."""
    root = folder / "k"
    root.mkdir()
    _clip(root / clip_filename("abseiling", "AAAAAAAAAAA", 0, 10))
    name = {kind: clip_filename("archery", f"{kind[:4].upper()}BBBBBBB", 0, 10)
            for kind in ("truncated", "dangling", "loop")}
    if "truncated" in broken:
        _faststart_truncated(root, name["truncated"])
    if "dangling" in broken:
        (root / name["dangling"]).symlink_to(folder / "gone.mp4")
    if "loop" in broken:
        (root / name["loop"]).symlink_to(root / name["loop"])
    return root


def _only_links(folder: Path) -> Path:
    root = _kinetics(folder, "dangling", "loop")
    for path in root.iterdir():
        if not path.is_symlink():
            path.unlink()
    return root


def _dcsass(folder: Path, labels: bytes | None = None) -> Path:
    """A tiny generated DCSASS copy; ``labels`` replaces its Shoplifting label file."""
    out = synth.write_synthetic_dcsass(folder / "d", videos=1, clips_per_video=2,
                                       size=synth.ClipSize(32, 48, frames=16), progress=False)
    if labels is not None:
        (out / synth.COPY_NAME / "Labels" / "Shoplifting.csv").write_bytes(labels)
    return out


LATIN1 = "Shoplifting001_x264_0,Shoplifting,1\ncaf\xe9_1,Shoplifting,0\n".encode("latin-1")
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def _file(folder: Path) -> str:
    (folder / "f").write_text("a file\n")
    return str(folder / "f")


def _ucsd(folder: Path) -> Path:
    return write_synthetic_ucsd(folder / "u", train_videos=1, test_videos=1, frames=12,
                                height=32, width=32, progress=False)


def _garbage(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"not a checkpoint")
    return path


def _ucsd_bad_m(folder: Path) -> Path:
    """A generated UCSD folder whose .m file has a range written with a dash."""
    out = _ucsd(folder)
    gt = out / "UCSDped2" / "Test" / "UCSDped2.m"
    gt.write_text(gt.read_text().replace(gt.read_text().splitlines()[2],
                                         "TestVideoFile{end+1}.gt_frame = [12-20];"))
    return out


CHECK: list[tuple[str, Args, int, str]] = [
    ("latin-1 labels", lambda d: [str(_dcsass(d, LATIN1))], 2,
     "Shoplifting.csv: not UTF-8 text (invalid continuation byte); save it as UTF-8"),
    ("binary labels", lambda d: [str(_dcsass(d, BINARY))], 2,
     "Shoplifting.csv: not UTF-8 text (invalid start byte)"),
    ("NUL bytes in labels", lambda d: [str(_dcsass(d, b"a_1,Shoplifting,1\x00\n"))], 2,
     "Shoplifting.csv: binary data on line 1, not a CSV of labels"),
    ("not a dataset", lambda d: [str(d)], 2, "neither a DCSASS copy nor a folder of Kinetics"),
    ("missing folder", lambda d: [str(d / "none")], 2, "neither a DCSASS copy"),
    ("UCSD .m with a bad range", lambda d: [str(_ucsd_bad_m(d))], 2,
     "UCSDped2.m:3: cannot read frame range '12-20'"),
]
SYNTH: list[tuple[str, Args, int, str]] = [
    ("more memory than there is", lambda d: ["kinetics", "--out", str(d / "k"), "--height",
                                             "10000", "--width", "10000", "--frames", "10000"],
     2, "a 10000x10000 clip of 10000 frames needs 5587.9 GiB of memory"),
    ("odd size", lambda d: ["kinetics", "--out", str(d / "k"), "--height", "33"], 2,
     "clip size must be even and >= 32, got 33x320"),
    ("too few frames", lambda d: ["dcsass", "--out", str(d / "k"), "--frames", "8"], 2,
     "clips need at least 16 frames, got 8"),
    ("UCSD too few frames", lambda d: ["ucsd", "--out", str(d / "u"), "--frames", "8"], 2,
     "need >= 1 train and test video, >= 12 frames"),
    ("unknown category", lambda d: ["dcsass", "--out", str(d / "k"), "--category", "Nope",
                                    *TINY], 2, "unknown DCSASS category 'Nope'"),
    ("dcsass --out an existing file", lambda d: ["dcsass", "--out", _file(d), *TINY], 2,
     "f: exists and is not a folder"),
    ("kinetics --out an existing file", lambda d: ["kinetics", "--out", _file(d), *TINY], 2,
     "f: exists and is not a folder"),
]
SPLIT: list[tuple[str, Args, int, str]] = [
    ("latin-1 labels", lambda d: [str(_dcsass(d, LATIN1)), "--out", str(d / "s.csv")], 2,
     "Shoplifting.csv: not UTF-8 text (invalid continuation byte)"),
    ("not a dataset", lambda d: [str(d), "--out", str(d / "s.csv")], 2,
     "neither a DCSASS copy"),
    ("only broken links", lambda d: [str(_only_links(d)), "--out", str(d / "s.csv")], 2,
     "k: no readable labelled clip to split"),
    ("val + test >= 1", lambda d: [str(_kinetics(d)), "--out", str(d / "s.csv"), "--val", "0.6",
                                   "--test", "0.5"], 2,
     "split fractions need 0 <= val, test and val + test < 1 (got 0.6, 0.5)"),
]
ANOMALY_TRAIN: list[tuple[str, Args, int, str]] = [
    ("not a UCSD folder", lambda d: [str(d), "--out", str(d / "m.pt")], 2,
     "no UCSD UCSDped2 folder (expected UCSDped2/Train and UCSDped2/Test"),
    ("size not a multiple of 4", lambda d: [str(_ucsd(d)), "--out", str(d / "m.pt"), "--size",
                                            "30", "32"], 2, "--size must be multiples of 4"),
    ("out is a folder", lambda d: [str(_ucsd(d)), "--out", str(d), "--epochs", "1", "--size",
                                   "32", "32", "--width", "2", "--device", "cpu"], 2,
     "is a folder, not a regular file"),
    ("cuda without a GPU", lambda d: [str(_ucsd(d)), "--out", str(d / "m.pt"), "--device",
                                      "cuda:7"], 2, "but CUDA is not available"),
]
ANOMALY_SCORE: list[tuple[str, Args, int, str]] = [
    ("missing checkpoint", lambda d: [str(_ucsd(d)), "--checkpoint", str(d / "none.pt"),
                                      "--out", str(d / "s"), "--device", "cpu"], 2,
     "none.pt: no such checkpoint file"),
    ("not a checkpoint", lambda d: [str(_ucsd(d)), "--checkpoint", str(_garbage(d, "x.pt")),
                                    "--out", str(d / "s"), "--device", "cpu"], 2,
     "x.pt: not a loadable PyTorch checkpoint"),
]
ANOMALY_EVALUATE: list[tuple[str, Args, int, str]] = [
    ("no tables", lambda d: [str(d)], 2, "no per-video .parquet score tables"),
]
COMMANDS = {("data", "check"): CHECK, ("data", "synth"): SYNTH, ("data", "split"): SPLIT,
            ("anomaly", "train"): ANOMALY_TRAIN, ("anomaly", "score"): ANOMALY_SCORE,
            ("anomaly", "evaluate"): ANOMALY_EVALUATE}
TABLE = table(COMMANDS)


@pytest.mark.parametrize(("command", "args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(command: tuple[str, ...], args: Args, code: int,
                                       message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, [*command, *args(tmp_path)], code, message)


def test_memory_is_checked_before_generating(monkeypatch: pytest.MonkeyPatch) -> None:
    size = synth.ClipSize(240, 320, frames=60)
    assert size.memory_needed() == 2 * 60 * 240 * 320 * 3
    monkeypatch.setattr(synth, "available_memory", lambda: size.memory_needed() - 1)
    with pytest.raises(InputError, match=r"needs 0\.0 GiB of memory, 0\.0 GiB is available"):
        synth.ClipSize(240, 320, frames=60)
    assert 0 < synth.available_memory() < 2**50


def test_a_truncated_clip_with_its_index_first_is_not_readable(tmp_path: Path) -> None:
    clip = _faststart_truncated(tmp_path, "t.mp4")
    # the index promises 48 frames; probing counts the packets really there
    with pytest.raises(VideoDecodeError, match=r"truncated: \d+ of the 48 frames announced"):
        probe(clip)
    with pytest.raises(VideoDecodeError, match=r"truncated: \d+ of the 48 frames announced"):
        decode_all(clip)
    assert decode_all(_clip(tmp_path / "whole.mp4")) == 48


def test_check_names_truncated_clips_and_broken_links(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = _kinetics(tmp_path, "truncated", "dangling", "loop")
    assert main(["data", "check", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["usable_clips"] == 1
    [truncated] = report["unreadable"]
    assert truncated.startswith("archery-TRUN") and "truncated" in report["unreadable"][truncated]
    assert {n[:12]: why for n, why in report["broken_links"].items()} == {
        "archery-DANG": f"dangling symlink to {tmp_path / 'gone.mp4'}",
        "archery-LOOP": "symlink loop"}
    assert main(["data", "check", str(root)]) == 0
    text = capsys.readouterr().out
    assert "3 clips left out:" in text and "symlink loop" in text


def test_check_of_only_broken_links_exits_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = _only_links(tmp_path)
    assert main(["data", "check", str(root)]) == 2
    captured = capsys.readouterr()
    assert "2 clips left out:" in captured.out and "no readable labelled clip" in captured.err
