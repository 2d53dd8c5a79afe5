"""Every bad input of ``actionlab detect``, ``demo`` and ``export``: one table per command
(arguments built in a temporary folder, exit code, the fragment of the one-line message), so the
next bad input is one row. What a message cannot show (a payload that must not have run, files
left as they were) is checked by the tests after the tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from bad_input import one_error_line

from utils.cli import main
from utils.deploy import detect
from utils.video.io import write_video

Args = Callable[[Path, Path], list[str]]  # (temporary folder, a video) -> arguments
MARKER = "payload-ran"


class Payload:
    """Pickles as a call to ``exec`` that creates the file ``MARKER`` beside the checkpoint."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.folder / MARKER)!r}, 'w').close()",)


def payload(folder: Path) -> str:
    """A YOLO-looking checkpoint (``{"model": ...}``) whose unpickling runs code."""
    torch.save({"model": Payload(folder), "train_args": {}}, folder / "evil.pt")
    return str(folder / "evil.pt")


@pytest.fixture(scope="module")
def yolo_pt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ultralytics checkpoint of yolov8n (boxes), random weights, saved by ultralytics."""
    path = tmp_path_factory.mktemp("yolo") / "yolov8n-random.pt"
    detect.load_yolo(weights="none").model.save(path)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = np.random.default_rng(0).integers(0, 256, (16, 64, 96, 3), dtype=np.uint8)
    return write_video(tmp_path_factory.mktemp("src") / "walk.mp4", frames, 12.0)


def _bytes(data: bytes, name: str = "w.pt") -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(data)
        return str(folder / name)
    return make


def _truncated(folder: Path) -> str:
    """A torch zip checkpoint cut in half."""
    torch.save({"model": torch.zeros(4096)}, folder / "w.pt")
    data = (folder / "w.pt").read_bytes()
    (folder / "w.pt").write_bytes(data[: len(data) // 2])
    return str(folder / "w.pt")


def _detect(weights: Callable[[Path], str], *extra: str) -> Args:
    return lambda d, v: ["--source", str(v), "--weights", weights(d), "--out", str(d / "o"),
                         *extra]


def _with_user_file(folder: Path) -> str:
    """An existing folder holding a file of the user's, named as an output would be."""
    (folder / "mine").mkdir()
    (folder / "mine" / "detections.csv").write_text("my own table\n")
    return str(folder / "mine")


def _file(folder: Path, name: str = "f.txt") -> str:
    (folder / name).write_text("a file\n")
    return str(folder / name)


def _tiny(folder: Path, frames: int, name: str) -> str:
    rng = np.random.default_rng(1)
    return str(write_video(folder / name, rng.integers(0, 256, (frames, 32, 48, 3), np.uint8), 8))


def _png(folder: Path) -> str:
    cv2.imwrite(str(folder / "p.png"), np.zeros((32, 48, 3), np.uint8))
    return str(folder / "p.png")


def _pick(flag: str) -> Callable[[Path, Path], list[str]]:
    return lambda d, v: ["--source", str(v), "--weights", "none", "--out", str(d / "o"), flag]


DETECT: list[tuple[str, Args, int, str]] = [
    ("code in the checkpoint", _detect(payload), 2,
     "evil.pt: it holds code or objects a weights-only load does not allow (GLOBAL exec); "
     "refused, nothing in it was run"),
    ("code in the checkpoint, --pose", _detect(payload, "--pose"), 2,
     "refused, nothing in it was run"),
    ("empty checkpoint", _detect(_bytes(b"")), 2,
     "w.pt: not a YOLO checkpoint (empty, truncated or another kind of file"),
    ("text as checkpoint", _detect(_bytes(b"weights\n")), 2,
     "w.pt: a weights-only load cannot read it (Unsupported operand 119); refused"),
    ("truncated checkpoint", _detect(_truncated), 2,
     "w.pt: not a YOLO checkpoint (empty, truncated or another kind of file"),
    ("state dict, not a model", _detect(lambda d: (torch.save({"w": torch.zeros(2)}, d / "s.pt"),
                                                   str(d / "s.pt"))[1]), 2,
     "s.pt: not a YOLO checkpoint"),
    ("--conf -1", lambda d, v: [*_pick("--conf")(d, v), "-1"], 2,
     "--conf must be a number in [0, 1], got -1.0"),
    ("--conf nan", lambda d, v: [*_pick("--conf")(d, v), "nan"], 2,
     "--conf must be a number in [0, 1], got nan"),
    ("--imgsz 16", lambda d, v: [*_pick("--imgsz")(d, v), "16"], 2,  # positive, too small
     "--imgsz must be >= 32 pixels, got 16"),
    ("--out a file", lambda d, v: ["--source", str(v), "--weights", "none", "--out", _file(d)],
     2, "f.txt: exists and is not a folder; refusing to replace it"),
    ("--out a symlink", lambda d, v: ["--source", str(v), "--weights", "none", "--out",
                                      (d / "l").symlink_to(d) or str(d / "l")],
     2, "l: exists and is not a folder; refusing to replace it"),
    ("--out holds a user's detections.csv", lambda d, v: [
        "--source", str(v), "--weights", "none", "--out", _with_user_file(d)], 2,
     "mine: folder is not empty and holds no run.json; refusing to replace files"),
    ("--out not writable", lambda d, v: ["--source", str(v), "--weights", "none", "--out",
                                         "/proc/detect-out"], 2, "/proc/detect-out: cannot "),
]

_DEMO = ["--model", "tiny3d", "--weights", "none"]
DEMO: list[tuple[str, Args, int, str]] = [
    ("--out is the --source", lambda d, v: [*_DEMO, "--source", str(v), "--out", str(v)], 2,
     "walk.mp4: is the input"),
    ("--out links to the --source", lambda d, v: [
        *_DEMO, "--source", str(v), "--out", (d / "l.mp4").symlink_to(v) or str(d / "l.mp4")],
     2, "l.mp4: is the input"),
    ("--out a folder", lambda d, v: [*_DEMO, "--source", str(v), "--out", str(d)], 2,
     "is a folder, not a regular file; refusing to replace it"),
    ("--out not writable", lambda d, v: [*_DEMO, "--source", str(v), "--out", "/proc/o.mp4"],
     2, "/proc/o.mp4: cannot "),
    ("a 1-frame video", lambda d, v: [*_DEMO, "--source", _tiny(d, 1, "one.mp4"), "--out",
                                      str(d / "o.mp4")],
     2, "one.mp4: 1 frame(s), fewer than one model window (9 frames): no prediction"),
    ("a PNG as source", lambda d, v: [*_DEMO, "--source", _png(d), "--out", str(d / "o.mp4")],
     2, "p.png: 1 frame(s), fewer than one model window"),
    ("--show without a display", lambda d, v: [*_DEMO, "--source", str(v), "--show", "--out",
                                               str(d / "o.mp4")],
     2, "--show needs a display (neither DISPLAY nor WAYLAND_DISPLAY is set)"),
    ("an undecodable file", lambda d, v: [*_DEMO, "--source", _bytes(b"junk", "j.mp4")(d),
                                          "--out", str(d / "o.mp4")], 2,
     "j.mp4: cannot open ("),
    ("an absent camera", lambda d, v: [*_DEMO, "--source", "9"], 2,
     "--source 9: cannot open camera 9"),
]
EXPORT: list[tuple[str, Args, int, str]] = [
    ("--out is the --weights checkpoint", lambda d, v: [
        "--model", "tiny3d", "--weights", _bytes(b"checkpoint", "w.pth")(d), "--out",
        str(d / "w.pth")], 2,
     "w.pth: is the input"),
    ("--out a folder", lambda d, v: ["--model", "tiny3d", "--weights", "none", "--out", str(d)],
     2,
     "is a folder, not a regular file; refusing to replace it"),
]
COMMANDS = {"detect": DETECT, "demo": DEMO, "export": EXPORT}
TABLE = [pytest.param(command, args, code, message, id=f"{command}: {name}")
         for command, rows in COMMANDS.items() for name, args, code, message in rows]


@pytest.mark.parametrize(("command", "args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(command: str, args: Args, code: int, message: str,
                                       video: Path, tmp_path: Path,
                                       capfd: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # capfd: what native code (OpenCV, ultralytics) writes to the file descriptor counts too
    one_error_line(capfd, [command, *args(tmp_path, video)], code, message)


def test_outputs_never_replace_inputs_or_user_files(video: Path, tmp_path: Path) -> None:
    before = video.read_bytes()
    assert main(["demo", *_DEMO, "--source", str(video), "--out", str(video)]) == 2
    assert video.read_bytes() == before
    checkpoint = Path(_bytes(b"checkpoint", "w.pth")(tmp_path))
    assert main(["export", "--model", "tiny3d", "--weights", str(checkpoint), "--out",
                 str(checkpoint)]) == 2
    assert checkpoint.read_bytes() == b"checkpoint"
    checkpoint.unlink()
    mine = Path(_with_user_file(tmp_path))
    assert main(["detect", "--source", str(video), "--weights", "none", "--out", str(mine)]) == 2
    assert sorted(p.name for p in mine.iterdir()) == ["detections.csv"]
    assert (mine / "detections.csv").read_text() == "my own table\n"
    # a folder of an earlier detect run is replaced whole
    out = tmp_path / "run"
    for conf in ("0.9", "0.00001"):
        assert main(["detect", "--source", str(video), "--weights", "none", "--conf", conf,
                     "--imgsz", "64", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["annotated.mp4", "detections.csv",
                                                     "run.json", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["conf"] == 0.00001
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "run"]


@pytest.mark.parametrize("pose", [False, True], ids=["boxes", "pose"])
def test_code_in_a_yolo_checkpoint_is_never_run(pose: bool, video: Path, tmp_path: Path) -> None:
    evil = payload(tmp_path)
    args = ["detect", "--source", str(video), "--weights", evil, "--out", str(tmp_path / "o")]
    assert main([*args, *(["--pose"] if pose else [])]) == 2
    assert not (tmp_path / MARKER).exists()
    assert not (tmp_path / "o").exists()
    # the payload is live: an unrestricted load (what ultralytics does by default) runs it
    torch.load(evil, weights_only=False)
    assert (tmp_path / MARKER).exists()


def test_a_real_checkpoint_still_loads_and_its_task_is_checked(yolo_pt: Path) -> None:
    yolo = detect.load_yolo(weights=str(yolo_pt))
    assert yolo.pretrained and yolo.model.task == "detect"
    built = detect.load_yolo(weights="none").model.model.state_dict()
    loaded = yolo.model.model.state_dict()
    assert built.keys() == loaded.keys()
    with pytest.raises(detect.InputError, match="a YOLO 'detect' model; --pose needs a 'pose'"):
        detect.load_yolo(weights=str(yolo_pt), pose=True)


def test_a_rotated_phone_video_is_read_upright(tmp_path: Path) -> None:
    """demo and detect read frames through FrameSource: a phone video's display rotation is
    applied there as predict and score apply it (utils.video.io), not left sideways."""
    from test_video_io import _set_track_matrix

    from utils.deploy.stream import FrameSource

    scene = np.zeros((4, 64, 48, 3), np.uint8)  # portrait: 64 high, 48 wide
    scene[:, :16, :16] = [255, 0, 0]  # red top-left
    stored = np.ascontiguousarray(np.rot90(scene, 1, axes=(1, 2)))  # sensor frames: 48 x 64
    path = write_video(tmp_path / "IMG_0001.mp4", stored, 12.0)
    one = 1 << 16
    _set_track_matrix(path, (0, one, 0, -one, 0, 0, 48 * one, 0, 1 << 30))
    source = FrameSource(str(path))
    assert (source.info.height, source.info.width) == (64, 48)
    frames = np.stack(list(source))
    assert frames.shape == (4, 64, 48, 3)
    assert frames[:, :12, :12, 0].min() > 200 and frames[:, :12, :12, 1:].max() < 60
