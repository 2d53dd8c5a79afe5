"""Figures: frames beside their predictions and error maps; anomaly-score timelines with the
ground-truth intervals shaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def plot_error_maps(frames: np.ndarray, predicted: np.ndarray, indices: Any,
                    context: int, title: str = "") -> Any:
    """Rows: the real frame, the prediction, |error|, for the given frame indices (0-based
    into ``frames``; each needs index >= ``context``)."""
    import matplotlib.pyplot as plt

    indices = [int(i) for i in indices]
    fig, axes = plt.subplots(3, len(indices), figsize=(2.4 * len(indices), 5.4), squeeze=False)
    vmax = max(float(np.abs(predicted - frames[context:]).max()), 1e-6)
    for col, i in enumerate(indices):
        pred = predicted[i - context]
        for row, (image, name, cmap, top) in enumerate((
                (frames[i], "frame", "gray", 1.0), (pred, "predicted", "gray", 1.0),
                (np.abs(pred - frames[i]), "|error|", "magma", vmax))):
            ax = axes[row, col]
            ax.imshow(image, cmap=cmap, vmin=0, vmax=top)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(name)
        axes[0, col].set_title(f"frame {i + 1}")
    fig.suptitle(title or "Next-frame prediction and its error")
    fig.tight_layout()
    return fig


def _runs(labels: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, labels.astype(int), 0]))
    return list(zip(edges[::2], edges[1::2], strict=True))


def plot_timelines(table: pd.DataFrame, score: str = "anomaly_score", max_videos: int = 6
                   ) -> Any:
    """One panel per video: ``score`` against the frame number, ground-truth frames shaded."""
    import matplotlib.pyplot as plt

    videos = list(dict.fromkeys(table["video"]))[:max_videos]
    fig, axes = plt.subplots(len(videos), 1, figsize=(8, 1.8 * len(videos)), sharex=True,
                             squeeze=False)
    for ax, name in zip(axes[:, 0], videos, strict=True):
        rows = table[table["video"] == name]
        frames = rows["frame"].to_numpy()
        ax.plot(frames, rows[score].to_numpy(), lw=1.2, color="C0")
        if "label" in rows:
            for a, b in _runs(rows["label"].to_numpy()):
                ax.axvspan(frames[a] - 0.5, frames[b - 1] + 0.5, color="C3", alpha=0.2, lw=0)
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("frame")
    meaning = " (1 - normalised regularity)" if score == "anomaly_score" else ""
    fig.suptitle(f"{score} per frame{meaning}; shaded: ground-truth anomalous frames")
    fig.tight_layout()
    return fig
