"""Every bad input of ``actionlab finetune`` and ``actionlab score``: one table per command
(arguments built in a temporary folder, exit code, the fragment of the one-line message), so the
next bad input is one row. A damaged run folder is built from a real run: an edited file with
its hash updated in ``run.json`` (a run folder that is whole but wrong), or not updated (files
of different runs). Ctrl-C of the long commands is checked after the tables."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from bad_input import one_error_line
from safetensors.torch import save_file

from utils.cli import main
from utils.datasets.dcsass import COPY_NAME
from utils.datasets.synth import ClipSize, write_synthetic_dcsass
from utils.finetune.run import finetune
from utils.io import RUN_MANIFEST, file_sha256

Args = Callable[[dict[str, Path], Path], list[str]]  # (fixtures, temporary folder) -> arguments


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny generated DCSASS copy, a finetune run on it, and one of its clips."""
    base = tmp_path_factory.mktemp("ft")
    data = write_synthetic_dcsass(base / "data", videos=6, clips_per_video=4, seed=2,
                                  positive_rate=0.4, size=ClipSize(48, 64, frames=32),
                                  progress=False)
    finetune(data, out=base / "run", backbone="tiny3d", weights="none", epochs=1, n_boot=10,
             cache_dir=None, device="cpu", progress=False)
    clip = next((data / COPY_NAME / "Shoplifting").glob("*.mp4/*.mp4"))
    return {"data": data, "run": base / "run", "clip": clip}


def _copy_data(m: dict[str, Path], d: Path, change: Callable[[Path], Any]) -> str:
    data = Path(shutil.copytree(m["data"], d / "data"))
    change(data / COPY_NAME)
    return str(data)


def _latin1(root: Path) -> None:
    (root / "Labels" / "Shoplifting.csv").write_bytes("caf\xe9_1,Shoplifting,1\n".encode("latin-1"))


def _corrupt_all(root: Path) -> None:
    for clip in (root / "Shoplifting").glob("*.mp4/*.mp4"):
        clip.write_bytes(b"not a video")


def _ft(m: dict[str, Path], d: Path, *extra: str, data: str | None = None,
        out: str | None = None) -> list[str]:
    return ["finetune", "--data", data or str(m["data"]), "--backbone", "tiny3d", "--weights",
            "none", "--epochs", "1", "--n-boot", "10", "--device", "cpu", "--cache",
            str(d / "cache"), "--out", out or str(d / "run"), *extra]


def _user_folder(d: Path) -> str:
    (d / "mine").mkdir()
    (d / "mine" / "scores.csv").write_text("my own scores\n")
    return str(d / "mine")


FINETUNE: list[tuple[str, Args, int, str]] = [
    ("latin-1 labels", lambda m, d: _ft(m, d, data=_copy_data(m, d, _latin1)), 2,
     "Shoplifting.csv: not UTF-8 text (invalid continuation byte)"),
    ("every clip corrupt", lambda m, d: _ft(m, d, data=_copy_data(m, d, _corrupt_all)), 2,
     "no readable labelled clip to train on (24 left out, e.g. "),
    ("--lr nan", lambda m, d: _ft(m, d, "--lr", "nan"), 2, "--lr must be a finite number"),
    ("--lr -1", lambda m, d: _ft(m, d, "--lr", "-1"), 2, "--lr must be > 0, got -1.0"),
    ("--seed -5", lambda m, d: _ft(m, d, "--seed", "-5"), 2, "--seed must be >= 0, got -5"),
    ("--target-recall 1.5", lambda m, d: _ft(m, d, "--target-recall", "1.5"), 2,
     "--target-recall must be <= 1, got 1.5"),
    ("--out an existing file", lambda m, d: _ft(m, d, out=str(m["clip"])), 2,
     ".mp4: exists and is not a folder; refusing to replace it"),
    ("--out holds a user's scores.csv", lambda m, d: _ft(m, d, out=_user_folder(d)), 2,
     "mine: folder is not empty and holds no run.json; refusing to replace files"),
    ("--out not writable", lambda m, d: _ft(m, d, out="/proc/run"), 2, "/proc/run: cannot "),
]


def _run(m: dict[str, Path], d: Path, name: str, change: Callable[[Path], Any],
         rehash: bool = True) -> str:
    """A copy of the run with ``change`` applied to file ``name`` (its hash in run.json updated
    unless ``rehash`` is False)."""
    run = Path(shutil.copytree(m["run"], d / "run"))
    change(run / name)
    if rehash:
        manifest = json.loads((run / RUN_MANIFEST).read_text())
        if (run / name).exists():
            manifest["files"][name] = file_sha256(run / name)
        (run / RUN_MANIFEST).write_text(json.dumps(manifest))
    return str(run)


def _json_edit(edit: Callable[[Any], Any]) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    return change


def _drop(key: str) -> Callable[[Path], None]:
    return _json_edit(lambda c: {k: v for k, v in c.items() if k != key})


def _set(key: str, value: Any) -> Callable[[Path], None]:
    return _json_edit(lambda c: {**c, key: value})


def _threshold(value: Any) -> Callable[[Path], None]:
    return _json_edit(lambda m: {**m, "threshold": {**m["threshold"], "value": value}})


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def _pickled(path: Path) -> None:
    torch.save({"0.weight": torch.zeros(1, 8)}, path)


def _wide_head(path: Path) -> None:
    save_file({"0.weight": torch.zeros(1, 999), "0.bias": torch.zeros(1)}, str(path),
              metadata={"kind": "linear", "in_dim": "999"})


def _sc(run: Callable[[dict[str, Path], Path], str], *extra: str) -> Args:
    return lambda m, d: ["score", "--run", run(m, d), "--device", "cpu", str(m["clip"]), *extra]


SCORE: list[tuple[str, Args, int, str]] = [
    ("files of two runs", _sc(lambda m, d: _run(m, d, "head.safetensors", _wide_head, False)),
     2, "head.safetensors is not the file run "),
    ("no backbone key", _sc(lambda m, d: _run(m, d, "config.json", _drop("backbone"))), 2,
     "config.json: 'backbone' missing or not a str (got None)"),
    ("a list as config", _sc(lambda m, d: _run(m, d, "config.json", _json_edit(lambda c: [c]))),
     2, "config.json and metrics.json must hold JSON objects"),
    ("a string seed", _sc(lambda m, d: _run(m, d, "config.json", _set("seed", "0"))), 2,
     "config.json: 'seed' missing or not a int (got '0')"),
    ("no threshold", _sc(lambda m, d: _run(m, d, "metrics.json", _drop("threshold"))), 2,
     "metrics.json: threshold value must be a number in [0, 1], got None"),
    ("threshold NaN", _sc(lambda m, d: _run(m, d, "metrics.json", _threshold(float("nan")))), 2,
     "metrics.json: threshold value must be a number in [0, 1], got nan"),
    ("truncated head", _sc(lambda m, d: _run(m, d, "head.safetensors", _truncate)), 2,
     "head.safetensors: not a head saved by a run"),
    ("pickled head", _sc(lambda m, d: _run(m, d, "head.safetensors", _pickled)), 2,
     "head.safetensors: not a head saved by a run"),
    ("head of the wrong size", _sc(lambda m, d: _run(m, d, "head.safetensors", _wide_head)), 2,
     "head.safetensors: a head for 999-dimensional features, the backbone gives "),
    ("stage file missing", _sc(lambda m, d: _run(m, d, "config.json", _set("e2e", True))), 2,
     "backbone_stage.safetensors: missing from the run"),
]
COMMANDS = {"finetune": FINETUNE, "score": SCORE}
TABLE = [pytest.param(args, code, message, id=f"{command}: {name}")
         for command, rows in COMMANDS.items() for name, args, code, message in rows]


@pytest.mark.parametrize(("args", "code", "message"), TABLE)
def test_bad_input_exits_with_one_line(args: Args, code: int, message: str,
                                       made: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, args(made, tmp_path), code, message)


def test_broken_clip_links_are_listed_not_skipped(made: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    shutil.copy(made["clip"], folder / "good.mp4")
    (folder / "gone.mp4").symlink_to(tmp_path / "nowhere.mp4")
    assert main(["score", "--run", str(made["run"]), "--device", "cpu", "--json",
                 str(folder)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [Path(r["path"]).name for r in out["scores"]] == ["good.mp4"]
    assert [Path(p).name for p in out["failed"]] == ["gone.mp4"]


@pytest.mark.parametrize("command", ["finetune", "bench", "demo"])
def test_ctrl_c_is_one_line_and_exit_130(command: str, made: dict[str, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import utils.bench.run
    import utils.deploy.demo
    import utils.finetune.run

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    target, argv = {
        "finetune": (utils.finetune.run, _ft(made, tmp_path)),
        "bench": (utils.bench.run, ["bench", "--models", "tiny3d", "--data",
                                    str(made["data"]), "--out", str(tmp_path / "b")]),
        "demo": (utils.deploy.demo, ["demo", "--model", "tiny3d", "--source", str(made["clip"])]),
    }[command]
    name = {"finetune": "finetune", "bench": "run_benchmark", "demo": "run_demo"}[command]
    monkeypatch.setattr(target, name, interrupted)
    assert main(argv) == 130
    assert capsys.readouterr().err == "actionlab: interrupted\n"
