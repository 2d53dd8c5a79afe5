"""Estimated Colab time on a T4 of the GPU work of labs 1 and 2, from CPU latencies measured here.

Method (an ESTIMATE, no T4 was used):
1. The work: the forward passes each notebook makes at its committed default parameters (read
   with ``papermill.inspect_notebook``): 1.1 evaluates ``MAX_CLIPS`` x views clips per model,
   times ``WARMUP + ITERS`` single clips and batches and ``E2E_CLIPS`` clips, and runs the correct
   pipeline plus 4 mistakes on ``MISTAKE_CLIPS`` clips; 2.1 embeds the 896 Shoplifting clips of
   DCSASS (REFERENCE.md) once with ``BACKBONE``. 1.2-1.4, 2.2's other categories and 2.3 are
   not counted, nor the setup cell's download and install (network-bound).
2. The speed: each model's median CPU latency per clip at its real input size
   (``utils.bench.speed.measure_speed``, random weights, batch 1), measured in this run.
3. CPU -> T4: the original course's T4 seconds per sample (``utils.bench.budget.COURSE_T4``,
   given data, end to end) divided by this CPU's latency of the same model; the largest of these
   ratios (the least favourable to the T4) scales every model. COURSE_T4 includes decoding, so
   the estimate leans high.

Baseline, measured in the same run: this machine's CPU (the ``cpu_minutes`` of each lab).
The last line printed is one JSON object.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import papermill
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.bench.budget import COURSE_T4
from utils.bench.speed import measure_speed
from utils.models import build_model, get_weights
from utils.paths import REPO_ROOT

DCSASS_SHOPLIFTING_CLIPS = 896  # REFERENCE.md: 28 source videos, 32 clips each


def defaults(notebook: str) -> dict:
    params = papermill.inspect_notebook(str(REPO_ROOT / notebook))
    return {name: ast.literal_eval(p["default"]) for name, p in params.items()}


def work() -> dict[str, dict[str, int]]:
    """Forward passes (single clips) per model of each lab's counted notebooks."""
    b = defaults("lab1_pretrained/01_pretrained_benchmark.ipynb")
    views = b["VIEWS"][0] * b["VIEWS"][1]
    per_model = (b["MAX_CLIPS"] * views + (b["WARMUP"] + b["ITERS"]) * (views + b["BATCH_SIZE"])
                 + b["E2E_CLIPS"] * views)
    lab1 = {name: per_model for name in b["MODELS"]}
    lab1[b["MISTAKES_MODEL"]] = lab1.get(b["MISTAKES_MODEL"], 0) + 5 * b["MISTAKE_CLIPS"]
    f = defaults("lab2_finetune/01_finetune_head.ipynb")
    return {"lab1": lab1, "lab2": {f["BACKBONE"]: DCSASS_SHOPLIFTING_CLIPS}}


def main() -> None:
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    jobs = work()
    names = sorted({n for lab in jobs.values() for n in lab} | {r["model"] for r in COURSE_T4})
    cpu_s = {}
    for name in names:
        model = build_model(name, weights=None)
        speed = measure_speed(model, get_weights(name).preset, warmup=1, iters=3)
        cpu_s[name] = speed.latency_ms_median / 1000
        print(f"{name:<13} {cpu_s[name]:7.3f} s per clip on this CPU", flush=True)
    ratios = {r["model"]: r["s_per_sample"] / cpu_s[r["model"]] for r in COURSE_T4}
    factor = max(ratios.values())
    labs = {}
    for lab, counts in jobs.items():
        cpu = sum(n * cpu_s[m] for m, n in counts.items())
        labs[lab] = {"forwards": counts, "cpu_minutes": round(cpu / 60, 1),
                     "t4_minutes_estimated": round(cpu * factor / 60, 1)}
    print(json.dumps({
        "benchmark": "bench_colab_t4",
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_1min": {"start": load_before, "end": os.getloadavg()[0]},
        "cpu_s_per_clip": {k: round(v, 3) for k, v in cpu_s.items()},
        "t4_over_cpu_given_course": {k: round(v, 3) for k, v in ratios.items()},
        "factor_used": round(factor, 3),
        "labs": labs,
    }))


if __name__ == "__main__":
    main()
