"""Real-data downloads end to end on the 127.0.0.1 mirror: a Kinetics sample streamed from CVDF
archives (labelled from val.csv, unknown clips reported, resumable, a cut stream resumed), then
``actionlab bench --weights default`` on it with the checkpoint from the mirror; DCSASS from
Kaggle's public zip."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mirror_server import CVDF, CvdfFiles, MirrorServer, write_checkpoint, write_cvdf_kinetics
from mirror_server import write_kaggle_dcsass as write_zip

from utils.cli import main
from utils.datamode import DataChoice
from utils.datasets.cvdf import download_kinetics_cvdf, kinetics_cvdf
from utils.datasets.dcsass import COPY_NAME, SECOND_COPY, load_dcsass
from utils.datasets.download import DCSASS_ZIP_URL, dcsass_kaggle, download_dcsass
from utils.datasets.kinetics import load_kinetics_sample, parse_clip_name
from utils.datasets.synth import choose_dcsass, choose_kinetics_sample

PART0 = f"/{CVDF}/val/part_0.tar.gz"


@pytest.fixture(scope="module")
def cvdf(mirror_server: MirrorServer) -> CvdfFiles:
    return write_cvdf_kinetics(mirror_server.root, classes=3, clips_per_class=3, parts=2)


def labels_of(folder: Path) -> dict[str, str]:
    """CVDF file name -> label of every clip written in the course naming."""
    out = {}
    for path in folder.glob("*.mp4"):
        clip = parse_clip_name(path.name)
        out[f"{clip.youtube_id}_{clip.start:06d}_{clip.end:06d}.mp4"] = clip.label
    return out


def test_cvdf_sample_streams_one_part_labels_and_reports(
    cvdf: CvdfFiles, mirror: MirrorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "k"
    mirror.cut[PART0] = 2_000  # the archive stream breaks once; it is resumed with a Range
    assert main(["data", "download", "kinetics", "--source", "cvdf", "--out", str(out),
                 "--per-class", "2"]) == 0
    text = capsys.readouterr().out
    kept = labels_of(out)
    # part 0 holds the unknown clip first, then 2 clips of each class: exactly those are kept
    assert kept == {name: cvdf.labelled[name] for name in cvdf.parts[0][1:]}
    assert f"1 clips of the archive are not in val.csv (not kept): {cvdf.unknown[0]}" in text
    assert "6 clips kept, 0 already present, from 7 clips streamed of part_0.tar.gz" in text
    requests = [(s.path, s.range) for s in mirror.log if s.path == PART0]
    assert requests == [(PART0, None), (PART0, "bytes=2000-")]
    report = load_kinetics_sample(out, out / "val.csv")
    assert len(report.samples) == 6 and not report.left_out() and not report.label_mismatch
    assert report.not_downloaded == len(cvdf.labelled) + 2 - 6  # val.csv rows without a clip

    mirror.log.clear()  # again: every class is full, no archive is read
    assert main(["data", "download", "kinetics", "--source", "cvdf", "--out", str(out),
                 "--per-class", "2"]) == 0
    assert "0 clips kept, 6 already present" in capsys.readouterr().out
    assert mirror.log == []


def test_cvdf_sample_moves_to_the_next_part_when_one_is_not_enough(
    cvdf: CvdfFiles, mirror: MirrorServer, tmp_path: Path
) -> None:
    report = download_kinetics_cvdf(tmp_path / "k", per_class=3, parts=[0], progress=False)
    per_class = pd.Series(labels_of(tmp_path / "k")).value_counts()
    assert per_class.to_dict() == {label: 2 for label in set(cvdf.labelled.values())}
    assert report.short_classes == {label: 2 for label in set(cvdf.labelled.values())}
    report = download_kinetics_cvdf(tmp_path / "k", per_class=3, parts=[0, 1], progress=False)
    kept = labels_of(tmp_path / "k")
    assert kept.items() <= cvdf.labelled.items()  # labels as val.csv says
    assert pd.Series(kept).value_counts().to_dict() == {label: 3 for label in per_class.index}
    first_of_part1 = {}
    for name in cvdf.parts[1]:
        first_of_part1.setdefault(cvdf.labelled[name], name)
    assert set(first_of_part1.values()) <= kept.keys()  # the first of each class as it passed
    assert not report.short_classes and len(report.present) == 6 and len(report.kept) == 3


@pytest.mark.slow  # x3d_xs at its 182 px crop: a few forward passes on the CPU
def test_cvdf_sample_benchmarks_with_the_checkpoint_from_the_mirror(
    cvdf: CvdfFiles, mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    write_checkpoint(mirror.root, "x3d_xs")
    sample, results = tmp_path / "k", tmp_path / "bench"
    assert main(["data", "download", "kinetics", "--out", str(sample), "--per-class", "1",
                 "--parts", "1", "0"]) == 0
    assert main(["bench", "--data", str(sample), "--models", "x3d_xs", "--weights", "default",
                 "--out", str(results), "--device", "cpu", "--iters", "1", "--warmup", "0",
                 "--e2e-clips", "1", "--max-clips", "1"]) == 0
    summary = json.loads((results / "results.json").read_text())
    assert summary["weights"] == "default"
    assert json.loads((results / "speed.json").read_text())["synthetic_data"] is False
    row = summary["models"][0]
    predictions = pd.read_csv(results / "predictions.csv")
    assert row["clips"] == len(predictions) == 1 and row["failed"] == 0
    assert row["top1"] == pytest.approx(100 * (predictions["label"] == predictions["pred"]).mean())
    assert labels_of(sample).items() <= cvdf.labelled.items()  # named from val.csv
    on_disk = {p.name: parse_clip_name(p.name).label for p in sample.glob("*.mp4")}
    assert [on_disk[c] for c in predictions["clip"]] == predictions["label_name"].tolist()
    assert (tmp_path / "torch/hub/checkpoints/X3D_XS.pyth").is_file()
    assert any(s.path.endswith("/X3D_XS.pyth") and s.status == 200 for s in mirror.log)


def test_dcsass_from_the_public_kaggle_zip(
    mirror: MirrorServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zipped = write_zip(mirror.root, videos=3, clips_per_video=4)
    assert mirror.local(DCSASS_ZIP_URL) == zipped
    out = tmp_path / "dcsass"
    assert main(["data", "download", "dcsass", "--out", str(out)]) == 0
    assert f"DCSASS is at {out / COPY_NAME}" in capsys.readouterr().out
    assert not (out / SECOND_COPY).exists() and not (out / "dcsass-dataset.zip").exists()
    report = load_dcsass(out)
    assert len(report.clips) == 3 * 4 - 1 and len(report.malformed) == 1  # as in the zip
    mirror.log.clear()
    assert download_dcsass(out, progress=False) == out / COPY_NAME
    assert mirror.log == []


def test_youtube_route_takes_its_labels_from_the_mirrored_val_csv(
    cvdf: CvdfFiles, mirror: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("utils.datasets.download._reachable", lambda host: False)
    out = tmp_path / "k"
    assert main(["data", "download", "kinetics", "--source", "youtube", "--out", str(out)]) == 2
    assert "cannot reach YouTube" in capsys.readouterr().err
    served = mirror.root / CVDF / "annotations/val.csv"
    assert (out / "val.csv").read_bytes() == served.read_bytes()


def test_data_auto_downloads_the_kinetics_sample_into_workdir_once(
    cvdf: CvdfFiles, mirror: MirrorServer, tmp_path: Path
) -> None:
    """DATA="auto" with nothing in WORKDIR: the CVDF hook fetches one clip per class of part 0
    into WORKDIR/data/kinetics_sample; the next notebook finds it without a request."""
    mirror.fail[PART0] = [404]  # first notebook: offline for the archive -> stand-in, says why
    choice = choose_kinetics_sample("auto", data_dir=tmp_path, fetch_real=kinetics_cvdf(
        progress=False), classes=2, clips_per_class=1, progress=False)
    assert choice.synthetic and "part_0.tar.gz" in choice.banner and "404" in choice.banner
    assert not (tmp_path / "kinetics_sample").exists()  # a failed fetch is not "found"
    choice = choose_kinetics_sample("auto", data_dir=tmp_path,
                                    fetch_real=kinetics_cvdf(progress=False))
    assert choice == DataChoice(tmp_path / "kinetics_sample", synthetic=False)
    assert "SYNTHETIC" not in choice.banner and "fetched into WORKDIR" in choice.banner
    first = {}
    for name in cvdf.parts[0][1:]:
        first.setdefault(cvdf.labelled[name], name)
    assert labels_of(choice.path) == {name: cvdf.labelled[name] for name in first.values()}
    mirror.log.clear()
    again = choose_kinetics_sample("auto", data_dir=tmp_path, fetch_real=kinetics_cvdf())
    assert again.path == choice.path and not again.synthetic and mirror.log == []


def test_data_auto_downloads_dcsass_into_workdir(mirror: MirrorServer, tmp_path: Path) -> None:
    write_zip(mirror.root, videos=3, clips_per_video=4)
    choice = choose_dcsass("auto", data_dir=tmp_path, fetch_real=dcsass_kaggle(progress=False))
    assert choice.path == tmp_path / "dcsass" and not choice.synthetic
    assert len(load_dcsass(choice.path).clips) == 3 * 4 - 1  # 1 malformed row, as in the zip
    assert not (tmp_path / "dcsass.partial").exists()
