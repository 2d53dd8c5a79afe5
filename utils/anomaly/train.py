"""Training the next-frame predictor on normal footage only, and its checkpoints.

Seeded (weights, batch order); float16 autocast with a gradient scaler on CUDA only (CPU runs
in float32). A checkpoint holds tensors and plain numbers only, written atomically and read
with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from utils.anomaly.model import NextFramePredictor, windows
from utils.bench.device import amp_active, autocast
from utils.errors import InputError
from utils.finetune.head import one_cpu_thread
from utils.io import atomic_path

FORMAT = "actionlab-next-frame-v1"


@dataclass
class TrainConfig:
    context: int = 4
    width: int = 16
    epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-3
    seed: int = 0
    size: tuple[int, int] = (64, 96)  # (height, width) the frames are resized to


@dataclass
class TrainResult:
    model: NextFramePredictor
    config: TrainConfig
    losses: list[float] = field(default_factory=list)  # mean training MSE per epoch


def train_predictor(videos: list[np.ndarray], config: TrainConfig, *, device: torch.device,
                    amp: bool = True, progress: bool = True) -> TrainResult:
    """Fit a predictor on ``videos`` (each (T, H, W) float32 in [0, 1], normal frames only):
    every (context, next frame) window of every video, shuffled, each epoch. On the CPU it runs
    on one thread, as lab 2.1's head does: same bits every run, and on a shared machine several
    threads of a model this small mostly wait for each other."""
    if not videos:
        raise InputError("no training videos")
    with one_cpu_thread(torch.device(device).type):
        return _train(videos, config, torch.device(device), amp, progress)


def _train(videos: list[np.ndarray], config: TrainConfig, device: torch.device, amp: bool,
           progress: bool) -> TrainResult:
    torch.manual_seed(config.seed)
    model = NextFramePredictor(config.context, config.width).to(device)
    pairs = [windows(torch.from_numpy(v), config.context) for v in videos
             if v.shape[0] > config.context]
    if not pairs:
        raise InputError(f"every training video is shorter than context + 1 = "
                         f"{config.context + 1} frames")
    past = torch.cat([p for p, _ in pairs])
    target = torch.cat([t for _, t in pairs])
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_active(device, amp))
    generator = torch.Generator().manual_seed(config.seed)
    result = TrainResult(model, config)
    bar = tqdm(range(config.epochs), desc="training predictor", disable=not progress)
    for _ in bar:
        model.train()
        total = 0.0
        for idx in torch.randperm(len(past), generator=generator).split(config.batch_size):
            x, y = past[idx].to(device), target[idx].to(device)
            with autocast(device, amp):
                loss = torch.nn.functional.mse_loss(model(x).float(), y)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            total += float(loss.detach()) * len(idx)
        result.losses.append(total / len(past))
        bar.set_postfix(mse=f"{result.losses[-1]:.5f}")
    model.eval()
    return result


def save_checkpoint(result: TrainResult, path: str | Path) -> Path:
    """Weights and the config as plain values (loadable with ``weights_only=True``)."""
    path = Path(path)
    payload = {"format": FORMAT, "config": _plain(asdict(result.config)),
               "losses": [float(v) for v in result.losses],
               "state_dict": {k: v.detach().cpu() for k, v in result.model.state_dict().items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> TrainResult:
    """A checkpoint written by :func:`save_checkpoint`, model in eval mode on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types; all mean a bad file
        raise InputError(f"{path}: not a loadable PyTorch checkpoint "
                         f"({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not a next-frame predictor checkpoint (format {FORMAT})")
    raw = dict(payload["config"])
    raw["size"] = tuple(raw["size"])
    config = TrainConfig(**raw)
    model = NextFramePredictor(config.context, config.width)
    model.load_state_dict(payload["state_dict"])
    return TrainResult(model.to(device).eval(), config, list(payload["losses"]))
