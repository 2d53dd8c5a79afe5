"""The three steps on a UCSD-layout folder, as the CLI and the notebook run them: train on the
``Train`` videos (normal only), score every ``Test`` video into a Parquet table, evaluate the
tables against the ``.m`` ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from utils.anomaly.evaluate import evaluate_table
from utils.anomaly.scoring import read_tables, score_videos
from utils.anomaly.train import TrainConfig, TrainResult, load_checkpoint, train_predictor
from utils.anomaly.ucsd import load_ucsd, read_frames

if TYPE_CHECKING:
    import pandas as pd


def train_ucsd(root: str | Path, config: TrainConfig, *, subset: str = "UCSDped2",
               device: torch.device | str = "cpu", amp: bool = True,
               progress: bool = True) -> TrainResult:
    """Fit the predictor on every training video of ``subset`` (frames resized to
    ``config.size``)."""
    report = load_ucsd(root, subset)
    videos = [read_frames(v.frames, config.size) for v in report.split("train")]
    return train_predictor(videos, config, device=torch.device(device), amp=amp,
                           progress=progress)


def score_ucsd(root: str | Path, model: TrainResult | str | Path, out_dir: str | Path | None,
               *, subset: str = "UCSDped2", batch_size: int | None = None,
               device: torch.device | str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Score every test video (a trained model or a checkpoint path); one Parquet table per
    video in ``out_dir`` with the ground-truth ``label`` column."""
    trained = model if isinstance(model, TrainResult) else load_checkpoint(model, device)
    report = load_ucsd(root, subset)
    videos = {v.name: (read_frames(v.frames, trained.config.size), v.labels())
              for v in report.split("test")}
    return score_videos(trained.model.to(device), videos, out_dir, batch_size=batch_size,
                        device=device, progress=progress)


def evaluate_folder(folder: str | Path, *, folds: int = 4, seed: int = 0, n_boot: int = 1000,
                    n_estimators: int = 200) -> dict[str, Any]:
    """:func:`evaluate_table` on the Parquet tables of ``folder`` (forest scores left out)."""
    result = evaluate_table(read_tables(folder), folds=folds, seed=seed, n_boot=n_boot,
                            n_estimators=n_estimators)
    result.pop("forest_scores")
    return result
