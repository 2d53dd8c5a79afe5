"""A benchmark run over several zoo models: accuracy, speed and cost, written as the files of
``actionlab bench`` (results.json / .csv, predictions.csv, accuracy_vs_latency.png, and
speed.json with every model's full ``SpeedReport``: AMP actually used, batch size, peak CUDA
memory).

The model comes from a ``load_model(name)`` callable, so the same run measures a zoo model in
eager PyTorch or any other runtime with the forward contract.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from utils.bench.accuracy import Model, evaluate, forward_views
from utils.bench.device import resolve_device
from utils.bench.speed import measure_speed
from utils.datamode import DataChoice
from utils.errors import InputError
from utils.io import (
    RUN_MANIFEST,
    atomic_path,
    check_folder_target,
    save_figure,
    staged_run,
    write_json,
)
from utils.video.presets import Preset

RESULT_FIELDS = (
    "model", "top1", "top5", "clips", "failed", "latency_ms_median", "latency_ms_p90",
    "clips_per_s", "end_to_end_s_per_clip", "params_m", "gflops", "published_top1",
)
RANDOM_WEIGHTS = "none (random initialisation)"


def weights_label(weights: str | None) -> str:
    """What ``results.json`` says about the weights: random ones are labelled as such."""
    if weights is None or weights == "none":
        return RANDOM_WEIGHTS
    return str(weights)


def check_models(names: Sequence[str]) -> list[str]:
    """``names`` validated against the zoo (InputError lists the valid ones)."""
    from utils.models import list_models

    known = list_models()
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise InputError(f"--models: unknown {unknown or 'empty list'}; valid: {', '.join(known)}")
    return list(names)


def kinetics_data(data: str | Path, *, progress: bool = True) -> tuple[DataChoice, Any]:
    """``"synthetic"`` (generated sample) or a folder of Kinetics clips -> the data choice and
    the loader's report (clips left out for their name or label are in ``report.left_out()``).
    A folder written by the synthetic generator (it holds its marker file) is flagged synthetic
    too. Clips are not probed here: a clip that cannot be decoded reaches ``evaluate``, which
    lists and counts it in each model's ``failed``."""
    from utils.datasets.kinetics import load_kinetics_sample
    from utils.datasets.synth import MARKER, choose_kinetics_sample

    if str(data) == "synthetic":
        choice = choose_kinetics_sample("synthetic", progress=progress)
    else:
        choice = DataChoice(Path(data), synthetic=(Path(data) / MARKER).is_file())
    report = load_kinetics_sample(choice.path, check_readable=False, progress=progress)
    if not report.samples:
        raise InputError(f"--data {data}: no usable Kinetics clip ({len(report.left_out())} "
                         "left out); clips must be named {label}-{youtube_id}-{start}-{end}.mp4")
    return choice, report


def pick_clips(
    samples: Sequence[tuple[Path, int]], max_clips: int | None
) -> list[tuple[Path, int]]:
    """At most ``max_clips`` samples spread evenly over the (name-sorted, so class-sorted) list:
    a subset covers the classes instead of the first few alphabetically."""
    samples = list(samples)
    if not max_clips or max_clips >= len(samples):
        return samples
    picks = np.unique(np.linspace(0, len(samples) - 1, max_clips).round().astype(int))
    return [samples[i] for i in picks]


def describe_results(results: dict[str, Any], *, findings: bool) -> str:
    """Markdown sentences generated from a ``run_benchmark`` result. ``findings`` is True only
    for pretrained weights on real clips; otherwise accuracy is called what it is: chance."""
    rows = results["models"]
    fast = min(rows, key=lambda r: r["latency_ms_median"])
    slow = max(rows, key=lambda r: r["latency_ms_median"])

    def gflops(row: dict[str, Any]) -> str:
        return "n/a" if row["gflops"] is None else f"{row['gflops']:.3g}"

    text = (f"On {results['device']} ({results['views']} views), **{fast['model']}** is the "
            f"fastest: {fast['latency_ms_median']:.0f} ms per clip, {fast['clips_per_s']:.1f} "
            f"clips/s, {gflops(fast)} GFLOPs per view.")
    if slow is not fast:
        text += (f" **{slow['model']}** is the slowest: {slow['latency_ms_median']:.0f} ms, "
                 f"{slow['latency_ms_median'] / fast['latency_ms_median']:.1f}x longer, "
                 f"{gflops(slow)} GFLOPs.")
    per_gflop = {r["model"]: r["latency_ms_median"] / r["gflops"] for r in rows if r["gflops"]}
    if len(per_gflop) > 1:
        lo = min(per_gflop, key=per_gflop.__getitem__)
        hi = max(per_gflop, key=per_gflop.__getitem__)
        text += (f" Time per GFLOP ranges from {per_gflop[lo]:.3g} ms ({lo}) to "
                 f"{per_gflop[hi]:.3g} ms ({hi}).")
    overhead = {r["model"]: 1 - r["latency_ms_median"] / 1000 / r["end_to_end_s_per_clip"]
                for r in rows if r["end_to_end_s_per_clip"]}
    if overhead:
        top = max(overhead, key=overhead.__getitem__)
        text += (f" Decoding and preprocessing take {100 * min(overhead.values()):.0f}–"
                 f"{100 * max(overhead.values()):.0f} % of the end-to-end time per clip (most "
                 f"for {top}).")
    if findings:
        best = max(rows, key=lambda r: r["top1"])
        text += (f" The most accurate here is **{best['model']}**: top-1 {best['top1']:.1f} %, "
                 f"top-5 {best['top5']:.1f} % on {best['clips']} clips")
        text += (f" (published: {best['published_top1']} %, on the full validation set "
                 "with its own views)." if best["published_top1"] is not None else ".")
    else:
        text += (" The measured top-1 values are chance level (random weights or synthetic "
                 "clips): not findings. The hollow markers are the published top-1, each "
                 "under its checkpoint's own protocol (`actionlab bench list`): compare them "
                 "only between models published with the same views.")
    return text


def scale_preset(preset: Preset, scale: float) -> Preset:
    """``preset`` with its resize and crop sizes multiplied by ``scale`` (frames unchanged): for
    smoke runs on a CPU and resolution studies. Results at ``scale`` != 1 are not comparable
    with published figures, and are labelled so."""
    if scale == 1:
        return preset
    if not 0 < scale <= 4:
        raise InputError(f"scale must be in (0, 4], got {scale}")

    def size(n: int) -> int:
        return max(16, round(n * scale))

    resize = (size(preset.resize) if isinstance(preset.resize, int)
              else (size(preset.resize[0]), size(preset.resize[1])))
    return dataclasses.replace(preset, name=f"{preset.name}_x{scale:g}", resize=resize,
                               crop=size(preset.crop))


def plot_title(device: str, views: tuple[int, int], weights: str, synthetic: bool,
               scale: float = 1.0) -> str:
    title = f"Top-1 vs latency, {device}, {views[0]}x{views[1]} views"
    if scale != 1:
        title += f", inputs scaled x{scale:g} (not the published size)"
    if weights == RANDOM_WEIGHTS:
        title += "\nRANDOM WEIGHTS: accuracy is chance level, not a finding"
    if synthetic:
        title += "\nSYNTHETIC DATA: not Kinetics clips"
    return title


def run_benchmark(
    names: Sequence[str],
    load_model: Callable[[str], Model],
    data: str | Path,
    out_dir: str | Path,
    *,
    weights: str | None = "default",
    views: tuple[int, int] = (1, 1),
    device: str | torch.device = "auto",
    max_clips: int | None = None,
    batch_size: int = 1,
    warmup: int = 2,
    iters: int = 10,
    e2e_clips: int = 3,
    amp: bool = False,
    num_workers: int = 0,
    scale: float = 1.0,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate and time each model of ``names`` on ``data``; write the four result files into
    ``out_dir`` and return the ``results.json`` content. ``max_clips`` takes a subset spread
    over the classes (``pick_clips``); ``scale`` shrinks every input (``scale_preset``).

    Accuracy: ``views`` = (clips, crops) per video, softmax averaged; failed clips counted.
    Speed (``utils.bench.speed``): latency per clip of ``views`` views (median, p90 over
    ``iters`` after ``warmup``), clips/s at ``batch_size``, end-to-end seconds per clip on the
    first ``e2e_clips`` clips, params and GFLOPs per view.
    """
    from utils.models import get_weights

    names = check_models(names)
    check_folder_target(out_dir, owned_marker=RUN_MANIFEST)  # before the long part
    device = resolve_device(device)
    label = weights_label(weights)
    choice, report = kinetics_data(data, progress=progress)
    samples = pick_clips(report.pairs(), max_clips)
    for name, reason in report.left_out().items():
        print(f"left out {name}: {reason}")
    rows, tables, speeds = [], [], {}
    for name in tqdm(names, desc="models", unit="model", disable=not progress):
        spec = get_weights(name)
        preset = scale_preset(spec.preset, scale)
        model = load_model(name)
        result = evaluate(model, samples, preset, num_clips=views[0], num_crops=views[1],
                          categories=spec.categories, device=device, amp=amp,
                          num_workers=num_workers, progress=progress, desc=name)
        if not result.clips:
            raise InputError(f"{data}: {name} could decode none of the {len(samples)} clips "
                             f"(e.g. {next(iter(result.failed.values()), 'no clip')})")
        speed = measure_speed(model, preset, device=device, views=views,
                              batch_size=batch_size, warmup=warmup, iters=iters, amp=amp,
                              clip_paths=result.paths[:e2e_clips])
        rows.append({
            "model": name, "top1": result.top1, "top5": result.top5, "clips": result.clips,
            "failed": len(result.failed), "latency_ms_median": speed.latency_ms_median,
            "latency_ms_p90": speed.latency_ms_p90, "clips_per_s": speed.clips_per_s,
            "end_to_end_s_per_clip": speed.end_to_end_s_per_clip, "params_m": speed.params_m,
            "gflops": speed.gflops, "published_top1": (spec.metrics or {}).get("top1"),
        })
        speeds[name] = speed.to_dict()
        table = result.predictions()
        table.insert(0, "model", name)
        tables.append(table)
        del model
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    # written into a fresh folder that replaces out_dir whole, and only once complete
    with staged_run(out_dir) as (out, run_id):
        results = {"device": str(device), "weights": label, "views": f"{views[0]}x{views[1]}",
                   "models": rows, "run_id": run_id}
        _write(out, results, tables,
               plot_title(str(device), views, label, choice.synthetic, scale))
        write_json({"weights": label, "scale": scale, "synthetic_data": choice.synthetic,
                    "models": speeds, "run_id": run_id}, out / "speed.json")
    return results


def _write(out: Path, results: dict[str, Any], tables: list[Any], title: str) -> None:
    import matplotlib.pyplot as plt
    import pandas as pd

    from utils.bench.plots import accuracy_vs_latency

    write_json(results, out / "results.json")
    with atomic_path(out / "results.csv") as tmp:
        pd.DataFrame(results["models"], columns=list(RESULT_FIELDS)).to_csv(tmp, index=False)
    with atomic_path(out / "predictions.csv") as tmp:
        pd.concat(tables, ignore_index=True).to_csv(tmp, index=False)
    fig = accuracy_vs_latency(results["models"], title=title)
    save_figure(fig, out / "accuracy_vs_latency.png")
    plt.close(fig)


def predict_clip(
    model: Model,
    path: str | Path,
    preset: Preset,
    categories: Sequence[str],
    *,
    topk: int = 5,
    views: tuple[int, int] = (1, 1),
    device: str | torch.device = "cpu",
) -> list[tuple[str, float]]:
    """The ``topk`` classes of one video with their view-averaged probabilities, best first."""
    from utils.video.presets import load_clip

    if topk < 1:
        raise InputError(f"--top-k must be >= 1, got {topk}")
    x = load_clip(path, preset, num_clips=views[0], num_crops=views[1])
    probs = forward_views(model, x, views[0] * views[1], device=device)[0]
    if len(probs) != len(categories):
        raise InputError(f"the model gives {len(probs)} scores for {len(categories)} categories")
    top = probs.topk(min(topk, len(probs)))
    return [(categories[int(i)], float(p)) for p, i in zip(top.values, top.indices, strict=True)]
