"""Every bad input of ``actionlab bench`` and ``actionlab predict`` named in issue 22: one table
per command (arguments built in a temporary folder, exit code, the fragment of the one-line
message); then what stays on disk when a bench run fails over an earlier one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from bench_helpers import tiny_kinetics

from utils.cli import main
from utils.datasets.kinetics import clip_filename

Args = Callable[[Path, Path], list[str]]  # (clips folder, temporary folder) -> arguments


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_kinetics(tmp_path_factory.mktemp("kinetics"), classes=2, per_class=1)


def _undecodable(folder: Path) -> str:
    (folder / "k").mkdir()
    for label in ("abseiling", "archery"):
        (folder / "k" / clip_filename(label, "AAAAAAAAAAA", 0, 10)).write_bytes(b"broken")
    return str(folder / "k")


def _user_folder(folder: Path) -> str:
    (folder / "mine").mkdir()
    (folder / "mine" / "results.csv").write_text("my own results\n")
    return str(folder / "mine")


def _bench(*extra: str, data: Callable[[Path, Path], str] = lambda c, d: str(c),
           out: Callable[[Path], str] = lambda d: str(d / "b")) -> Args:
    return lambda c, d: ["bench", "--models", "tiny3d", "--weights", "none", "--device", "cpu",
                         "--iters", "1", "--warmup", "0", "--data", data(c, d), "--out", out(d),
                         *extra]


BENCH: list[tuple[str, Args, int, str]] = [
    ("--views 100000x1", _bench("--views", "100000x1"), 2,
     "--views: expected CLIPSxCROPS with 1 <= CLIPS <= 30"),
    ("every clip undecodable", _bench(data=lambda c, d: _undecodable(d)), 2,
     "tiny3d could decode none of the 2 clips (e.g. "),
    ("--out a user's folder", _bench(out=_user_folder), 2,
     "mine: folder is not empty and holds no run.json; refusing to replace files"),
    ("--out a file", _bench(out=lambda d: (d / "f").write_text("x") and str(d / "f")), 2,
     "f: exists and is not a folder; refusing to replace it"),
]
PREDICT: list[tuple[str, Args, int, str]] = [
    ("--views 100000x1", lambda c, d: ["predict", "--model", "tiny3d", "--weights", "none",
                                       str(next(c.glob("*.mp4"))), "--views", "100000x1"], 2,
     "--views: expected CLIPSxCROPS with 1 <= CLIPS <= 30"),
]
COMMANDS = {"bench": BENCH, "predict": PREDICT}
TABLE = [pytest.param(args, code, message, id=f"{command}: {name}")
         for command, rows in COMMANDS.items() for name, args, code, message in rows]


@pytest.mark.parametrize(("args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(args: Args, code: int, message: str, clips: Path,
                                       tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args(clips, tmp_path)) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    line = err[err.find("actionlab: error: "):]  # after the progress bars of the models
    assert line.startswith("actionlab: error: ") and line.count("\n") == 1, err
    assert message in line, err


def test_a_failed_bench_leaves_the_earlier_run_whole(clips: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert main(_bench()(clips, tmp_path)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads(before["run.json"])["run_id"] == json.loads(before["results.json"])[
        "run_id"] == json.loads(before["speed.json"])["run_id"]
    assert main(_bench(data=lambda c, d: _undecodable(d))(clips, tmp_path)) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "k"]  # no temporary folder left
