"""Per-frame prediction errors, the normalised regularity score, and Parquet tables per video.

For a predicted frame P and the real frame F (grey levels in [0, 1]), with the pixel error
e = |P - F|: ``mse`` = mean(e^2); ``p50``/``p90``/``p99`` = percentiles of e (linear
interpolation, as numpy's default); ``err_std`` = population standard deviation of e;
``psnr`` = 10 log10(1 / mse) (peak 1). The regularity score of a video is its PSNR min-max
normalised over that video (Liu et al., CVPR 2018, eq. for S(t)); ``anomaly_score`` =
1 - regularity, so higher means more unusual. All metrics come from one error tensor per batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from utils.anomaly.model import NextFramePredictor, windows
from utils.errors import InputError
from utils.finetune.head import one_cpu_thread
from utils.io import atomic_path, make_folder

if TYPE_CHECKING:
    import pandas as pd

METRICS = ("mse", "p50", "p90", "p99", "err_std", "psnr")
MSE_FLOOR = 1e-10  # a perfect prediction would have infinite PSNR
CPU_BATCH_PIXELS = 4 * 64 * 96  # frames per forward on the CPU: 4 at 64x96, 1 at 240x360
GPU_BATCH = 32


def batch_size_for(shape: tuple[int, ...], device: torch.device | str) -> int:
    """Frames per forward when none is given. On the CPU large batches of large frames are
    slower than single frames (activations outgrow the caches: ``benchmarks/bench_anomaly.py``
    measured batches of 2 and 32 well below single frames at 240x360, and batches of 1 to 32
    about level at 64x96), so the batch is bounded in pixels there; a GPU gets
    :data:`GPU_BATCH`."""
    if torch.device(device).type != "cpu":
        return GPU_BATCH
    return max(1, CPU_BATCH_PIXELS // (shape[-2] * shape[-1]))


def psnr(mse: Any) -> np.ndarray:
    """10 log10(1 / mse) for frames in [0, 1]; mse floored at :data:`MSE_FLOOR`."""
    return 10 * np.log10(1.0 / np.maximum(np.asarray(mse, dtype=np.float64), MSE_FLOOR))


def regularity(psnr_values: Any) -> np.ndarray:
    """(psnr - min) / (max - min) over one video; all ones when the PSNR is constant."""
    p = np.asarray(psnr_values, dtype=np.float64)
    if p.size == 0:
        raise InputError("regularity of an empty video")
    span = p.max() - p.min()
    return np.ones_like(p) if span == 0 else (p - p.min()) / span


def frame_metrics(pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` for a batch of (N, ..., H, W) predictions, per frame."""
    error = (pred.float() - target.float()).abs().flatten(1)
    mse = error.square().mean(1)
    quantiles = torch.quantile(error, torch.tensor([0.5, 0.9, 0.99], device=error.device), dim=1)
    out = {"mse": mse, "p50": quantiles[0], "p90": quantiles[1], "p99": quantiles[2],
           "err_std": error.std(1, correction=0)}
    values = {k: v.double().cpu().numpy() for k, v in out.items()}
    values["psnr"] = psnr(values["mse"])
    return values


@torch.no_grad()
def predict(model: NextFramePredictor, video: np.ndarray, *, batch_size: int | None = None,
            device: torch.device | str = "cpu") -> np.ndarray:
    """Predicted frames context..T-1 of a (T, H, W) video, float32 (T - context, H, W)."""
    past, _ = windows(torch.from_numpy(video), model.context)
    batch_size = batch_size or batch_size_for(video.shape, device)
    model.eval()
    chunks = [model(past[i:i + batch_size].to(device)).float().cpu()
              for i in range(0, len(past), batch_size)]
    return torch.cat(chunks)[:, 0].numpy()


@torch.no_grad()
def score_video(model: NextFramePredictor, video: np.ndarray, name: str, *,
                labels: np.ndarray | None = None, batch_size: int | None = None,
                device: torch.device | str = "cpu") -> pd.DataFrame:
    """One row per predicted frame: ``video``, ``frame`` (1-based), the metrics,
    ``regularity``, ``anomaly_score`` and, when ``labels`` (one per frame) are given, ``label``.
    The first ``context`` frames have no prediction and no row."""
    import pandas as pd

    past, target = windows(torch.from_numpy(video), model.context)
    batch_size = batch_size or batch_size_for(video.shape, device)
    model.eval()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in METRICS}
    for i in range(0, len(past), batch_size):
        pred = model(past[i:i + batch_size].to(device))
        for key, values in frame_metrics(pred, target[i:i + batch_size].to(device)).items():
            parts[key].append(values)
    table = pd.DataFrame({"video": name,
                          "frame": np.arange(model.context + 1, len(video) + 1)})
    for key in METRICS:
        table[key] = np.concatenate(parts[key])
    table["regularity"] = regularity(table["psnr"])
    table["anomaly_score"] = 1.0 - table["regularity"]
    if labels is not None:
        if len(labels) != len(video):
            raise InputError(f"{name}: {len(labels)} labels for {len(video)} frames")
        table["label"] = np.asarray(labels, dtype=np.int64)[model.context:]
    return table


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """One video's table as Parquet, written atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def score_videos(model: NextFramePredictor, videos: dict[str, tuple[np.ndarray, Any]],
                 out_dir: str | Path | None = None, *, batch_size: int | None = None,
                 device: torch.device | str = "cpu", progress: bool = True) -> pd.DataFrame:
    """Score ``{name: (frames, labels or None)}``; with ``out_dir``, also write
    ``out_dir/<name>.parquet`` per video. Returns all rows. ``batch_size`` None: see
    :func:`batch_size_for`."""
    import pandas as pd

    if out_dir is not None:
        make_folder(out_dir)
    tables = []
    for name, (video, labels) in tqdm(videos.items(), desc="scoring", disable=not progress):
        with one_cpu_thread(torch.device(device).type):  # as training: see train_predictor
            table = score_video(model, video, name, labels=labels, batch_size=batch_size,
                                device=device)
        if out_dir is not None:
            write_table(table, Path(out_dir) / f"{name}.parquet")
        tables.append(table)
    if not tables:
        raise InputError("no videos to score")
    return pd.concat(tables, ignore_index=True)


def read_tables(folder: str | Path) -> pd.DataFrame:
    """Every ``*.parquet`` table of ``folder``, concatenated (video order by file name)."""
    import pandas as pd

    files = sorted(Path(folder).glob("*.parquet"))
    if not files:
        raise InputError(f"{folder}: no per-video .parquet score tables (run 'actionlab anomaly "
                         "score' first)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
