"""What lab 1 reports: clip subsets, scaled presets, weights, generated sentences, figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from bench_helpers import tiny_kinetics

from utils.bench.accuracy import EvalResult
from utils.bench.mistakes import describe_effects
from utils.bench.plots import (
    accuracy_vs_latency,
    mistakes_figure,
    sampled_frame_times,
    sampling_figure,
)
from utils.bench.run import (
    RANDOM_WEIGHTS,
    describe_results,
    pick_clips,
    plot_title,
    scale_preset,
    weights_label,
)
from utils.errors import InputError
from utils.video.presets import get_preset

matplotlib.use("Agg")


def test_pick_clips_spreads_over_the_list() -> None:
    samples = [(Path(f"c{i}.mp4"), i // 3) for i in range(12)]  # 4 classes x 3 clips, sorted
    picked = pick_clips(samples, 4)
    assert [p.name for p, _ in picked] == ["c0.mp4", "c4.mp4", "c7.mp4", "c11.mp4"]
    assert sorted({y for _, y in picked}) == [0, 1, 2, 3]  # every class, not the first two
    assert pick_clips(samples, None) == samples and pick_clips(samples, 50) == samples


def test_scale_preset() -> None:
    tsm = get_preset("tsm_r50")
    assert scale_preset(tsm, 1.0) is tsm
    small = scale_preset(tsm, 0.25)
    assert (small.resize, small.crop, small.num_frames) == (64, 56, 8)
    assert small.mean == tsm.mean and small.name == "tsm_r50_x0.25"
    r2 = scale_preset(get_preset("r2plus1d_18"), 0.5)
    assert (r2.resize, r2.crop) == ((64, 86), 56)
    assert scale_preset(tsm, 0.01).crop == 16  # never below 16 pixels
    with pytest.raises(InputError, match="scale"):
        scale_preset(tsm, 0)


def test_weights_choice_and_label() -> None:
    assert weights_label(None) == weights_label("none") == RANDOM_WEIGHTS
    assert weights_label("default") == "default"
    title = plot_title("cpu", (1, 1), RANDOM_WEIGHTS, synthetic=True, scale=0.5)
    assert "RANDOM WEIGHTS" in title and "SYNTHETIC" in title and "x0.5" in title
    assert "RANDOM" not in plot_title("cuda", (10, 3), "default", synthetic=False)


ROWS = [
    {"model": "tsm_r50", "top1": 70.0, "top5": 90.0, "clips": 20, "latency_ms_median": 40.0,
     "clips_per_s": 30.0, "gflops": 32.0, "published_top1": 71.2, "end_to_end_s_per_clip": 0.2},
    {"model": "x3d_xs", "top1": 65.0, "top5": 85.0, "clips": 20, "latency_ms_median": 10.0,
     "clips_per_s": 120.0, "gflops": 0.5, "published_top1": 69.12,
     "end_to_end_s_per_clip": 0.1},
]


def test_describe_results_from_the_numbers() -> None:
    results = {"device": "cuda", "views": "1x1", "models": ROWS}
    text = describe_results(results, findings=True)
    assert "**x3d_xs** is the fastest: 10 ms" in text and "0.5 GFLOPs" in text
    assert "**tsm_r50** is the slowest: 40 ms, 4.0x longer" in text
    assert "most accurate here is **tsm_r50**: top-1 70.0 %" in text and "71.2" in text
    # 40 / 32 = 1.25 ms per GFLOP against 10 / 0.5 = 20; model share 40 / 200 and 10 / 100
    assert "from 1.25 ms (tsm_r50) to 20 ms (x3d_xs)" in text
    assert "take 80–90 % of the end-to-end time per clip (most for x3d_xs)" in text
    random = describe_results(results, findings=False)
    assert "chance level" in random and "most accurate" not in random


def _result(probs: list[list[float]]) -> EvalResult:
    return EvalResult([Path(f"c{i}.mp4") for i in range(len(probs))], np.zeros(len(probs), int),
                      np.array(probs), (1, 1))


def test_describe_effects_names_the_largest_change() -> None:
    correct = _result([[0.6, 0.4], [0.7, 0.3]])
    effects = {
        "a": {"clips": 2, "top1_agreement": 1.0, "mean_abs_dprob": 0.2, "top1": 100.0,
              "top1_delta": 0.0},
        "b": {"clips": 2, "top1_agreement": 0.5, "mean_abs_dprob": 0.1, "top1": 50.0,
              "top1_delta": -50.0},
    }
    text = describe_effects(correct, effects, findings=True)
    assert "top-1 is **100.0 %** on 2 clips" in text
    assert "- b: top-1 50.0 % (-50.0 points)" in text
    assert text.endswith("**b** (50 % of top-1 answers unchanged, mean |Δprob| 0.1000).")
    random = describe_effects(correct, effects, findings=False)
    assert "not findings" in random and "stays the same on 100 % of the 2 clips" in random
    # equal agreement: the larger probability change decides
    effects["b"]["top1_agreement"] = 1.0
    assert "**a**" in describe_effects(correct, effects, findings=False).splitlines()[-1]


def test_slowfast_timeline_has_both_pathways() -> None:
    slowfast = get_preset("slowfast_r50")
    rows = sampled_frame_times(slowfast, num_frames=300, fps=30.0)
    fast, slow = rows["slowfast_r50 fast"], rows["slowfast_r50 slow"]
    assert len(fast) == 32 and len(slow) == 8
    np.testing.assert_allclose(slow, fast[[0, 4, 8, 13, 17, 22, 26, 31]])
    # PySlowFast's first test clip: 32 indices spread by linspace over the 64-frame window
    # that starts at frame 0, truncated (decoder.temporal_sampling)
    np.testing.assert_allclose(fast * 30, np.floor(np.linspace(0, 63, 32, dtype=np.float32)))
    tsm = sampled_frame_times(get_preset("tsm_r50"), num_frames=240, fps=30.0)["tsm_r50"]
    np.testing.assert_allclose(tsm * 30, 15 + 30 * np.arange(8))  # int(tick/2 + tick*x)


def test_figures_are_drawn(tmp_path: Path) -> None:
    clip = next(tiny_kinetics(tmp_path, classes=1, per_class=1).glob("*.mp4"))
    fig = sampling_figure(clip, [get_preset("tsm_r50"), get_preset("slowfast_r50")], thumbs=4)
    assert len(fig.axes) == 1 + 3 * 4  # timeline, then 4 thumbnails per row (tsm, fast, slow)
    fig = accuracy_vs_latency(ROWS, title="t")
    assert fig.axes[0].get_xscale() == "log"
    effects = {"a": {"top1_agreement": 0.5, "mean_abs_dprob": 0.1, "top1": 20.0}}
    assert len(mistakes_figure(30.0, effects, title="t").axes) == 3
    assert len(mistakes_figure(30.0, effects, title="t", show_accuracy=False).axes) == 2
