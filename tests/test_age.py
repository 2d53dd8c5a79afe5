"""Age regression (lab 2, bonus 05) on the generated faces: the age planted in the pixels is
learnt (test MAE clearly under the median baseline), and every saved number recomputes from
``predictions.csv`` with scikit-learn, pandas or a brute-force loop."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from mirror_server import UTKFACE_NAMES, MirrorServer, write_utkface_archive
from sklearn.metrics import mean_absolute_error

from utils.age.backbone import build_backbone
from utils.age.data import load_faces, read_face
from utils.age.evaluate import age_band, mae_by_band, mae_interval
from utils.age.features import embed_photos
from utils.age.finetune import finetune_last_stage
from utils.age.head import predict_ages, train_regressor
from utils.age.risk import choose_rule, id_rule_table
from utils.age.run import evaluate_run
from utils.age.synth import choose_faces, write_synthetic_faces
from utils.age.utkface import (
    UTKFACE_URL,
    convert_utkface,
    download_utkface,
    utkface_age,
    utkface_faces,
)
from utils.cli import main
from utils.datasets.splits import read_split_csv
from utils.errors import InputError

SIZES = {"persons": 100, "photos_per_person": 2, "size": 64}


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_faces(tmp_path_factory.mktemp("faces") / "faces", seed=0,
                                 progress=False, **SIZES)


@pytest.fixture(scope="module")
def run(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A run through the command line (``actionlab age train``)."""
    out = tmp_path_factory.mktemp("age") / "run"
    assert main(["age", "train", "--data", str(faces), "--out", str(out), "--backbone", "tiny",
                 "--weights", "none", "--image-size", "64", "--epochs", "40", "--patience",
                 "10", "--lr", "3e-3", "--n-boot", "300", "--cache", str(out.parent / "cache"),
                 "--device", "cpu"]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_the_planted_age_is_learnt(run: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = run
    pred = pd.read_csv(out / "predictions.csv")
    test, train = pred[pred["split"] == "test"], pred[pred["split"] == "train"]
    mae = mean_absolute_error(test["real_age"], test["predicted_age"])
    baseline = mean_absolute_error(test["real_age"],
                                   np.full(len(test), np.median(train["real_age"])))
    assert metrics["test"]["mae"]["estimate"] == pytest.approx(mae)
    assert metrics["baseline"]["mae"] == pytest.approx(baseline)
    assert mae < 0.8 * baseline
    assert metrics["test"]["mae"]["high"] < baseline  # beyond the bootstrap interval
    assert not metrics["backbone"]["pretrained"] and "RANDOM WEIGHTS" in metrics["conclusion"]
    assert "human check stays necessary" in metrics["conclusion"]


def test_the_id_rule_table_recomputes_from_the_predictions(
        run: tuple[Path, dict[str, Any]]) -> None:
    out, metrics = run
    pred = pd.read_csv(out / "predictions.csv")
    test = pred[pred["split"] == "test"]
    table = pd.read_csv(out / "id_rule.csv")
    minors, adults = test[test["real_age"] < 18], test[test["real_age"] >= 18]
    assert len(minors) > 0
    for row in table.itertuples():
        passed = sum(1 for p in minors["predicted_age"] if p >= row.ask_id_below)
        asked = sum(1 for p in adults["predicted_age"] if p < row.ask_id_below)
        assert (row.minors_passed, row.adults_asked) == (passed, asked)
        assert row.minors_passed_share == pytest.approx(passed / len(minors))
    rule = metrics["id_rule"]
    ok = [x for x, share in zip(table["ask_id_below"], table["minors_passed_share"],
                                strict=True) if share <= 0.01]
    assert rule["ask_id_below"] == min(ok)
    assert (table["ask_id_below"].iloc[-1] > test["predicted_age"].max())  # table reaches 0 %
    assert f"below **{rule['ask_id_below']:g}**" in metrics["conclusion"]


def test_split_is_by_person_and_bands_recompute(run: tuple[Path, dict[str, Any]],
                                                faces: Path) -> None:
    out, metrics = run
    split = read_split_csv(out / "split.csv")  # verifies: no person in two splits
    persons = pd.read_csv(faces / "persons.csv")
    merged = split.merge(persons, left_on="clip", right_on="file_name")
    assert (merged["source_video"] == merged["person_id"]).all()
    assert merged.groupby("person_id")["split"].nunique().max() == 1
    pred = pd.read_csv(out / "predictions.csv")
    test = pred[pred["split"] == "test"]
    band = pd.cut(test["real_age"], [0, 13, 18, 25, 40, 60, 121], right=False)
    by_hand = (test["predicted_age"] - test["real_age"]).abs().groupby(band, observed=False)
    assert np.allclose(pd.DataFrame(metrics["bands"])["mae"], by_hand.mean(), equal_nan=True)
    assert evaluate_run(out, target=0.2, n_boot=50)["id_rule"]["target"] == 0.2
    assert main(["age", "evaluate", str(out), "--target", "0.01", "--n-boot", "300"]) == 0
    assert json.loads((out / "metrics.json").read_text()) == metrics  # same numbers again


def test_data_check_reads_a_faces_folder(faces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "check", str(faces), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["photos"], report["persons"], report["persons_known"]) == (200, 100, True)
    labels = pd.read_csv(faces / "labels.csv")
    assert list(labels.columns) == ["file_name", "real_age"]  # exactly the brief's format
    assert report["age"]["median"] == labels["real_age"].median()


def test_mae_by_band_and_interval_by_hand() -> None:
    y = np.array([5, 12, 15, 17, 20, 30, 45, 70])
    p = np.array([7, 10, 19, 17, 26, 30, 40, 60])
    table = mae_by_band(y, p)
    assert table["photos"].tolist() == [2, 2, 1, 1, 1, 1]
    assert table["mae"].tolist() == [2.0, 2.0, 6.0, 0.0, 5.0, 10.0]
    assert table["bias"].tolist() == [0.0, 2.0, 6.0, 0.0, -5.0, -10.0]
    assert age_band([0, 12.9, 13, 17.99, 18, 120]).tolist() == [0, 0, 1, 1, 2, 5]
    ci = mae_interval(y, p, n_boot=400, seed=1)
    assert ci.estimate == pytest.approx(np.abs(y - p).mean())
    assert ci.low < ci.estimate < ci.high
    rules = id_rule_table(y, p, thresholds=[18, 20])
    # minors (y < 18): predicted 7, 10, 19, 17 -> at X=18 one passes; adults 26, 30, 40, 60
    assert rules["minors_passed"].tolist() == [1, 0] and rules["adults_asked"].tolist() == [0, 0]
    assert choose_rule(rules, 0.01)["ask_id_below"] == 20
    with pytest.raises(InputError, match="no X in the table"):
        choose_rule(rules.iloc[:1], 0.01)


def test_cache_is_reused_and_training_is_deterministic(faces: Path, tmp_path: Path) -> None:
    report = load_faces(faces, progress=False)
    photos = {n: report.path(n) for n in report.table["file_name"][:40]}
    net = build_backbone("tiny", "none", seed=0)
    first = embed_photos(net.model, photos, backbone="tiny", image_size=64, cache_dir=tmp_path,
                         progress=False)
    again = embed_photos(net.model, photos, backbone="tiny", image_size=64, cache_dir=tmp_path,
                         progress=False)
    assert (first.computed, first.reused, again.computed, again.reused) == (40, 0, 0, 40)
    assert np.array_equal(first.matrix, again.matrix)
    ages = report.table["real_age"][:40].to_numpy()
    heads = [train_regressor(first.matrix[:30], ages[:30], first.matrix[30:], ages[30:],
                             epochs=3, seed=5, progress=False).head for _ in range(2)]
    assert np.array_equal(*(predict_ages(h, first.matrix) for h in heads))


def test_finetuning_changes_the_last_stage_only(faces: Path) -> None:
    report = load_faces(faces, progress=False)
    t = report.table.iloc[:24]
    net = build_backbone("tiny", "none", seed=0)
    before = {k: v.clone() for k, v in net.model.state_dict().items()}
    feats = embed_photos(net.model, {n: report.path(n) for n in t["file_name"]},
                         backbone="tiny", image_size=64, cache_dir=None, progress=False)
    head = train_regressor(feats.matrix[:16], t["real_age"][:16], feats.matrix[16:],
                           t["real_age"][16:], epochs=2, progress=False).head
    history = finetune_last_stage(
        net, head, ([report.path(n) for n in t["file_name"][:16]], t["real_age"][:16]),
        ({n: report.path(n) for n in t["file_name"][16:]}, t["real_age"][16:]),
        image_size=64, epochs=1, lr=1e-2, batch_size=8, progress=False)
    assert history["epoch"].tolist() == [1]
    after = net.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("layer4.") for k in changed)
    assert not any(p.requires_grad for p in net.model.parameters())


def test_loader_lists_every_bad_row_and_photo(faces: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "f"
    shutil.copytree(faces, root)
    (root / "persons.csv").unlink()
    labels = (root / "labels.csv").read_text().splitlines()
    labels += ["000000.jpg,30", "x.jpg,abc", "y.jpg,-3", "../z.jpg,20", "gone.jpg,40",
               "broken.jpg,50"]
    (root / "labels.csv").write_text("\n".join(labels) + "\n")
    (root / "final_files" / "broken.jpg").write_bytes(b"not a jpeg")
    report = load_faces(root, decode=True, progress=False)
    assert len(report.table) == 200 - 1  # 000000.jpg is listed twice: both rows out
    assert not report.persons_known and report.table["person"].nunique() == 199
    assert set(report.bad_rows.values()) == {
        "listed more than once (all its rows left out)", "real_age 'abc' is not a number",
        "real_age -3 outside 0..120", "file_name '../z.jpg' is not a file name inside "
        "final_files/"}
    assert list(report.missing) == ["gone.jpg"] and list(report.unreadable) == ["broken.jpg"]
    assert "cannot decode" in report.unreadable["broken.jpg"]
    (root / "persons.csv").write_text("file_name,person_id\n000001.jpg,a\n")
    with pytest.raises(InputError, match="no person_id for"):
        load_faces(root, progress=False)


def test_utkface_conversion_and_download(mirror: MirrorServer, tmp_path: Path) -> None:
    assert utkface_age("26_0_1_20170116174525125.jpg.chip.jpg") == 26
    with pytest.raises(InputError, match="not \\[age\\]_"):
        utkface_age("39_1_20170116174525125.jpg.chip.jpg")
    archive = write_utkface_archive(mirror.root)
    assert archive == mirror.local(UTKFACE_URL)  # huggingface.co/datasets/py97/...
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(InputError, match=f"SHA-256 {sha} does not match {'0' * 64}"):
        download_utkface(tmp_path / "bad", sha256="0" * 64, progress=False)
    assert not list((tmp_path / "bad").iterdir())  # neither the file nor its part is kept
    path = "/" + archive.relative_to(mirror.root).as_posix()
    mirror.log.clear()
    mirror.cut[path] = archive.stat().st_size // 2
    extracted = download_utkface(tmp_path / "dl", sha256=sha, progress=False)
    assert [(s.range, s.status) for s in mirror.log] == [
        (None, 200), (f"bytes={archive.stat().st_size // 2}-", 206)]
    assert sorted(p.name for p in extracted.iterdir()) == sorted(UTKFACE_NAMES)
    conversion = convert_utkface(extracted, tmp_path / "faces")
    assert conversion.converted == 2 and list(conversion.skipped) == [UTKFACE_NAMES[2]]
    report = load_faces(tmp_path / "faces", decode=True, progress=False)
    assert dict(zip(report.table["file_name"], report.table["real_age"], strict=True)) == {
        UTKFACE_NAMES[0]: 26, UTKFACE_NAMES[1]: 3}
    assert json.loads((tmp_path / "faces" / "CONVERTED_FROM_UTKFACE.json").read_text())[
        "converted"] == 2


def test_data_auto_fetches_and_converts_utkface_into_workdir(mirror: MirrorServer,
                                                             tmp_path: Path) -> None:
    archive = write_utkface_archive(mirror.root)
    path = "/" + archive.relative_to(mirror.root).as_posix()
    fetch_real = utkface_faces(sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
                               progress=False)
    tiny = {"persons": 12, "photos_per_person": 1, "size": 32}
    mirror.fail[path] = [404]
    offline = choose_faces("auto", data_dir=tmp_path, fetch_real=fetch_real, **tiny)
    assert offline.synthetic and offline.path == tmp_path / "synthetic" / "faces"
    assert "UTKFace.tar.gz" in offline.why and "HTTP 404" in offline.why
    assert not (tmp_path / "faces").exists()
    real = choose_faces("auto", data_dir=tmp_path, fetch_real=fetch_real)
    assert not real.synthetic and real.path == tmp_path / "faces"
    assert real.why.startswith("fetched into WORKDIR")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faces", "synthetic"]  # one copy
    assert load_faces(real.path, progress=False).table["real_age"].tolist() == [26, 3]
    mirror.log.clear()
    again = choose_faces("auto", data_dir=tmp_path, fetch_real=fetch_real)
    assert again.why == "found in WORKDIR" and mirror.log == []


def test_photos_are_read_one_batch_at_a_time(faces: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from utils.age import features

    report = load_faces(faces, progress=False)
    photos = {n: report.path(n) for n in report.table["file_name"][:10]}
    reads: list[int] = []
    monkeypatch.setattr(features, "read_face", lambda p: (reads.append(1), read_face(p))[1])
    net = build_backbone("tiny", "none")
    held = []
    forward = net.model.forward
    net.model.forward = lambda x: (held.append((len(reads), len(x))), forward(x))[1]
    embed_photos(net.model, photos, backbone="tiny", image_size=64, cache_dir=None,
                 batch_size=4, progress=False)
    assert held == [(4, 4), (8, 4), (10, 2)]  # never more than one batch of photos in memory


def test_weights_auto_falls_back_to_random_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    import utils.download

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # nothing cached
    monkeypatch.setenv("ACTIONLAB_MIRROR", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setattr(utils.download, "BACKOFF_S", 0.0)
    net = build_backbone("resnet18", "auto", seed=3)
    assert not net.pretrained and net.why.startswith("RANDOM WEIGHTS") and net.dim == 512
    again = build_backbone("resnet18", "none", seed=3)
    assert all(torch.equal(a, b) for a, b in zip(net.model.state_dict().values(),
                                                  again.model.state_dict().values(),
                                                  strict=True))  # seeded random init
    with pytest.raises(InputError, match="cannot get the resnet18 ImageNet weights"):
        build_backbone("resnet18", "default")


def test_weights_from_a_state_dict_file(tmp_path: Path) -> None:
    saved = build_backbone("resnet18", "none", seed=5)
    path = tmp_path / "face_resnet18.pt"
    torch.save(saved.model.state_dict(), path)
    net = build_backbone("resnet18", str(path), seed=3)
    assert net.pretrained and net.why == f"weights from {path}"
    assert all(torch.equal(a, b) for a, b in zip(net.model.state_dict().values(),
                                                  saved.model.state_dict().values(),
                                                  strict=True))
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match=r"other\.pt: does not fit this backbone"):
        build_backbone("resnet18", str(tmp_path / "other.pt"))
