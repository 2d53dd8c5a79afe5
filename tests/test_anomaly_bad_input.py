"""Every bad input of ``actionlab anomaly``: one table row each (arguments built in a temporary
folder, exit code, the exact fragment of the one-line message)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from utils.anomaly.synth import write_synthetic_ucsd
from utils.cli import main

Args = Callable[[Path], list[str]]


def _ucsd(folder: Path) -> Path:
    return write_synthetic_ucsd(folder / "u", train_videos=1, test_videos=1, frames=12,
                                height=32, width=32, progress=False)


def _garbage(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(b"not a checkpoint")
    return path


TRAIN: list[tuple[str, Args, int, str]] = [
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
SCORE: list[tuple[str, Args, int, str]] = [
    ("missing checkpoint", lambda d: [str(_ucsd(d)), "--checkpoint", str(d / "none.pt"),
                                      "--out", str(d / "s"), "--device", "cpu"], 2,
     "none.pt: no such checkpoint file"),
    ("not a checkpoint", lambda d: [str(_ucsd(d)), "--checkpoint", str(_garbage(d, "x.pt")),
                                    "--out", str(d / "s"), "--device", "cpu"], 2,
     "x.pt: not a loadable PyTorch checkpoint"),
]
EVALUATE: list[tuple[str, Args, int, str]] = [
    ("no tables", lambda d: [str(d)], 2, "no per-video .parquet score tables"),
]
COMMANDS = {("anomaly", "train"): TRAIN, ("anomaly", "score"): SCORE,
            ("anomaly", "evaluate"): EVALUATE}
TABLE = [pytest.param(command, args, code, message, id=f"{command[-1]}: {name}")
         for command, rows in COMMANDS.items() for name, args, code, message in rows]


@pytest.mark.parametrize(("command", "args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(command: tuple[str, ...], args: Args, code: int,
                                       message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, *args(tmp_path)]) == code
    err = capsys.readouterr().err.rsplit("\r", 1)[-1]  # after any progress bar
    assert err.startswith("actionlab: error: ") and err.count("\n") == 1, err
    assert message in err, err
