"""Model-only CPU latency, clips/s, params and GFLOPs of every zoo model at its real input size.

Baseline, measured in the same run: ``tsn_r50`` (8 frames at 224, a 2D ResNet-50 per frame),
the course's cheapest model; every model gets ``latency_vs_baseline`` = its median latency /
TSN's. GFLOPs per view are counted with ``torch.utils.flop_counter`` (multiply-accumulates) and
set against the figure published for the checkpoint (``gflops_published``, from the zoo spec).
Weights are random (nothing is downloaded): speed and FLOPs do not depend on them. Timings on a
shared machine are noisy; the median of ``--iters`` forwards after ``--warmup`` is reported.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.bench.budget import COURSE_T4
from utils.bench.speed import measure_speed
from utils.io import to_jsonable
from utils.models import build_model, get_weights, list_models

BASELINE = "tsn_r50"


def measure(name: str, args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    model = build_model(name, weights=None, device=args.device)
    spec = get_weights(name)
    speed = measure_speed(model, spec.preset, device=args.device, batch_size=args.batch_size,
                          warmup=args.warmup, iters=args.iters)
    return {
        "model": name,
        "input": f"{spec.preset.num_frames}x{spec.preset.crop}x{spec.preset.crop}",
        "latency_ms_median": round(speed.latency_ms_median, 1),
        "latency_ms_p90": round(speed.latency_ms_p90, 1),
        "clips_per_s": round(speed.clips_per_s, 3),
        "params_m": round(speed.params_m or 0, 2),
        "gflops": round(speed.gflops or 0, 3),
        "gflops_published": spec.gflops,
        "gflops_rel_diff": round((speed.gflops or 0) / spec.gflops - 1, 4),
        "published_top1": spec.metrics.get("top1"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(list_models()),
                        help="comma-separated zoo names (default: all)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    names = [n for n in args.models.split(",") if n]
    if BASELINE not in names:
        names.insert(0, BASELINE)
    rows = []
    for name in names:
        row = measure(name, args)
        rows.append(row)
        print(f"{name:<13} {row['latency_ms_median']:9.1f} ms (p90 {row['latency_ms_p90']:9.1f})"
              f"  {row['clips_per_s']:7.2f} clips/s  {row['params_m']:6.2f} M  "
              f"{row['gflops']:8.3f} GFLOPs (published {row['gflops_published']})", flush=True)
    base = next(row for row in rows if row["model"] == BASELINE)["latency_ms_median"]
    for row in rows:
        row["latency_vs_baseline"] = round(row["latency_ms_median"] / base, 3)
    print(json.dumps(to_jsonable({
        "benchmark": "bench_models",
        "device": args.device,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        # Other processes on the machine slow every model alike: read ratios, not absolutes.
        "load_average_1min": {"start": load_before, "end": os.getloadavg()[0]},
        "weights": "none (random initialisation; speed does not depend on it)",
        "batch_size": args.batch_size,
        "warmup": args.warmup,
        "iters": args.iters,
        "baseline": BASELINE,
        "models": rows,
        "course_t4_given": {"note": "the original course, NVIDIA T4, end to end s/sample, "
                                    "given data (not measured here)", "rows": COURSE_T4},
    })))


if __name__ == "__main__":
    main()
