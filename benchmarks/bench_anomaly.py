"""Scoring throughput of the anomaly lab (frames/s on the CPU), and what training costs.

Ours: ``utils.anomaly.scoring.score_video`` (frames predicted in batches, their size bounded
in pixels on the CPU; every metric from one error tensor per batch); batches of 32 whatever
the size are timed too. Named baseline: the straightforward loop, one frame per
forward and every metric recomputed from the prediction on its own (MSE, each percentile, the
standard deviation and the PSNR each take their own pass over the pixel errors). The middle row,
one frame per forward with shared metrics, separates the two effects. The outputs of all three
are compared (largest difference printed). Training cost: seconds per optimiser step at batch 16
and the forward FLOPs per frame (``torch.utils.flop_counter``, 2 per multiply-add), which the
T4 estimate uses. The metrics are also timed alone (predictions made once), which is where the
shared error tensor differs from the baseline; on one CPU thread the forward dominates (a GPU,
where batching is the point, is not measured here). One CPU thread by default, as the library.
The last line printed is one JSON object.

    python benchmarks/bench_anomaly.py
    python benchmarks/bench_anomaly.py --sizes 64x96 240x360 --frames 60
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_metrics import seconds
from utils.anomaly.model import NextFramePredictor, windows
from utils.anomaly.scoring import METRICS, batch_size_for, frame_metrics, score_video

BASELINE = "one frame per forward, each metric recomputed from the prediction on its own"


def baseline_metrics(pred: np.ndarray, real: np.ndarray, out: dict[str, list[float]]) -> None:
    """Every metric of one frame, each from its own pass over the pixels."""
    out["mse"].append(float(np.mean((pred - real) ** 2)))
    out["p50"].append(float(np.percentile(np.abs(pred - real), 50)))
    out["p90"].append(float(np.percentile(np.abs(pred - real), 90)))
    out["p99"].append(float(np.percentile(np.abs(pred - real), 99)))
    out["err_std"].append(float(np.std(np.abs(pred - real))))
    out["psnr"].append(float(10 * np.log10(1 / np.mean((pred - real) ** 2))))


def baseline(model: NextFramePredictor, video: np.ndarray) -> dict[str, np.ndarray]:
    """The loop a first version would write."""
    past, target = windows(torch.from_numpy(video), model.context)
    out: dict[str, list[float]] = {k: [] for k in METRICS}
    with torch.no_grad():
        for x, y in zip(past, target, strict=True):
            baseline_metrics(model(x[None])[0].numpy(), y.numpy(), out)
    return {k: np.array(v) for k, v in out.items()}


def measure(height: int, width: int, frames: int, repeats: int) -> dict[str, Any]:
    torch.manual_seed(0)
    model = NextFramePredictor(4, 16).eval()
    rng = np.random.default_rng(0)
    video = rng.random((frames, height, width), dtype=np.float32)
    scored = frames - model.context
    score_video(model, video[: model.context + 2], "warm-up", batch_size=2)  # first-call costs
    batch = batch_size_for(video.shape, "cpu")
    ours_s = seconds(lambda: score_video(model, video, "v"), repeats)
    batch32_s = seconds(lambda: score_video(model, video, "v", batch_size=32), repeats)
    unbatched_s = seconds(lambda: score_video(model, video, "v", batch_size=1), repeats)
    base_s = seconds(lambda: baseline(model, video), repeats)
    table = score_video(model, video, "v")
    reference = baseline(model, video)
    diff = max(float(np.max(np.abs(table[k].to_numpy() - reference[k]))) for k in METRICS)
    # The metrics alone, on predictions made once
    past, target = windows(torch.from_numpy(video), model.context)
    with torch.no_grad():
        pred = model(past)
    metrics_s = seconds(lambda: frame_metrics(pred, target), repeats)

    def per_metric() -> None:
        out: dict[str, list[float]] = {k: [] for k in METRICS}
        for p, y in zip(pred.numpy(), target.numpy(), strict=True):
            baseline_metrics(p, y, out)

    per_metric_s = seconds(per_metric, repeats)

    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(16, 4, height, width)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x[:1])
    train_model = NextFramePredictor(4, 16).train()
    optimiser = torch.optim.Adam(train_model.parameters())

    def step() -> None:
        loss = torch.nn.functional.mse_loss(train_model(x), x[:, -1:])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    step_s = seconds(step, repeats)
    return {
        "size": f"{height}x{width}", "frames_scored": scored,
        "ours_batch": batch, "ours_frames_per_s": scored / ours_s,
        "batch32_frames_per_s": scored / batch32_s,
        "unbatched_shared_metrics_frames_per_s": scored / unbatched_s,
        "baseline_frames_per_s": scored / base_s,
        "speedup_vs_baseline": base_s / ours_s,
        "max_abs_difference": diff,
        "metrics_only_ours_frames_per_s": scored / metrics_s,
        "metrics_only_baseline_frames_per_s": scored / per_metric_s,
        "metrics_share_of_baseline_time": per_metric_s / base_s,
        "train_step_s_batch16": step_s, "train_frames_per_s": 16 / step_s,
        "forward_gflops_per_frame": counter.get_total_flops() / 1e9,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["64x96", "240x360"],
                        help="HEIGHTxWIDTH frame sizes (default: the lab's 64x96 and Ped2's "
                             "240x360)")
    parser.add_argument("--frames", type=int, default=40, help="frames per video (default: 40)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default: 1, as the library runs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for size in args.sizes:
        height, width = (int(v) for v in size.lower().split("x"))
        row = measure(height, width, args.frames, args.repeats)
        print(f"{row['size']}: ours (batch {row['ours_batch']}) {row['ours_frames_per_s']:.1f} "
              f"frames/s, batch 32 {row['batch32_frames_per_s']:.1f}, one frame per "
              f"forward {row['unbatched_shared_metrics_frames_per_s']:.1f}, baseline "
              f"{row['baseline_frames_per_s']:.1f} (x{row['speedup_vs_baseline']:.2f}); metrics "
              f"alone {row['metrics_only_ours_frames_per_s']:.0f} against "
              f"{row['metrics_only_baseline_frames_per_s']:.0f} frames/s; "
              f"largest difference {row['max_abs_difference']:.2e}; training "
              f"{row['train_frames_per_s']:.1f} frames/s", file=sys.stderr)
        rows.append(row)
    print(json.dumps({"benchmark": "anomaly_scoring", "baseline": BASELINE, "threads": args.threads,
                      "device": "cpu", "torch": torch.__version__, "results": rows}))


if __name__ == "__main__":
    main()
