"""The same method on DCSASS: the predictor learns the normal clips of the training videos only,
then every clip of the test videos is scored and compared with its clip label.

A DCSASS clip is a few seconds; its score is the largest frame MSE in it (an unusual moment
anywhere in the clip). The per-video min-max normalisation of the UCSD protocol does not apply
to clips of different videos, so the raw error is used. Intervals resample source videos.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from utils.anomaly.evaluate import auc_by_video
from utils.anomaly.scoring import score_video
from utils.anomaly.train import TrainConfig, TrainResult, train_predictor
from utils.columns import require_columns
from utils.errors import InputError
from utils.finetune.head import one_cpu_thread

if TYPE_CHECKING:
    import pandas as pd

GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601 luma


def clip_frames(path: str | Path, size: tuple[int, int], frames: int, stride: int = 2
                ) -> np.ndarray:
    """``frames`` grey frames (every ``stride``-th, from the start) of a clip, resized to
    ``size``, float32 in [0, 1]: (T, H, W). A clip shorter than that repeats its last frame."""
    from utils.video.io import probe, read_frames

    fps = probe(path).fps or 30.0
    rgb = read_frames(path, [i * stride / fps for i in range(frames)], size=size)
    return (rgb.astype(np.float32) @ GREY) / 255.0


def dcsass_run(split: pd.DataFrame, paths: dict[str, Path], config: TrainConfig, *,
               frames: int = 16, stride: int = 2, device: torch.device | str = "cpu",
               amp: bool = True, progress: bool = True) -> tuple[TrainResult, pd.DataFrame]:
    """Train on the ``split == "train"`` clips with ``label == 0``; score every
    ``split == "test"`` clip. ``split`` is a grouped split table (clip, source_video, label,
    split); ``paths`` maps clip names to files. Returns the model and one row per test clip."""
    import pandas as pd

    require_columns(split.columns, ("clip", "source_video", "label", "split"), "split table")
    normal = split[(split["split"] == "train") & (split["label"] == 0)]
    test = split[split["split"] == "test"]
    if normal.empty or test.empty:
        raise InputError("the split needs normal training clips and test clips")
    videos = [clip_frames(paths[c], config.size, frames, stride)
              for c in tqdm(normal["clip"], desc="decoding normal clips", disable=not progress)]
    trained = train_predictor(videos, config, device=torch.device(device), amp=amp,
                              progress=progress)
    rows: list[dict[str, Any]] = []
    for clip in tqdm(test.itertuples(), total=len(test), desc="scoring test clips",
                     disable=not progress):
        video = clip_frames(paths[clip.clip], config.size, frames, stride)
        with one_cpu_thread(torch.device(device).type):  # as in training
            table = score_video(trained.model, video, clip.clip, device=device)
        rows.append({"clip": clip.clip, "source_video": clip.source_video,
                     "label": int(clip.label), "max_mse": float(table["mse"].max()),
                     "mean_psnr": float(table["psnr"].mean())})
    return trained, pd.DataFrame(rows)


def clip_auc(clips: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """Clip-level ROC-AUC of ``max_mse`` against the clip labels, interval by source video."""
    if clips["label"].nunique() < 2:
        raise InputError("the test clips hold one class only: clip AUC is undefined")
    return auc_by_video(clips["label"], clips["max_mse"], clips["source_video"], n_boot=n_boot,
                        seed=seed)
