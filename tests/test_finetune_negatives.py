"""Lab 2's ``--extra-negatives``: the hard-negatives list of lab 3.4 adds its clips to the
training split as label 0 (every view), leaves validation and test alone, reports missing clips
and refuses a list naming a dataset clip."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from utils.cli import main
from utils.datasets.dcsass import load_dcsass
from utils.datasets.synth import ClipSize, write_synthetic_dcsass
from utils.errors import InputError
from utils.finetune import head as head_mod

SIZE = ClipSize(64, 96, frames=32)
VIDEO = "2023-01-0{}_10h00m00s_to_2023-01-0{}_10h00m20s_camera_7_ip_10.0.0.7_port_None.mp4"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("neg")
    root = write_synthetic_dcsass(folder / "dcsass", videos=6, clips_per_video=6,
                                  positive_rate=0.3, size=SIZE, seed=2, progress=False)
    clips = load_dcsass(root, "Shoplifting", progress=False).clips
    (folder / "hard").mkdir()
    for i, clip in enumerate(clips[:3], start=1):  # three production clips, renamed
        shutil.copy(clip.path, folder / "hard" / VIDEO.format(i, i))
    names = [VIDEO.format(i, i) for i in (1, 2, 3, 4)]  # the 4th file is missing
    pd.DataFrame({"video_name": names, "store": "s", "camera": "7", "label": "Other Normal",
                  "score": [0.9, 0.8, 0.7, 0.6]}).to_csv(folder / "hard" / "hn.csv", index=False)
    return {"root": root, "list": folder / "hard" / "hn.csv", "dataset_clip": clips[0].path}


def _run(data: dict[str, Path], out: Path, monkeypatch: pytest.MonkeyPatch,
         *extra: str) -> tuple[int, list[np.ndarray]]:
    seen: list[np.ndarray] = []
    real = head_mod.train_head

    def spy(x: np.ndarray, y: np.ndarray, *args: Any, **kw: Any) -> Any:
        seen.append(np.asarray(y))
        return real(x, y, *args, **kw)

    monkeypatch.setattr(head_mod, "train_head", spy)
    code = main(["finetune", "--data", str(data["root"]), "--backbone", "tiny3d", "--weights",
                 "none", "--out", str(out), "--epochs", "2", "--n-boot", "20", "--device", "cpu",
                 "--cache", str(out.parent / "cache"), *extra])
    return code, seen


def test_extra_negatives_join_the_training_split(data: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, (labels,) = _run(data, tmp_path / "extra", monkeypatch, "--extra-negatives",
                           str(data["list"]))
    assert code == 0
    split = pd.read_csv(tmp_path / "extra" / "split.csv")
    train = split[split["split"] == "train"]["label"].to_numpy()  # one view: no --augment
    assert len(labels) == len(train) + 3  # the three clips found; the fourth is missing
    assert (labels[: len(train)] == train).all() and (labels[len(train):] == 0).all()
    out = capsys.readouterr().out
    assert f"{VIDEO.format(4, 4)}: listed in hn.csv but no such file" in out
    config = pd.read_json(tmp_path / "extra" / "config.json", typ="series")
    assert config["extra_negatives"] == str(data["list"])
    scores = pd.read_csv(tmp_path / "extra" / "scores.csv")  # evaluation: dataset clips only
    assert set(scores["clip"]) == set(split["clip"])
    assert not scores["clip"].str.contains("_camera_7_").any()


def test_a_list_naming_a_dataset_clip_is_refused(data: dict[str, Path], tmp_path: Path) -> None:
    from utils.finetune.negatives import extra_negative_clips

    name = data["dataset_clip"].name
    pd.DataFrame({"video_name": [name]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputError, match=f"{name!r} is also a clip of the dataset"):
        extra_negative_clips(tmp_path / "bad.csv", {name: data["dataset_clip"]}, {})
    pd.DataFrame({"clip": [name]}).to_csv(tmp_path / "nocol.csv", index=False)
    with pytest.raises(InputError, match="no video_name column"):
        extra_negative_clips(tmp_path / "nocol.csv", {}, {})
    with pytest.raises(InputError, match="cannot be combined with --e2e"):
        extra_negative_clips(tmp_path / "nocol.csv", {}, {}, e2e=True)
