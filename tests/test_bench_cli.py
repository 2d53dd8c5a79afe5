"""``actionlab bench``, ``predict`` and ``models list`` end to end on tiny3d and tiny clips."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from bench_helpers import tiny_kinetics

from utils.bench.budget import COURSE_T4, best_within_budget, videos_per_second
from utils.bench.run import RANDOM_WEIGHTS, RESULT_FIELDS, predict_clip
from utils.cli import main
from utils.errors import InputError
from utils.io import RUN_MANIFEST
from utils.models import build_model, get_weights, list_models


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tiny_kinetics(tmp_path_factory.mktemp("kinetics"), classes=2, per_class=2)
    (folder / "abseiling-AAAAAAAAAAA-1-11.mp4").write_bytes(b"broken file")
    return folder


@pytest.fixture(scope="module")
def bench_out(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    torch.manual_seed(0)
    code = main(["bench", "--models", "tiny3d", "--data", str(clips), "--weights", "none",
                 "--views", "2x3", "--device", "cpu", "--out", str(out), "--iters", "2",
                 "--warmup", "1", "--batch-size", "2", "--e2e-clips", "2"])
    assert code == 0
    return out


def test_results_json_has_exactly_the_schema(bench_out: Path) -> None:
    results = json.loads((bench_out / "results.json").read_text())
    assert set(results) == {"device", "weights", "views", "models", "run_id"}
    manifest = json.loads((bench_out / RUN_MANIFEST).read_text())
    assert manifest["run_id"] == results["run_id"]
    assert sorted(manifest["files"]) == ["accuracy_vs_latency.png", "predictions.csv",
                                         "results.csv", "results.json", "speed.json"]
    assert results["weights"] == RANDOM_WEIGHTS and results["views"] == "2x3"
    assert results["device"] == "cpu"
    (row,) = results["models"]
    assert tuple(row) == RESULT_FIELDS
    # the broken clip is counted as failed and left out of the denominators
    assert row["model"] == "tiny3d" and row["clips"] == 4 and row["failed"] == 1
    assert 0 <= row["top1"] <= row["top5"] <= 100
    assert row["latency_ms_median"] <= row["latency_ms_p90"]
    assert row["gflops"] == pytest.approx(get_weights("tiny3d").gflops, rel=0.01)
    assert row["params_m"] == pytest.approx(get_weights("tiny3d").params_m, rel=0.01)
    assert row["published_top1"] is None


def test_generated_folders_are_flagged_synthetic(clips: Path, tmp_path: Path) -> None:
    from utils.bench.run import kinetics_data

    choice, report = kinetics_data(clips, progress=False)
    assert choice.synthetic and len(report.samples) == 5  # the broken file is parsed, not probed
    real_like = tmp_path / "real"
    real_like.mkdir()
    for path in clips.glob("*.mp4"):
        (real_like / path.name).write_bytes(path.read_bytes())
    assert not kinetics_data(real_like, progress=False)[0].synthetic


def test_csv_predictions_and_plot(bench_out: Path) -> None:
    table = pd.read_csv(bench_out / "results.csv")
    assert list(table.columns) == list(RESULT_FIELDS) and len(table) == 1
    predictions = pd.read_csv(bench_out / "predictions.csv", keep_default_na=False)
    assert len(predictions) == 5 and set(predictions.model) == {"tiny3d"}
    failed = predictions[predictions.error != ""]
    assert failed["clip"].tolist() == ["abseiling-AAAAAAAAAAA-1-11.mp4"]
    assert "cannot decode" in failed.error.iloc[0]
    good = predictions[predictions.error == ""]
    assert good.topk.str.split().str.len().eq(5).all()
    top1 = 100 * good.correct_top1.map({"True": 1, "False": 0}).mean()
    assert top1 == pytest.approx(json.loads((bench_out / "results.json").read_text())
                                 ["models"][0]["top1"])
    assert (bench_out / "accuracy_vs_latency.png").stat().st_size > 1000
    speed_file = json.loads((bench_out / "speed.json").read_text())
    assert speed_file["synthetic_data"] is True and speed_file["weights"] == RANDOM_WEIGHTS
    speed = speed_file["models"]["tiny3d"]
    assert speed["amp"] is False and speed["batch_size"] == 2 and speed["views"] == [2, 3]
    assert speed["peak_memory_mb"] is None  # CPU


def test_predictions_match_a_direct_forward(bench_out: Path, clips: Path) -> None:
    """predict_clip and the bench agree with load_clip + the model, view-averaged softmax."""
    torch.manual_seed(0)
    model = build_model("tiny3d", weights=None)
    spec = get_weights("tiny3d")
    path = sorted(p for p in clips.glob("*.mp4") if p.stat().st_size > 100)[0]
    top = predict_clip(model, path, spec.preset, spec.categories, topk=3, views=(2, 3))
    from utils.video.presets import load_clip

    with torch.no_grad():
        probs = model(load_clip(path, spec.preset, num_clips=2, num_crops=3)).softmax(-1).mean(0)
    best = probs.topk(3)
    assert [name for name, _ in top] == [spec.categories[int(i)] for i in best.indices]
    assert [p for _, p in top] == pytest.approx(best.values.tolist(), rel=1e-5)
    row = pd.read_csv(bench_out / "predictions.csv").set_index("clip").loc[path.name]
    assert row.pred_name == top[0][0] and row.prob == pytest.approx(top[0][1], rel=1e-4)


def test_predict_command_prints_classes(clips: Path, capsys: pytest.CaptureFixture) -> None:
    path = sorted(p for p in clips.glob("*.mp4") if p.stat().st_size > 100)[0]
    assert main(["predict", "--model", "tiny3d", "--weights", "none", str(path), "--top-k", "3",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "RANDOM WEIGHTS" in out
    lines = [line for line in out.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3
    probs = [float(line.split()[-1]) for line in lines]
    assert probs == sorted(probs, reverse=True) and all(0 < p < 1 for p in probs)
    assert lines[0].split()[1] in " ".join(get_weights("tiny3d").categories)


def test_models_list(capsys: pytest.CaptureFixture) -> None:
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["model"] for row in rows] == list_models()
    slowfast = next(row for row in rows if row["model"] == "slowfast_r50")
    assert slowfast["top1"] == get_weights("slowfast_r50").metrics["top1"]
    assert slowfast["url"].endswith("SLOWFAST_8x8_R50.pyth")
    assert main(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in list_models())


@pytest.mark.parametrize("argv", [
    ["bench", "--models", "nope", "--data", "{clips}", "--out", "{out}"],
    ["bench", "--models", "tiny3d", "--data", "{out}/missing", "--out", "{out}"],
    ["bench", "--models", "tiny3d", "--data", "{clips}", "--out", "{out}", "--views", "2x2"],
    ["bench", "--models", "tiny3d", "--data", "{clips}", "--out", "{out}", "--device", "cuda:7"],
    ["bench", "--models", "tiny3d", "--data", "{clips}", "--out", "{out}", "--weights", "x"],
    ["bench", "--models", "tiny3d", "--data", "{clips}", "--out", "{out}", "--warmup", "-1"],
    ["bench", "--models", "tiny3d", "--data", "{clips}", "--out", "{out}", "--iters", "0"],
    ["predict", "--model", "tiny3d", "--weights", "none", "{out}/none.mp4"],
    ["predict", "--model", "tiny3d", "--weights", "{out}/none.pth", "{clips}"],
    ["predict", "--model", "tiny3d", "--weights", "none", "{clips}", "--top-k", "0"],
])
def test_bad_input_exits_2(argv: list[str], clips: Path, tmp_path: Path,
                           capsys: pytest.CaptureFixture) -> None:
    args = [a.format(clips=clips, out=tmp_path) for a in argv]
    if "cuda:7" in args and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    with pytest.raises(SystemExit) as argparse_exit:
        raise SystemExit(main(args))
    assert argparse_exit.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert not (tmp_path / "results.json").exists()


def test_help_says_what_is_read_and_written(capsys: pytest.CaptureFixture) -> None:
    for argv in (["bench", "--help"], ["predict", "--help"], ["models", "list", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    out = capsys.readouterr().out
    assert "results.json" in out and "accuracy_vs_latency.png" in out and "Reads" in out


def test_budget_choice_on_the_course_table() -> None:
    assert videos_per_second(0.25) == 4.0
    assert best_within_budget(COURSE_T4, 0.5)["model"] == "tsm_r50"
    assert best_within_budget(COURSE_T4, 1.0)["model"] == "slowfast_r50"
    assert best_within_budget(COURSE_T4, 0.3) is None
    rows = [{"model": "a", "top1": 50.0, "ms": 10.0}, {"model": "b", "top1": 50.0, "ms": 5.0},
            {"model": "c", "top1": None, "ms": 1.0}]
    assert best_within_budget(rows, 20, time_key="ms")["model"] == "b"  # tie -> faster
    with pytest.raises(InputError):
        videos_per_second(0)
