"""Error analysis of a run: which clips it gets wrong, per source video, and on other scenes.

* ``error_examples`` / ``plot_error_gallery``: the most confident false positives and the most
  missed false negatives, with frames of each clip and its score.
* ``video_curves``: #FP = f(recall) per source video through lab 3's per-camera curves
  (:mod:`utils.alerts.curves`); DCSASS has no camera id, a source video is its stand-in.
* ``hard_negatives``: the false positives, at a threshold fixed on validation, on the *normal*
  clips of other DCSASS categories (fights, arrests, burglaries filmed by other cameras): scenes
  the model never saw labelled as normal shop activity; ``with_own_normals`` adds the run's own
  normal test clips at the same threshold, the row to compare them with.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from utils.alerts.curves import CameraCurve
    from utils.datasets.dcsass import DcsassReport
    from utils.finetune.recogniser import FinetunedRecogniser

STORE = "DCSASS"  # the "store" of every source-video curve


def error_examples(scores: pd.DataFrame, threshold: float, *, split: str = "test",
                   n: int = 4) -> pd.DataFrame:
    """Up to ``n`` false positives (highest scores first) and ``n`` false negatives (lowest
    first) of ``split``, with a ``kind`` column ("false positive" / "false negative")."""
    import pandas as pd

    rows = scores[scores["split"] == split]
    called = rows["score"] >= threshold
    fp = rows[called & (rows["label"] == 0)].sort_values("score", ascending=False).head(n)
    fn = rows[~called & (rows["label"] == 1)].sort_values("score").head(n)
    return pd.concat([fp.assign(kind="false positive"), fn.assign(kind="false negative")],
                     ignore_index=True)


def plot_error_gallery(examples: pd.DataFrame, paths: Mapping[str, str | Path], *,
                       frames: int = 3, height: int = 120) -> Figure:
    """One row per example: ``frames`` frames spread over the clip, titled with its score."""
    import matplotlib.pyplot as plt

    from utils.video.io import probe, read_frames

    n = max(len(examples), 1)
    fig, axes = plt.subplots(n, frames, figsize=(2.4 * frames, 1.9 * n), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    if examples.empty:
        axes[0, 0].text(0, 0.5, "no false positive or false negative at this threshold")
        return fig
    for row, example in zip(axes, examples.itertuples(), strict=False):
        path = paths[example.clip]
        duration = probe(path).duration
        times = (np.arange(frames) + 0.5) * duration / frames
        colour = "tab:red" if example.kind == "false positive" else "tab:purple"
        for i, (ax, t, image) in enumerate(zip(
                row, times, read_frames(path, times.tolist(), short_side=height), strict=True)):
            ax.imshow(image)
            head = f"{example.kind}, score {example.score:.3f}\n{example.clip}\n" if i == 0 else ""
            ax.set_title(f"{head}t={t:.1f} s", fontsize=7, color=colour if i == 0 else "black")
    fig.suptitle("Errors at the chosen threshold (frames of each clip)", fontsize=10)
    fig.tight_layout()
    return fig


def video_curves(scores: pd.DataFrame, *, split: str | None = "test") -> list[CameraCurve]:
    """Lab 3's Pareto #FP = f(recall) curve of every source video of ``split`` (all if None)."""
    from utils.alerts.curves import grouped_curves

    rows = scores if split is None else scores[scores["split"] == split]
    if rows.empty:
        raise InputError(f"no rows in split {split!r}")
    videos = sorted(rows["source_video"].unique())
    codes = rows["source_video"].map({v: i for i, v in enumerate(videos)}).to_numpy()
    return grouped_curves(codes, rows["score"].to_numpy(), rows["label"].to_numpy() == 1,
                          [(STORE, v) for v in videos])


def other_normals(root: str | Path, categories: Any, *, progress: bool = True
                  ) -> dict[str, DcsassReport]:
    """Loader reports of ``categories`` whose label file exists under ``root`` (others skipped
    by name in the returned dict's absence; an empty result is an InputError)."""
    from utils.datasets.dcsass import find_root, load_dcsass

    base = find_root(root).path
    found = {c: load_dcsass(root, c, progress=progress) for c in categories
             if (base / "Labels" / f"{c}.csv").is_file()}
    if not found:
        raise InputError(f"{root}: none of the categories {list(categories)} has a label file")
    return found


def other_category_reports(path: str | Path, categories: Any, *, synthetic: bool,
                           progress: bool = True, **sizes: Any) -> dict[str, DcsassReport]:
    """The label reports of ``categories``: from the real DCSASS folder ``path``, or, for the
    synthetic stand-in, one generated set per category (``sizes``: keyword arguments of
    ``write_synthetic_dcsass``) under ``data/synthetic/dcsass_<category>``."""
    from utils.datasets.dcsass import load_dcsass
    from utils.datasets.synth import write_synthetic_dcsass
    from utils.paths import SYNTHETIC_DIR

    if not synthetic:
        return other_normals(path, categories, progress=progress)
    return {c: load_dcsass(write_synthetic_dcsass(SYNTHETIC_DIR / f"dcsass_{c.lower()}",
                                                  category=c, progress=progress, **sizes),
                           c, progress=progress)
            for c in categories}


def stitch_clips(paths: Any, out: str | Path) -> tuple[Path, pd.DataFrame]:
    """Concatenate clips into one video (the frame rate of the first), for the demo; returns
    the file and one row per clip: start, end (seconds in the new video)."""
    import pandas as pd

    from utils.video.io import probe, read_frames, write_video

    frames, rows, start, fps = [], [], 0.0, None
    for path in paths:
        info = probe(path)
        fps = fps or info.fps
        clip = read_frames(path, (np.arange(info.num_frames) / info.fps).tolist())
        frames.append(clip)
        rows.append({"clip": Path(path).stem, "start": start, "end": start + len(clip) / fps})
        start += len(clip) / fps
    if not frames or fps is None:
        raise InputError("stitch_clips needs at least one clip")
    return write_video(out, np.concatenate(frames), fps), pd.DataFrame(rows)


def hard_negatives(recogniser: FinetunedRecogniser, reports: Mapping[str, DcsassReport],
                   threshold: float, *, cache_dir: str | Path | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """Per category: its normal (label 0) clips, how many score >= ``threshold`` and the share.

    Embeddings go through the feature cache like the run's own clips (keys are clip names,
    which DCSASS makes unique across categories).
    """
    import pandas as pd

    from utils.finetune.cache import extract_features
    from utils.finetune.head import predict

    rows = []
    for category, report in reports.items():
        normals = {c.name: c.path for c in report.clips if c.label == 0}
        if not normals:
            rows.append({"category": category, "normal_clips": 0, "fp": 0, "fp_rate": np.nan,
                         "failed": len(report.left_out())})
            continue
        feats = extract_features(recogniser.backbone, normals, recogniser.preset,
                                 backbone=recogniser.backbone.spec.name, cache_dir=cache_dir,
                                 device=recogniser.device, progress=progress)
        probs = predict(recogniser.head, feats.rows(feats.clips), device=recogniser.device)
        fp = int((probs >= threshold).sum())
        rows.append({"category": category, "normal_clips": len(feats.clips), "fp": fp,
                     "fp_rate": fp / len(feats.clips),
                     "failed": len(feats.failed) + len(report.left_out())})
    return pd.DataFrame(rows)


def with_own_normals(hard: pd.DataFrame, scores: pd.DataFrame, threshold: float, *,
                     category: str = "Shoplifting (test normals)") -> pd.DataFrame:
    """``hard`` (from :func:`hard_negatives`) plus one row for the run's own normal clips:
    ``scores``' label-0 rows (column ``score``) at the same ``threshold``, the false-positive rate
    the other categories are compared with. No normal clip: ``fp_rate`` NaN, as in ``hard``."""
    import pandas as pd

    normals = scores[scores["label"] == 0]
    fp = int((normals["score"] >= threshold).sum())
    row = {"category": category, "normal_clips": len(normals), "fp": fp,
           "fp_rate": fp / len(normals) if len(normals) else np.nan, "failed": 0}
    return pd.concat([hard, pd.DataFrame([row])], ignore_index=True)
