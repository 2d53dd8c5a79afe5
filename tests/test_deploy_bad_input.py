"""Every bad input of ``actionlab detect``, ``demo`` and ``export``: one table per command
(arguments built in a temporary folder, exit code, the fragment of the one-line message), so the
next bad input is one row. What a message cannot show (a payload that must not have run, files
left as they were) is checked by the tests after the tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from utils import detect
from utils.cli import main
from utils.video.io import write_video

Args = Callable[[Path], list[str]]
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
    frames = np.random.default_rng(0).integers(0, 256, (4, 64, 96, 3), dtype=np.uint8)
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
    return lambda d: ["--weights", weights(d), "--out", str(d / "o"), *extra]


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
]


def _source_first(command: str, rows: list[tuple[str, Args, int, str]]) -> list[object]:
    return [pytest.param(command, args, code, message, id=f"{command}: {name}")
            for name, args, code, message in rows]


@pytest.mark.parametrize(("command", "args", "code", "message"), _source_first("detect", DETECT))
def test_bad_input_exits_with_one_line(command: str, args: Args, code: int, message: str,
                                       video: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--source", str(video), *args(tmp_path)]) == code
    err = capsys.readouterr().err.rsplit("\r", 1)[-1]  # after any progress bar
    assert err.startswith("actionlab: error: ") and err.count("\n") == 1, err
    assert message in err, err


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
