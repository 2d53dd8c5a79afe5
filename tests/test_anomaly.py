"""Lab 2 bonus 04: the UCSD loader and .m parser, the metrics against numpy and scikit-learn,
checkpoints, the download, and the whole method on the generated UCSD data with planted
anomalies (fixed seeds)."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from mirror_server import MirrorServer, Served, write_ucsd_archive
from PIL import Image
from sklearn.metrics import roc_auc_score

from utils.anomaly.download import download_ucsd, ucsd_archive
from utils.anomaly.evaluate import evaluate_table, per_video_features
from utils.anomaly.model import NextFramePredictor, windows
from utils.anomaly.pipeline import score_ucsd, train_ucsd
from utils.anomaly.scoring import frame_metrics, psnr, read_tables, regularity
from utils.anomaly.synth import choose_ucsd, write_synthetic_ucsd
from utils.anomaly.train import TrainConfig, load_checkpoint, save_checkpoint, train_predictor
from utils.anomaly.ucsd import ARCHIVE_FOLDER, find_subset, frame_labels, load_ucsd, parse_gt_text
from utils.cli import main
from utils.errors import InputError

# The real file's shape (UCSDped1.m lines as published with the dataset, two with two ranges).
REAL_M = """% ground truth
TestVideoFile = {};
TestVideoFile{end+1}.gt_frame = [60:152];
TestVideoFile{end+1}.gt_frame = [5:90, 140:200];
TestVideoFile{end+1}.gt_frame = [1:15, 45:113];
"""
SIZE = (32, 48)
TEST_VIDEOS = 12  # as many as UCSD Ped2 has; each grouped fold then fits on 9 videos


def test_the_m_file_is_read_range_by_range() -> None:
    assert parse_gt_text(REAL_M) == [[(60, 152)], [(5, 90), (140, 200)], [(1, 15), (45, 113)]]
    labels = frame_labels([(5, 90), (140, 200)], 200)
    assert labels.sum() == 86 + 61 and labels[3] == 0 and labels[4] == 1 and labels[89] == 1
    assert labels[90] == 0 and labels[139] == 1 and labels[-1] == 1


@pytest.mark.parametrize(("text", "message"), [
    ("TestVideoFile = {};\n", "no 'TestVideoFile{end+1}.gt_frame"),
    ("TestVideoFile{end+1}.gt_frame = [5-9];\n", "x.m:1: cannot read frame range '5-9'"),
    ("\nTestVideoFile{end+1}.gt_frame = [9:5];\n", "x.m:2: range 9:5 is empty"),
])
def test_a_bad_m_file_names_its_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_gt_text(text, "x.m")


def test_metrics_match_numpy() -> None:
    rng = np.random.default_rng(0)
    pred, target = rng.random((2, 3, 1, 8, 12))
    got = frame_metrics(torch.from_numpy(pred), torch.from_numpy(target))
    error = np.abs(pred - target).reshape(3, -1)
    np.testing.assert_allclose(got["mse"], (error ** 2).mean(1), rtol=1e-6)
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99)):
        np.testing.assert_allclose(got[key], np.percentile(error, q, axis=1), rtol=1e-5)
    np.testing.assert_allclose(got["err_std"], error.std(1), rtol=1e-5)
    # a uniform error of 0.1 is an MSE of 0.01, a PSNR of exactly 20 dB
    flat = frame_metrics(torch.full((1, 1, 4, 4), 0.6), torch.full((1, 1, 4, 4), 0.5))
    assert flat["psnr"][0] == pytest.approx(20.0, abs=1e-5)
    assert psnr([0.0])[0] == pytest.approx(100.0)  # floored, not infinite


def test_regularity_is_psnr_min_max_normalised_per_video() -> None:
    np.testing.assert_allclose(regularity([20.0, 30.0, 25.0]), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(regularity([7.0, 7.0]), [1.0, 1.0])


def test_windows_pair_the_past_frames_with_the_next() -> None:
    video = torch.arange(7.0)[:, None, None].expand(7, 4, 4)
    past, target = windows(video, 4)
    assert past.shape == (3, 4, 4, 4) and target.shape == (3, 1, 4, 4)
    assert past[1, :, 0, 0].tolist() == [1, 2, 3, 4] and target[1, 0, 0, 0] == 5


@pytest.fixture(scope="module")
def ucsd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_ucsd(tmp_path_factory.mktemp("ucsd"), seed=0, train_videos=3,
                                test_videos=TEST_VIDEOS, frames=40, height=SIZE[0], width=SIZE[1],
                                progress=False)


def test_the_stand_in_has_the_real_layout_and_consistent_truth(ucsd: Path) -> None:
    report = load_ucsd(ucsd)
    assert [v.name for v in report.split("train")] == ["Train001", "Train002", "Train003"]
    assert len(report.split("test")) == TEST_VIDEOS and not report.problems
    test = report.split("test")[0]
    assert [p.name for p in test.frames[:2]] == ["001.tif", "002.tif"]
    masks = sorted((report.root / "Test" / "Test001_gt").glob("*.bmp"))
    visible = np.array([np.asarray(Image.open(m)).any() for m in masks])
    np.testing.assert_array_equal(test.labels(), visible.astype(int))
    assert 0 < test.labels().sum() < len(test.frames)


def test_the_archive_folder_is_found_and_missing_truth_is_reported(tmp_path: Path) -> None:
    out = write_synthetic_ucsd(tmp_path / ARCHIVE_FOLDER, train_videos=1, test_videos=2,
                               frames=12, height=32, width=32, progress=False)
    assert find_subset(tmp_path) == out / "UCSDped2"
    gt = out / "UCSDped2" / "Test" / "UCSDped2.m"
    gt.write_text("\n".join(gt.read_text().splitlines()[:-1]) + "\n")  # drop the last line
    report = load_ucsd(tmp_path)
    assert [v.name for v in report.split("test")] == ["Test001"]
    assert report.problems["Test002"] == "no gt_frame line in the .m file"
    assert "1 gt_frame lines for 2 test videos" in report.problems["UCSDped2.m"]


def test_training_is_seeded_and_checkpoints_load_weights_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    videos = [rng.random((10, 16, 16), dtype=np.float32) for _ in range(2)]
    config = TrainConfig(epochs=2, size=(16, 16), width=2, batch_size=4, seed=3)
    first, second = (train_predictor(videos, config, device=torch.device("cpu"), progress=False)
                     for _ in range(2))
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(),
                    strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert first.losses == second.losses and len(first.losses) == 2
    path = save_checkpoint(first, tmp_path / "m.pt")
    assert torch.load(path, weights_only=True)["config"]["size"] == [16, 16]
    loaded = load_checkpoint(path)
    x = torch.rand(2, 4, 16, 16)
    torch.testing.assert_close(loaded.model(x), first.model.eval()(x))
    assert loaded.config == config and loaded.losses == first.losses


def test_the_predictor_refuses_a_shape_it_cannot_pool() -> None:
    with pytest.raises(InputError, match=r"multiples of 4"):
        NextFramePredictor(4, 4)(torch.zeros(1, 4, 30, 32))


def _run_method(ucsd: Path, folder: Path, seed: int) -> dict:
    """The method as the lab runs it: train on normal videos, score, evaluate (fixed seeds)."""
    trained = train_ucsd(ucsd, TrainConfig(epochs=16, size=SIZE, width=8, seed=seed),
                         progress=False)
    table = score_ucsd(ucsd, trained, folder, progress=False)
    return evaluate_table(table, n_boot=200, n_estimators=100)


def _assert_both_well_above_chance_and_forest_as_high(result: dict) -> None:
    """The forest at least as high as the single score. Measured on the generated datasets of
    seeds 0-11 (this design: 12 test videos, training seed = data seed): the forest is at least
    as high on 11 of 12, on average 0.019 higher; seed 3 is the exception (0.933 against
    0.941). The seeds asserted are 0-2, the ones these tests used before that measurement."""
    single, forest = result["auc_regularity"], result["auc_forest"]
    assert single["estimate"] > 0.85 and forest["estimate"] > 0.85, (single, forest)
    assert single["low"] > 0.5 and forest["low"] > 0.5, (single, forest)  # by-video interval
    assert forest["estimate"] >= single["estimate"], (forest, single)


def _assert_aucs_recompute(folder: Path, result: dict) -> pd.DataFrame:
    table = read_tables(folder)
    again = table.groupby("video")["psnr"].transform(lambda p: (p - p.min()) / (p.max() - p.min()))
    np.testing.assert_allclose(table["regularity"], again)
    assert roc_auc_score(table["label"], 1 - table["regularity"]) == pytest.approx(
        result["auc_regularity"]["estimate"])
    assert roc_auc_score(table["label"], result["forest_scores"]) == pytest.approx(
        result["auc_forest"]["estimate"])
    return table


@pytest.fixture(scope="module")
def scored(ucsd: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("scores")
    return folder, _run_method(ucsd, folder, seed=0)


def test_the_regularity_score_finds_the_planted_anomalies(scored: tuple[Path, dict]) -> None:
    _, result = scored
    auc = result["auc_regularity"]
    assert auc["estimate"] > 0.85, auc
    assert auc["low"] > 0.5, auc  # above chance even at the low end of the interval by video


def test_the_forest_on_the_metrics_is_as_high_as_the_single_score(
        scored: tuple[Path, dict]) -> None:
    """Seed 0: forest 0.923 against 0.919."""
    _, result = scored
    _assert_both_well_above_chance_and_forest_as_high(result)
    metrics = ("mse", "p50", "p90", "p99", "err_std", "psnr")
    assert result["folds"] == 4 and {r["feature"] for r in result["importances"]} == {
        f"{m}_{n}{s}" for m in metrics for n in ("video", "z") for s in ("", "_mean5")}


@pytest.mark.parametrize("seed", [1, 2])
def test_forest_and_score_on_two_more_generated_datasets(
        seed: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Seeds 1 and 2 (data and training): measured 0.9450 against 0.9446 and 0.9762 against
    0.9754."""
    ucsd = write_synthetic_ucsd(tmp_path_factory.mktemp(f"ucsd{seed}"), seed=seed,
                                train_videos=3, test_videos=TEST_VIDEOS, frames=40, height=SIZE[0],
                                width=SIZE[1], progress=False)
    folder = tmp_path_factory.mktemp(f"scores{seed}")
    result = _run_method(ucsd, folder, seed=seed)
    _assert_both_well_above_chance_and_forest_as_high(result)
    _assert_aucs_recompute(folder, result)


def test_the_saved_tables_recompute_with_scikit_learn(scored: tuple[Path, dict]) -> None:
    folder, result = scored
    files = sorted(folder.glob("*.parquet"))
    assert [f.stem for f in files] == [f"Test{i:03d}" for i in range(1, TEST_VIDEOS + 1)]
    table = _assert_aucs_recompute(folder, result)
    assert len(table) == TEST_VIDEOS * (40 - 4) and table["frame"].min() == 5
    np.testing.assert_allclose(table["psnr"], 10 * np.log10(1 / table["mse"]))
    features = per_video_features(table)
    minmax = features.filter(like="_video")
    assert minmax.min().min() == 0.0 and minmax.max().max() == 1.0
    one = table[table["video"] == "Test002"]
    mse = (one["mse"] - one["mse"].min()) / (one["mse"].max() - one["mse"].min())
    np.testing.assert_allclose(features.loc[one.index, "mse_video"], mse)
    np.testing.assert_allclose(features.loc[one.index[10], "mse_video_mean5"],
                               mse.iloc[8:13].mean())
    np.testing.assert_allclose(features.loc[one.index, "psnr_z"],
                               (one["psnr"] - one["psnr"].mean()) / np.std(one["psnr"]))


def test_download_goes_through_the_mirror_resumes_and_unpacks(mirror: MirrorServer,
                                                              tmp_path: Path) -> None:
    archive = write_ucsd_archive(mirror.root)
    path = "/" + str(archive.relative_to(mirror.root))
    assert path == "/www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz"
    size = archive.stat().st_size
    mirror.cut[path] = size // 2
    root = download_ucsd(tmp_path / "data", progress=False)
    assert mirror.log == [Served(path, None, 200, size // 2),
                          Served(path, f"bytes={size // 2}-", 206, size - size // 2)]
    assert root == tmp_path / "data" / ARCHIVE_FOLDER / "UCSDped2"
    with tarfile.open(archive) as tar:  # every frame as served, byte for byte
        served = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    unpacked = {p.relative_to(tmp_path / "data").as_posix(): p.read_bytes()
                for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert unpacked == served  # nothing else left: no archive, no partial file
    assert len(load_ucsd(root).split("test")) == 1
    mirror.log.clear()
    assert download_ucsd(tmp_path / "data", progress=False) == root
    assert mirror.log == []  # present: no request


def test_data_auto_fetches_ucsd_into_workdir(mirror: MirrorServer, tmp_path: Path) -> None:
    path = "/" + str(write_ucsd_archive(mirror.root).relative_to(mirror.root))
    tiny = {"train_videos": 1, "test_videos": 1, "frames": 12, "height": 32, "width": 32,
            "progress": False}
    mirror.fail[path] = [404]
    offline = choose_ucsd("auto", data_dir=tmp_path, fetch_real=ucsd_archive(progress=False),
                          **tiny)
    assert offline.synthetic and offline.path == tmp_path / "synthetic" / "ucsd"
    assert "UCSD_Anomaly_Dataset.tar.gz" in offline.why and "HTTP 404" in offline.why
    assert not (tmp_path / "ucsd").exists()
    real = choose_ucsd("auto", data_dir=tmp_path, fetch_real=ucsd_archive(progress=False))
    assert not real.synthetic and real.path == tmp_path / "ucsd"
    assert real.why.startswith("fetched into WORKDIR")
    assert not (tmp_path / "ucsd.partial").exists()
    assert [v.name for v in load_ucsd(real.path).split("test")] == ["Test001"]
    mirror.log.clear()
    again = choose_ucsd("auto", data_dir=tmp_path, fetch_real=ucsd_archive(progress=False))
    assert again.why == "found in WORKDIR" and mirror.log == []
    mirror.fail[path] = [404]  # the CLI's message: what to fetch by hand and where to put it
    with pytest.raises(InputError, match=r"cannot download UCSD_Anomaly_Dataset\.tar\.gz.*"
                                         r"Fetch http://www\.svcl\.ucsd\.edu/"):
        download_ucsd(tmp_path / "other", progress=False)


def test_the_cli_runs_the_three_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "u"
    assert main(["data", "synth", "ucsd", "--out", str(data), "--train-videos", "1",
                 "--test-videos", "2", "--frames", "12", "--height", "32", "--width", "32"]) == 0
    assert main(["data", "check", str(data), "--json"]) == 0
    check = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert check["test_videos"] == 2 and check["train_frames"] == 12
    assert main(["anomaly", "train", str(data), "--out", str(tmp_path / "m.pt"), "--epochs",
                 "1", "--size", "32", "32", "--width", "2", "--device", "cpu"]) == 0
    assert main(["anomaly", "score", str(data), "--checkpoint", str(tmp_path / "m.pt"),
                 "--out", str(tmp_path / "s"), "--device", "cpu"]) == 0
    assert main(["anomaly", "evaluate", str(tmp_path / "s"), "--folds", "2", "--n-boot", "20",
                 "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    table = pd.concat(pd.read_parquet(f) for f in sorted((tmp_path / "s").glob("*.parquet")))
    assert result["frames"] == len(table) == 2 * (12 - 4)
    assert result["auc_regularity"]["estimate"] == pytest.approx(
        roc_auc_score(table["label"], table["anomaly_score"]))


def test_the_dcsass_run_trains_on_normal_training_clips_and_scores_test_clips(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from utils.anomaly import dcsass_run as run
    from utils.datasets.dcsass import load_dcsass
    from utils.datasets.splits import grouped_split
    from utils.datasets.synth import ClipSize, write_synthetic_dcsass

    root = write_synthetic_dcsass(tmp_path, videos=4, clips_per_video=3,
                                  size=ClipSize(32, 48, frames=16), progress=False)
    clips = load_dcsass(root, progress=False).clips
    split = grouped_split([c.name for c in clips], [c.source_video for c in clips],
                          [c.label for c in clips], val=0.0, test=0.5, seed=0)
    frames = run.clip_frames(clips[0].path, (32, 48), 6)
    assert frames.shape == (6, 32, 48) and frames.dtype == np.float32
    assert frames.min() >= 0 and frames.max() <= 1
    trained_on: list[int] = []
    real_train = run.train_predictor
    monkeypatch.setattr(run, "train_predictor", lambda videos, *a, **k: (
        trained_on.append(len(videos)), real_train(videos, *a, **k))[1])
    _, scores = run.dcsass_run(split, {c.name: c.path for c in clips},
                               TrainConfig(epochs=1, size=(32, 48), width=2), frames=6,
                               progress=False)
    normal_train = split[(split["split"] == "train") & (split["label"] == 0)]
    assert trained_on == [len(normal_train)]
    test = split[split["split"] == "test"]
    assert scores["clip"].tolist() == test["clip"].tolist()
    assert scores["label"].tolist() == test["label"].tolist()
    if scores["label"].nunique() == 2:
        assert run.clip_auc(scores, n_boot=20)["estimate"] == pytest.approx(
            roc_auc_score(scores["label"], scores["max_mse"]))
