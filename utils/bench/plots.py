"""Figures of lab 1: accuracy against latency, and which frames each model family looks at."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from utils.video.io import probe, read_frames
from utils.video.presets import Preset
from utils.video.sampling import slow_indices


def accuracy_vs_latency(rows: Sequence[Mapping[str, Any]], *, title: str,
                        y: str = "top1") -> Any:
    """Measured top-1 (filled) against model-only latency per clip, one point per model, with
    the published top-1 (hollow, same latency) when the row has it. Log latency axis: the
    models span two orders of magnitude."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        x = row["latency_ms_median"]
        ax.scatter(x, row[y], s=50, zorder=3)
        ax.annotate(row["model"], (x, row[y]), textcoords="offset points", xytext=(5, 5))
        if row.get("published_top1") is not None:
            ax.scatter(x, row["published_top1"], s=50, facecolors="none", edgecolors="grey",
                       zorder=2)
            ax.plot([x, x], [row[y], row["published_top1"]], color="grey", lw=0.6, ls=":")
    ax.scatter([], [], color="C0", label="measured here")
    ax.scatter([], [], facecolors="none", edgecolors="grey", label="published (its own protocol)")
    ax.set_xscale("log")
    ax.set_xlabel("model-only latency per clip, median (ms, log scale)")
    ax.set_ylabel(f"{y.replace('top', 'top-')} accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def mistakes_figure(correct_top1: float, effects: Mapping[str, Mapping[str, float]], *,
                    title: str, show_accuracy: bool = True) -> Any:
    """Per mistake: share of clips whose top-1 class is unchanged, and mean |change| of the
    probability of the correct pipeline's top class; with ``show_accuracy`` (pretrained weights
    on real clips) also top-1 against the correct pipeline's (dashed line)."""
    import matplotlib.pyplot as plt

    names = list(effects)
    panels = 3 if show_accuracy else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.8), sharey=True)
    axes[0].barh(names, [100 * effects[n]["top1_agreement"] for n in names], color="C1")
    axes[0].set_xlim(0, 100)
    axes[0].set_xlabel("clips whose top-1 class is unchanged (%)")
    axes[0].invert_yaxis()
    axes[1].barh(names, [effects[n]["mean_abs_dprob"] for n in names], color="C0")
    axes[1].set_xlabel("mean |Δ prob| of the correct top class")
    if show_accuracy:
        axes[2].barh(names, [effects[n]["top1"] for n in names], color="C3")
        axes[2].axvline(correct_top1, color="k", ls="--",
                        label=f"correct pipeline {correct_top1:.1f} %")
        axes[2].set_xlabel("top-1 accuracy (%)")
        axes[2].legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sampled_frame_times(preset: Preset, num_frames: int, fps: float) -> dict[str, np.ndarray]:
    """The times (s) of the frames one test view of ``preset`` uses in a video of
    ``num_frames`` frames at ``fps`` (the preset's official index rule); with a slow pathway
    (SlowFast, ``alpha``) also the slow subset the model takes from the fast frames."""
    times = preset.indices(num_frames, fps)[0] / fps
    out = {preset.name: times}
    if preset.alpha:
        slow = slow_indices(len(times), preset.alpha).numpy()
        out = {f"{preset.name} fast": times, f"{preset.name} slow": times[slow]}
    return out


def sampling_figure(path: str | Path, presets: Sequence[Preset], *, thumbs: int = 8,
                    thumb_side: int = 72) -> Any:
    """How each family sees one video: a timeline of the frames each test view samples (TSN/TSM
    one frame per segment, dense clips a short window, SlowFast two pathways), then up to
    ``thumbs`` of the actual frames per row."""
    import matplotlib.pyplot as plt

    info = probe(path)
    rows: dict[str, np.ndarray] = {}
    for preset in presets:
        rows |= sampled_frame_times(preset, info.num_frames, info.fps)
    fig = plt.figure(figsize=(1.2 * thumbs + 1.5, 1.6 + 1.05 * len(rows)))
    grid = fig.add_gridspec(len(rows) + 1, thumbs, height_ratios=[1.4] + [1] * len(rows))
    timeline = fig.add_subplot(grid[0, :])
    for level, (name, times) in enumerate(rows.items()):
        timeline.scatter(times, np.full(len(times), level), s=12, label=f"{name} ({len(times)})")
        picks = times[np.linspace(0, len(times) - 1, min(thumbs, len(times))).astype(int)]
        frames = read_frames(path, picks, short_side=thumb_side)
        for j, (frame, t) in enumerate(zip(frames, picks, strict=True)):
            ax = fig.add_subplot(grid[level + 1, j])
            ax.imshow(frame)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{t:.2f} s", fontsize=7)
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
    timeline.set_xlim(0, info.duration)
    timeline.set_yticks(range(len(rows)), list(rows), fontsize=8)
    timeline.set_xlabel("time in the video (s)")
    timeline.set_title(f"Frames seen by one test view of each model ({Path(path).name}, "
                       f"{info.duration:.1f} s)", fontsize=10)
    fig.tight_layout()
    return fig
