"""Lab-2 fine-tuning on generated DCSASS in the real layout: cache, head, runs, scoring, CLI."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from torch import nn

from utils.cli import main
from utils.datasets.dcsass import load_dcsass
from utils.datasets.splits import grouped_split
from utils.datasets.synth import ClipSize, write_synthetic_dcsass
from utils.errors import InputError
from utils.finetune import load_run
from utils.finetune.analysis import hard_negatives, stitch_clips, video_curves, with_own_normals
from utils.finetune.cache import FeatureCache, extract_features
from utils.finetune.e2e import last_stage
from utils.finetune.evaluate import leakage_comparison
from utils.finetune.head import predict, train_head
from utils.finetune.recogniser import score_paths, score_windows
from utils.finetune.run import ensure_run, finetune
from utils.io import RUN_MANIFEST, file_sha256
from utils.metrics import average_precision
from utils.models import build_model, list_models
from utils.video.io import probe
from utils.video.presets import KINETICS_MEAN, KINETICS_STD, Preset

# 8 frames, 4 apart at 30 fps: the whole 32-frame clip, as the generated clips are
WHOLE_CLIP = Preset(name="whole_clip", sampling="dense", num_frames=8, sampling_rate=4, fps=30.0,
                    resize=48, crop=48, mean=KINETICS_MEAN, std=KINETICS_STD, layout="tests")
SIZE = ClipSize(64, 96, frames=32)


class FirstLastChange(nn.Module):
    """A tiny parameter-free backbone: how much each cell of an 8x8 grid changes between the
    first and the last frame (the largest, the second largest and the mean change). The
    generated thefts end with the item gone from the shelf; the normals end with it there."""

    def features(self, x: torch.Tensor) -> torch.Tensor:
        first = nn.functional.adaptive_avg_pool2d(x[:, :, 0], 8)
        last = nn.functional.adaptive_avg_pool2d(x[:, :, -1], 8)
        change = (first - last).abs().sum(1).flatten(1)
        top = change.topk(2, dim=1).values
        return torch.stack([top[:, 0], top[:, 1], change.mean(1)], dim=1)


class Interrupting(nn.Module):
    """Wraps a backbone and raises KeyboardInterrupt at forward call ``stop_at``."""

    def __init__(self, inner: nn.Module, stop_at: int) -> None:
        super().__init__()
        self.inner, self.stop_at, self.calls = inner, stop_at, 0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.inner.features(x)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 source videos x 10 clips, ~30 % thefts."""
    return write_synthetic_dcsass(tmp_path_factory.mktemp("big"), videos=12, clips_per_video=10,
                                  positive_rate=0.3, size=SIZE, progress=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_dcsass(tmp_path_factory.mktemp("small"), videos=8, clips_per_video=8,
                                  positive_rate=0.3, size=SIZE, seed=1, progress=False)


@pytest.fixture(scope="module")
def runs(small: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two identical tiny3d runs sharing a cache (the second reuses it) and one with a fresh
    cache; built once for the module."""
    base = tmp_path_factory.mktemp("runs")
    kwargs = {"backbone": "tiny3d", "weights": "none", "epochs": 4, "n_boot": 50,
              "device": "cpu", "progress": False}
    for name, cache in (("a", "cache"), ("b", "cache"), ("fresh", "cache2")):
        finetune(small, out=base / name, cache_dir=base / cache, **kwargs)
    return {"a": base / "a", "b": base / "b", "fresh": base / "fresh", "base": base}


def test_head_learns_well_above_chance(big: Path, tmp_path: Path) -> None:
    report = load_dcsass(big, progress=False)
    clips = {c.name: c.path for c in report.clips}
    split = grouped_split(list(clips), [c.source_video for c in report.clips],
                          [c.label for c in report.clips], seed=0)
    feats = extract_features(FirstLastChange(), clips, WHOLE_CLIP, backbone="first_last",
                             cache_dir=tmp_path, progress=False)
    part = {s: split[split["split"] == s] for s in ("train", "val", "test")}
    result = train_head(feats.rows(part["train"]["clip"].tolist()), part["train"]["label"],
                        feats.rows(part["val"]["clip"].tolist()), part["val"]["label"],
                        epochs=40, patience=15, lr=3e-3, progress=False)
    held_out = split[split["split"] != "train"]
    scores = predict(result.head, feats.rows(held_out["clip"].tolist()))
    ap = average_precision(held_out["label"], scores)
    chance = held_out["label"].mean()
    print(f"held-out AP {ap:.3f} (chance = positive rate {chance:.3f}, "
          f"{len(held_out)} clips of {held_out['source_video'].nunique()} videos)")
    assert chance < 0.5
    assert ap >= 0.9  # measured 1.000 on this generated set


def test_cache_reused_on_second_run(runs: dict[str, Path]) -> None:
    first = json.loads((runs["a"] / "config.json").read_text())
    second = json.loads((runs["b"] / "config.json").read_text())
    clips = json.loads((runs["a"] / "metrics.json").read_text())["clips"]
    n = clips["train"] + clips["val"] + clips["test"]
    assert (first["features_computed"], first["features_reused"]) == (n, 0)
    assert (second["features_computed"], second["features_reused"]) == (0, n)
    assert (runs["base"] / "cache" / "tiny3d.safetensors").is_file()


def test_runs_are_bit_for_bit_reproducible(runs: dict[str, Path]) -> None:
    for other in ("b", "fresh"):  # from the cache, and recomputed from the clips
        for name in ("scores.csv", "split.csv", "history.csv", "sweep_val.csv"):
            assert (runs["a"] / name).read_bytes() == (runs[other] / name).read_bytes(), name
        # safetensors orders its JSON header freely: compare the tensors bit for bit
        ha, hb = (load_file(runs[r] / "head.safetensors") for r in ("a", other))
        assert ha.keys() == hb.keys()
        assert all(torch.equal(ha[k], hb[k]) for k in ha)
        ma = json.loads((runs["a"] / "metrics.json").read_text())
        mb = json.loads((runs[other] / "metrics.json").read_text())
        assert ma == mb


def test_metrics_json_recomputed_from_scores_with_scikit_learn(runs: dict[str, Path]) -> None:
    metrics = json.loads((runs["a"] / "metrics.json").read_text())
    scores = pd.read_csv(runs["a"] / "scores.csv")
    t = metrics["threshold"]["value"]
    assert metrics["threshold"]["chosen_on"] == "val"
    assert set(metrics["test"]) == {"precision", "recall", "f1", "f2", "roc_auc",
                                    "average_precision", "tp", "fp", "tn", "fn"}
    for split in ("val", "test"):
        rows = scores[scores["split"] == split]
        y, s = rows["label"].to_numpy(), rows["score"].to_numpy()
        pred = s >= t
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        m = metrics[split]
        assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)
        assert m["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
        assert m["recall"] == pytest.approx(recall_score(y, pred, zero_division=0))
        assert m["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
        assert m["f2"] == pytest.approx(fbeta_score(y, pred, beta=2, zero_division=0))
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
        assert m["average_precision"] == pytest.approx(average_precision_score(y, s))
    assert metrics["clips"]["test"] == int((scores["split"] == "test").sum())


def test_run_files_and_split_are_consistent(runs: dict[str, Path]) -> None:
    run = runs["a"]
    for name in ("metrics.json", "split.csv", "scores.csv", "head.safetensors", "config.json",
                 "curves.png", "training.png"):
        assert (run / name).is_file(), name
    split = pd.read_csv(run / "split.csv")
    assert split.groupby("source_video")["split"].nunique().max() == 1
    scores = pd.read_csv(run / "scores.csv")
    assert list(scores.columns) == ["clip", "source_video", "split", "label", "score"]
    assert scores["clip"].tolist() == split["clip"].tolist()


def test_interrupted_extraction_resumes(small: Path, tmp_path: Path) -> None:
    report = load_dcsass(small, progress=False)
    clips = {c.name: c.path for c in report.clips}
    args = {"backbone": "first_last", "batch_size": 4, "flush_every": 4, "progress": False}
    with pytest.raises(KeyboardInterrupt):
        extract_features(Interrupting(FirstLastChange(), stop_at=3), clips, WHOLE_CLIP,
                         cache_dir=tmp_path, **args)
    assert len(FeatureCache(tmp_path, "first_last")) == 8  # two batches of 4 were saved
    resumed = extract_features(FirstLastChange(), clips, WHOLE_CLIP, cache_dir=tmp_path, **args)
    assert (resumed.computed, resumed.reused) == (len(clips) - 8, 8)
    fresh = extract_features(FirstLastChange(), clips, WHOLE_CLIP, cache_dir=None, **args)
    assert np.array_equal(resumed.matrix, fresh.matrix)


def test_cache_is_keyed_by_clip_file_not_name(small: Path, tmp_path: Path) -> None:
    """Two datasets with the same clip names and other content (here: two clips' files swapped)
    get their own features through one shared cache; the same dataset reuses every row."""
    names = sorted(c.name for c in load_dcsass(small, progress=False).clips)[:4]
    roots = {k: shutil.copytree(small, tmp_path / k) for k in ("one", "two")}
    paths = {k: {c.name: c.path for c in load_dcsass(r, progress=False).clips}
             for k, r in roots.items()}
    a, b = names[0], names[1]
    swap_a, swap_b = paths["two"][a].read_bytes(), paths["two"][b].read_bytes()
    paths["two"][a].write_bytes(swap_b)
    paths["two"][b].write_bytes(swap_a)
    args = {"backbone": "fl", "cache_dir": tmp_path / "cache", "progress": False}
    got = {k: extract_features(FirstLastChange(), {n: paths[k][n] for n in names}, WHOLE_CLIP,
                               **args) for k in ("one", "two")}
    assert (got["two"].computed, got["two"].reused) == (4, 0)  # no row of "one" reused
    one, two = got["one"].matrix, got["two"].matrix
    assert not np.array_equal(one[0], one[1])
    assert np.array_equal(two[0], one[1]) and np.array_equal(two[1], one[0])
    assert np.array_equal(two[2:], one[2:])
    again = extract_features(FirstLastChange(), {n: paths["one"][n] for n in names}, WHOLE_CLIP,
                             **args)
    assert (again.computed, again.reused) == (0, 4) and np.array_equal(again.matrix, one)
    assert len(FeatureCache(tmp_path / "cache", "fl")) == 8
    paths["one"][a].write_bytes(swap_b)  # rewritten in place: recomputed, the others reused
    edited = extract_features(FirstLastChange(), {n: paths["one"][n] for n in names},
                              WHOLE_CLIP, **args)
    assert (edited.computed, edited.reused) == (1, 3)
    assert np.array_equal(edited.matrix[0], one[1])


def test_augmented_views_are_cached_and_reproducible(small: Path, tmp_path: Path) -> None:
    report = load_dcsass(small, progress=False)
    clips = {c.name: c.path for c in report.clips[:3]}
    one = extract_features(FirstLastChange(), clips, WHOLE_CLIP, backbone="fl", augment=2,
                           cache_dir=tmp_path, progress=False)
    again = extract_features(FirstLastChange(), clips, WHOLE_CLIP, backbone="fl", augment=2,
                             cache_dir=None, progress=False)
    assert one.matrix.shape == (3, 3, 3)
    assert np.array_equal(one.matrix, again.matrix)
    assert not np.array_equal(one.matrix[:, 1], one.matrix[:, 2])  # two different augmentations


def test_corrupt_clip_is_listed_in_failed(small: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(small, data)
    report = load_dcsass(data, progress=False)
    victim = report.clips[5]
    victim.path.write_bytes(b"not a video at all")
    metrics = finetune(data, out=tmp_path / "run", backbone="tiny3d", weights="none", epochs=2,
                       n_boot=10, cache_dir=tmp_path / "cache", device="cpu", progress=False)
    failed = metrics["clips"]["failed"]
    assert victim.name in failed
    assert "cannot decode" in failed[victim.name]
    scores = pd.read_csv(tmp_path / "run" / "scores.csv")
    assert victim.name not in set(scores["clip"])
    # the generator's malformed label row: its clip is on disk without a label, also listed
    assert any("without a valid label row" in why for why in failed.values())


def test_overlapping_split_is_refused(small: Path, runs: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    split = pd.read_csv(runs["a"] / "split.csv")
    video = split.loc[split["split"] == "train", "source_video"].iloc[0]
    first = split.index[split["source_video"] == video][0]
    split.loc[first, "split"] = "test"  # one clip of a training video moves to test
    split.to_csv(tmp_path / "leaky.csv", index=False)
    with pytest.raises(InputError, match="leakage"):
        finetune(small, out=tmp_path / "run", split_file=tmp_path / "leaky.csv", backbone="tiny3d",
                 weights="none", device="cpu", progress=False)
    code = main(["finetune", "--data", str(small), "--split", str(tmp_path / "leaky.csv"),
                 "--backbone", "tiny3d", "--weights", "none", "--out", str(tmp_path / "r")])
    assert code == 2
    assert "leakage" in capsys.readouterr().err


def test_given_split_is_used_and_saved(small: Path, runs: dict[str, Path],
                                       tmp_path: Path) -> None:
    split = pd.read_csv(runs["a"] / "split.csv")
    moved = split.copy()
    swap = {"val": "test", "test": "val", "train": "train"}
    moved["split"] = moved["split"].map(swap)
    moved.to_csv(tmp_path / "swapped.csv", index=False)
    finetune(small, out=tmp_path / "run", split_file=tmp_path / "swapped.csv", backbone="tiny3d",
             weights="none", epochs=2, n_boot=10, cache_dir=runs["base"] / "cache",
             device="cpu", progress=False)
    saved = pd.read_csv(tmp_path / "run" / "split.csv")
    assert saved["split"].tolist() == moved["split"].tolist()


def test_load_run_scores_clips_as_the_run_did(small: Path, runs: dict[str, Path],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    recogniser = load_run(runs["a"], device="cpu")
    assert recogniser.labels == ("shoplifting",)
    metrics = json.loads((runs["a"] / "metrics.json").read_text())
    assert recogniser.threshold == metrics["threshold"]["value"]
    scores = pd.read_csv(runs["a"] / "scores.csv").head(6)
    report = load_dcsass(small, progress=False)
    paths = {c.name: c.path for c in report.clips}
    scored = score_paths(recogniser, [paths[c] for c in scores["clip"]], progress=False)
    assert np.allclose(scored.table["score"], scores["score"], atol=1e-6)
    assert main(["score", "--run", str(runs["a"]), str(paths[scores["clip"][0]])]) == 0
    assert f"{scores['score'][0]:.4f}"[:5] in capsys.readouterr().out


def test_load_run_refuses_other_weights(runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["a"], run)
    config = json.loads((run / "config.json").read_text())
    config["seed"] += 1  # random weights drawn with another seed hash differently
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"config\.json is not the file run \w+ wrote"):
        load_run(run, device="cpu")  # edited after the run: refused as not the run's file
    manifest = json.loads((run / RUN_MANIFEST).read_text())
    manifest["files"]["config.json"] = file_sha256(run / "config.json")
    (run / RUN_MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="hashes to"):
        load_run(run, device="cpu")


def _run_files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


def test_interrupted_run_write_leaves_the_earlier_run_whole(
        small: Path, runs: dict[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The 5th file of a new run fails to be written over an earlier run: the earlier run is
    still there, complete and unchanged, and no temporary folder is left beside it."""
    run = tmp_path / "run"
    shutil.copytree(runs["a"], run)
    before = _run_files(run)
    assert set(before) == {"config.json", "curves.png", "head.safetensors", "history.csv",
                           "metrics.json", RUN_MANIFEST, "scores.csv", "split.csv",
                           "sweep_val.csv", "training.png"}
    replace, written = os.replace, []

    def fail_fifth(src: str | Path, dst: str | Path) -> None:
        if ".new." in Path(dst).parent.name:  # a file landing in the run being written
            written.append(Path(dst).name)
            if len(written) == 5:
                raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", fail_fifth)
    with pytest.raises(OSError, match="No space left"):
        finetune(small, out=run, backbone="tiny3d", weights="none", epochs=2, n_boot=10,
                 seed=3, cache_dir=runs["base"] / "cache", device="cpu", progress=False)
    monkeypatch.undo()
    assert len(written) == 5
    assert _run_files(run) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert load_run(run, device="cpu").threshold == json.loads(
        before["metrics.json"])["threshold"]["value"]


def test_score_refuses_a_folder_mixing_two_runs(runs: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["a"], run)
    # run b was made with the same settings: same tensors, but another run's file
    shutil.copy(runs["b"] / "head.safetensors", run / "head.safetensors")
    clip = next((runs["base"] / "a").glob("*.csv"))  # any file: refused before reading it
    assert main(["score", "--run", str(run), str(clip)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("actionlab: error: ")
    assert "head.safetensors is not the file run" in err and "different runs mixed" in err


def test_end_to_end_last_stage_on_cpu(small: Path, tmp_path: Path) -> None:
    metrics = finetune(small, out=tmp_path / "e2e", backbone="tiny3d", weights="none",
                       epochs=1, batch_size=8, n_boot=10, cache_dir=None, device="cpu",
                       e2e=True, progress=False)
    assert metrics["training"]["e2e"] is True
    assert (tmp_path / "e2e" / "backbone_stage.safetensors").is_file()
    recogniser = load_run(tmp_path / "e2e", device="cpu")
    scores = pd.read_csv(tmp_path / "e2e" / "scores.csv").head(3)
    paths = {c.name: c.path for c in load_dcsass(small, progress=False).clips}
    scored = score_paths(recogniser, [paths[c] for c in scores["clip"]], progress=False)
    assert np.allclose(scored.table["score"], scores["score"], atol=1e-6)


def test_leakage_comparison_shares_videos_only_in_the_random_split(big: Path,
                                                                   tmp_path: Path) -> None:
    report = load_dcsass(big, progress=False)
    table = pd.DataFrame({"clip": [c.name for c in report.clips],
                          "source_video": [c.source_video for c in report.clips],
                          "label": [c.label for c in report.clips]})
    feats = extract_features(FirstLastChange(), {c.name: c.path for c in report.clips},
                             WHOLE_CLIP, backbone="first_last", cache_dir=None, progress=False)
    result = leakage_comparison(feats.rows(table["clip"].tolist()), table, seeds=(0,),
                                epochs=3)
    shared = result.set_index("split")["videos_shared"]
    assert shared["grouped by source video"] == 0
    assert shared["clip-level random"] > 0


@pytest.mark.parametrize("name", list_models())
def test_last_stage_exists_for_every_zoo_model(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, weights=None)
    stage = last_stage(model)
    assert sum(p.numel() for p in stage.parameters()) > 0
    if name == "tiny3d":  # the stage is on the path of the embedding
        for p in stage.parameters():
            p.requires_grad_(True)
        model.features(torch.randn(1, 3, 8, 56, 56)).sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in stage.parameters())


def test_ensure_run_reuses_a_matching_run_only(small: Path, runs: dict[str, Path],
                                               tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["a"], run)
    before = (run / "scores.csv").stat().st_mtime_ns
    same = ensure_run(run, small, backbone="tiny3d", weights="none", epochs=4, n_boot=50,
                      device="cpu", progress=False, cache_dir=runs["base"] / "cache")
    assert (run / "scores.csv").stat().st_mtime_ns == before
    assert same == json.loads((runs["a"] / "metrics.json").read_text())
    ensure_run(run, small, backbone="tiny3d", weights="none", epochs=2, n_boot=50,
               device="cpu", progress=False, cache_dir=runs["base"] / "cache")
    assert json.loads((run / "config.json").read_text())["epochs"] == 2


def test_sliding_windows_over_stitched_clips(small: Path, runs: dict[str, Path],
                                             tmp_path: Path) -> None:
    recogniser = load_run(runs["a"], device="cpu")
    clips = [c for c in load_dcsass(small, progress=False).clips][:3]
    video, truth = stitch_clips([c.path for c in clips], tmp_path / "demo.mp4")
    one = probe(clips[0].path).duration
    assert probe(video).num_frames == sum(probe(c.path).num_frames for c in clips)
    assert truth["end"].iloc[-1] == pytest.approx(probe(video).duration, abs=1e-6)
    windows = score_windows(recogniser, video, window=one, stride=0.5)
    assert len(windows) == int((3 * one - one) / 0.5 + 1e-9) + 1
    assert windows["end"].max() <= probe(video).duration + 1e-9
    assert (windows["alert"] == (windows["score"] >= recogniser.threshold)).all()


def test_video_curves_by_hand() -> None:
    scores = pd.DataFrame({
        "clip": [f"c{i}" for i in range(6)], "split": "test",
        "source_video": ["A", "A", "A", "B", "B", "B"],
        "label": [1, 0, 0, 1, 1, 0], "score": [0.9, 0.8, 0.1, 0.3, 0.7, 0.5]})
    curves = {c.camera: c for c in video_curves(scores)}
    a, b = curves["A"], curves["B"]
    assert (a.tp_before, a.fp_before, b.tp_before, b.fp_before) == (1, 2, 2, 1)
    # A: both normals score below its theft (0.8, 0.1 < 0.9): removed at no TP cost
    assert a.fp_remaining()[0] == 0
    # B: keeping both thefts needs threshold <= 0.3, which keeps the normal at 0.5
    assert b.fp_remaining()[0] == 1 and b.recall()[0] == 1.0


def test_hard_negatives_count_alerts_on_other_categories(runs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    recogniser = load_run(runs["a"], device="cpu")
    other = write_synthetic_dcsass(tmp_path / "stealing", category="Stealing", videos=2,
                                   clips_per_video=6, size=SIZE, progress=False)
    report = load_dcsass(other, "Stealing", progress=False)
    normals = [c.path for c in report.clips if c.label == 0]
    direct = score_paths(recogniser, normals, progress=False).table["score"].to_numpy()
    threshold = float(np.median(direct))
    table = hard_negatives(recogniser, {"Stealing": report}, threshold, cache_dir=None,
                           progress=False)
    row = table.iloc[0]
    assert row["normal_clips"] == len(normals)
    assert row["fp"] == int((direct >= threshold).sum())
    assert row["fp_rate"] == pytest.approx(row["fp"] / len(normals))


def test_own_normals_row_counts_the_runs_label_0_clips_at_the_threshold() -> None:
    hard = pd.DataFrame([{"category": "Fighting", "normal_clips": 4, "fp": 1, "fp_rate": 0.25,
                          "failed": 2}])
    scores = pd.DataFrame({"label": [0, 0, 0, 0, 0, 1, 1],
                           "score": [0.1, 0.5, 0.7, 0.49, 0.9, 0.95, 0.2]})
    table = with_own_normals(hard, scores, 0.5)
    assert list(table.columns) == list(hard.columns) and len(table) == 2
    assert table.iloc[0].to_dict() == hard.iloc[0].to_dict()  # the other rows are kept as they are
    own = table.iloc[1]  # 0.5, 0.7 and 0.9 of the five normals reach 0.5; the thefts do not count
    assert (own["category"], own["normal_clips"], own["fp"], own["failed"]) == (
        "Shoplifting (test normals)", 5, 3, 0)
    assert own["fp_rate"] == pytest.approx(3 / 5)
    empty = with_own_normals(hard, scores[scores["label"] == 1], 0.5).iloc[1]
    assert empty["normal_clips"] == 0 and empty["fp"] == 0 and np.isnan(empty["fp_rate"])


def test_run_drives_the_live_demo(small: Path, runs: dict[str, Path], tmp_path: Path) -> None:
    from utils.deploy.live import run_live

    recogniser = load_run(runs["a"], device="cpu")
    clip = load_dcsass(small, progress=False).clips[0].path
    summary = run_live(recogniser, str(clip), out=tmp_path / "overlay.mp4", realtime=False)
    assert summary["labels"] == ["shoplifting"]
    assert summary["frames_out"] == probe(clip).num_frames
    assert probe(tmp_path / "overlay.mp4").num_frames == probe(clip).num_frames
    assert summary["inferences"] >= 1
    assert all(p["top1"] == "shoplifting" and 0 <= p["prob"] <= 1
               for p in summary["predictions"])
