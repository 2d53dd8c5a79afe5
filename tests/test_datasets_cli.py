"""``actionlab data synth|check|split|download``: exit codes and what they print and write."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pandas as pd
import pytest

from utils.cli import main
from utils.datasets import download
from utils.datasets.dcsass import load_dcsass
from utils.errors import InputError

TINY = ["--height", "48", "--width", "64", "--frames", "16"]


@pytest.fixture(scope="module")
def dcsass(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("d") / "unzip"
    assert main(["data", "synth", "dcsass", "--out", str(out), "--videos", "4",
                 "--clips-per-video", "5", "--seed", "1", *TINY]) == 0
    return out


def test_check_dcsass(dcsass: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(dcsass)]) == 0
    text = capsys.readouterr().out
    assert "19 readable labelled clips" in text and "1 malformed label rows" in text
    assert main(["data", "check", str(dcsass), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["readable_clips"] == 19 and len(report["per_source_video"]) == 4
    assert sum(report["per_label"].values()) == 19
    assert len(report["malformed_rows"]) == 1 and report["malformed_rows"][0]["line"] >= 1


def test_split_dcsass(dcsass: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "split.csv"
    args = ["data", "split", str(dcsass), "--seed", "3", "--val", "0.25", "--test", "0.25"]
    assert main([*args, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["clip", "source_video", "label", "split"]
    assert len(frame) == 19 and set(frame["split"]) == {"train", "val", "test"}
    assert (frame.groupby("source_video")["split"].nunique() == 1).all()
    unlabelled = load_dcsass(dcsass, progress=False).unlabelled_files
    assert f"1 clips left out of the split:\n  {unlabelled[0]}: on disk without a valid " in text
    assert main([*args, "--out", str(tmp_path / "again.csv")]) == 0
    assert out.read_bytes() == (tmp_path / "again.csv").read_bytes()


def test_check_exit_2_without_a_readable_clip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "DCSASS Dataset" / "Labels"
    labels.mkdir(parents=True)
    (labels / "Shoplifting.csv").write_text("Shoplifting001_x264_0,Shoplifting,1\n")
    broken = tmp_path / "DCSASS Dataset" / "Shoplifting" / "Shoplifting001_x264.mp4"
    broken.mkdir(parents=True)
    (broken / "Shoplifting001_x264_0.mp4").write_bytes(b"")
    assert main(["data", "check", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "Shoplifting001_x264_0: cannot decode video" in captured.out
    assert "no readable labelled clip" in captured.err
    assert main(["data", "check", str(tmp_path / "DCSASS Dataset" / "Shoplifting")]) == 2
    assert "neither a DCSASS copy nor a folder of Kinetics clips" in capsys.readouterr().err


def test_kinetics_synth_check_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kinetics"
    assert main(["data", "synth", "kinetics", "--out", str(out), "--classes", "3",
                 "--clips-per-class", "3", *TINY]) == 0
    assert main(["data", "check", str(out)]) == 0
    assert "9 usable clips in 3 classes" in capsys.readouterr().out
    assert main(["data", "split", str(out), "--out", str(tmp_path / "s.csv")]) == 0
    frame = pd.read_csv(tmp_path / "s.csv")
    assert len(frame) == 9 and frame["label"].isin([0, 133, 266]).all()


def test_download_offline_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise socket.gaierror("Temporary failure in name resolution")

    monkeypatch.setattr(socket, "create_connection", no_network)
    csv = tmp_path / "validate.csv"
    csv.write_text("label,youtube_id,time_start,time_end,split\nabseiling,AAAAAAAAAAA,0,10,val\n")
    assert main(["data", "download", "kinetics", "--source", "youtube", "--annotations", str(csv),
                 "--out", str(tmp_path / "k")]) == 2
    err = capsys.readouterr().err
    assert "cannot reach YouTube" in err and str(tmp_path / "k") in err

    monkeypatch.setattr("utils.download.BACKOFF_S", 0.0)
    with pytest.raises(InputError) as info:
        download.download_dcsass(tmp_path / "dcsass")
    message = str(info.value)
    assert "\n" not in message and "Temporary failure in name resolution" in message
    assert f"Fetch {download.DCSASS_ZIP_URL} " in message
    assert str(tmp_path / "dcsass" / "dcsass-dataset.zip") in message
