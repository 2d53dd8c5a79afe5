"""Every bad input of ``actionlab age`` (and ``data check`` on a faces folder): one row each,
exit code 2 and one line naming the problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bad_input import one_error_line

from utils.cli import main

Args = Callable[[Path], list[str]]


def _faces(folder: Path, rows: list[str], header: str = "file_name,real_age") -> Path:
    from PIL import Image

    root = folder / "faces"
    (root / "final_files").mkdir(parents=True)
    for row in rows:
        Image.new("RGB", (40, 40)).save(root / "final_files" / row.split(",")[0])
    (root / "labels.csv").write_text("\n".join([header, *rows]) + "\n")
    return root


def _run(folder: Path, ages: list[int]) -> Path:
    """A run directory by hand: two training photos and the given test ages."""
    run = folder / "run"
    run.mkdir()
    rows = ["file_name,person,split,real_age,predicted_age", "a.jpg,a,train,30,31",
            "b.jpg,b,train,40,38"]
    rows += [f"t{i}.jpg,t{i},test,{age},{age + 1}" for i, age in enumerate(ages)]
    (run / "predictions.csv").write_text("\n".join(rows) + "\n")
    (run / "config.json").write_text('{"data": {"synthetic": true, "persons_known": true}, '
                                     '"backbone": {"pretrained": false}}')
    return run


def _photos(folder: Path, names: list[str]) -> Path:
    from PIL import Image

    src = folder / "src"
    src.mkdir()
    for name in names:
        Image.new("RGB", (40, 40)).save(src / name)
    return src


TRAIN = ["age", "train", "--backbone", "tiny", "--weights", "none", "--image-size", "32",
         "--n-boot", "10"]
ROWS: list[tuple[str, Args, str]] = [
    ("train: no labels.csv", lambda d: [*TRAIN, "--data", str(d), "--out", str(d / "r")],
     "no labels.csv (expected labels.csv with file_name,real_age"),
    ("train: missing column", lambda d: [*TRAIN, "--data", str(_faces(d, ["a.jpg,3"],
                                                                         "file,age")),
                                         "--out", str(d / "r")],
     "labels.csv: missing column(s) file_name, real_age"),
    ("train: too few photos", lambda d: [*TRAIN, "--data", str(_faces(d, ["a.jpg,3", "b.jpg,40"])),
                                         "--out", str(d / "r")],
     "2 usable photos; at least 10 are needed"),
    ("train: no GPU", lambda d: [*TRAIN, "--device", "cuda", "--data",
                                 str(_faces(d, [f"{i}.jpg,{10 + i}" for i in range(12)])),
                                 "--out", str(d / "r")],
     "device='cuda' but CUDA is not available"),
    ("evaluate: not a run", lambda d: ["age", "evaluate", str(d)],
     "cannot read the run's predictions"),
    ("evaluate: target of 150 %", lambda d: ["age", "evaluate", str(_run(d, [10, 30])),
                                             "--target", "1.5"],
     "target share of minors passed must be in [0, 1), got 1.5"),
    ("evaluate: no minor in test", lambda d: ["age", "evaluate", str(_run(d, [20, 30]))],
     "the test set holds no minor"),
    ("utkface: no photo", lambda d: ["age", "utkface", "--source", str(d), "--out",
                                     str(d / "o")], "no .jpg photo found"),
    ("utkface: no UTKFace name", lambda d: ["age", "utkface", "--source",
                                            str(_photos(d, ["holiday.jpg"])), "--out",
                                            str(d / "o")],
     "none of the 1 photos has a UTKFace name"),
    ("utkface: out holds other files", lambda d: [
        "age", "utkface", "--source", str(_photos(d, ["3_1_2_20161219140623097.jpg"])),
        "--out", str(d)], "holds no CONVERTED_FROM_UTKFACE.json; refusing to replace"),
    ("data check: no readable photo", lambda d: ["data", "check", str(_faces(d, []))],
     "no readable labelled clip"),
]


@pytest.mark.parametrize(("args", "message"), [pytest.param(a, m, id=n) for n, a, m in ROWS])
def test_bad_input_exits_with_one_line(args: Args, message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    one_error_line(capsys, args(tmp_path), 2, message)


def test_help_of_every_age_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("train", "evaluate", "utkface"):
        with pytest.raises(SystemExit) as exit_:
            main(["age", command, "--help"])
        assert exit_.value.code == 0
        assert "usage: actionlab age " + command in capsys.readouterr().out
