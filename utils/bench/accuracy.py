"""Top-k accuracy over a set of clips with multi-view testing.

Multi-view testing, as the published numbers are measured: each video gives V = clips x crops
views (``load_clip`` returns them clip-major), the model scores every view, and the video's
prediction is the mean of the views' softmax probabilities (PySlowFast ``tools/test_net.py``
with its softmax head; torchvision's video references average softmax over the clips of a video
too). A clip that cannot be decoded is listed with its reason and left out of every denominator:
accuracy is over the clips the model actually saw, and ``failed`` says how many it did not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from utils.bench.device import autocast, resolve_device
from utils.errors import InputError
from utils.video.io import VideoDecodeError
from utils.video.presets import Preset, load_clip
from utils.video.transforms import CROP_COUNTS

Model = Callable[[torch.Tensor], Any]
"""Anything with the forward contract: (N, 3, T, H, W) normalised -> logits (N, classes)."""


# Published multi-view protocols use at most 10 clips per video (10x3); more only costs memory
# (every view of a video is decoded and held at once: 100000x1 needed over 3 GB, then was killed).
MAX_CLIPS = 30


def parse_views(text: str) -> tuple[int, int]:
    """``"10x3"`` -> (10 clips, 3 crops); InputError on anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if match is None or not 1 <= int(match[1]) <= MAX_CLIPS or int(match[2]) not in CROP_COUNTS:
        raise InputError(f"--views: expected CLIPSxCROPS with 1 <= CLIPS <= {MAX_CLIPS} and "
                         f"CROPS in {CROP_COUNTS} (e.g. 1x1, 10x3), got {text!r}")
    return int(match[1]), int(match[2])


def average_views(logits: torch.Tensor | np.ndarray, num_views: int) -> torch.Tensor:
    """(N * V, K) logits, views of a video consecutive -> (N, K) mean of the views' softmax."""
    logits = torch.as_tensor(logits).float()
    if logits.ndim != 2 or num_views < 1 or logits.shape[0] % num_views:
        raise InputError(f"expected (N * {num_views}, classes) logits, got {tuple(logits.shape)}")
    probs = logits.softmax(dim=-1)
    return probs.reshape(-1, num_views, probs.shape[-1]).mean(dim=1)


def topk_hits(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(N,) bool: is the true label among the ``k`` highest scores (ties: lower index first)."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    if probs.ndim != 2 or labels.shape != (probs.shape[0],):
        raise InputError(f"probs must be (N, K) and labels (N,), got {probs.shape} and "
                         f"{labels.shape}")
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return (top == labels[:, None]).any(axis=1)


def topk_accuracy(probs: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Share of rows whose label is in the top ``k`` (NaN for no rows), as scikit-learn's
    ``top_k_accuracy_score`` without ties."""
    hits = topk_hits(probs, labels, k)
    return float(hits.mean()) if hits.size else float("nan")


def forward_views(
    model: Model, views: torch.Tensor, num_views: int, *, device: torch.device | str = "cpu",
    amp: bool = False,
) -> torch.Tensor:
    """Run ``model`` on (N * V, 3, T, H, W) views -> (N, K) view-averaged probabilities (CPU).

    The model's train/eval mode is left as the caller set it (the train-mode mistake of the
    course is measured with this very function).
    """
    device = resolve_device(device)
    with torch.inference_mode(), autocast(device, amp):
        logits = model(views.to(device))
    return average_views(torch.as_tensor(logits).detach().float().cpu(), num_views)


@dataclass
class EvalResult:
    """Per-clip predictions of one model and the clips it could not see.

    ``probs`` rows follow ``paths``; ``failed`` maps a clip's path to why it was left out.
    """

    paths: list[Path]
    labels: np.ndarray
    probs: np.ndarray
    views: tuple[int, int]
    failed: dict[str, str] = field(default_factory=dict)
    categories: Sequence[str] | None = None

    @property
    def clips(self) -> int:
        return len(self.paths)

    def accuracy(self, k: int = 1) -> float:
        """Top-k accuracy in [0, 1] over the decoded clips (NaN when none was)."""
        return topk_accuracy(self.probs, self.labels, k) if self.clips else float("nan")

    @property
    def top1(self) -> float:
        """Top-1 in percent, the unit of the published tables."""
        return 100 * self.accuracy(1)

    @property
    def top5(self) -> float:
        return 100 * self.accuracy(5)

    def _name(self, index: int) -> str:
        return self.categories[index] if self.categories is not None else str(index)

    def predictions(self, topk: int = 5) -> Any:
        """One row per clip (failed clips too, with their reason): the true class, the top-k
        classes with their probabilities, and whether top-1 / top-5 are right."""
        import pandas as pd

        rows: list[dict[str, Any]] = []
        order = np.argsort(-self.probs, axis=1, kind="stable")[:, :topk]
        top5 = topk_hits(self.probs, self.labels, 5) if self.clips else np.zeros(0, bool)
        for i, path in enumerate(self.paths):
            label, best = int(self.labels[i]), order[i]
            rows.append({
                "clip": path.name, "label": label, "label_name": self._name(label),
                "pred": int(best[0]), "pred_name": self._name(int(best[0])),
                "prob": float(self.probs[i, best[0]]),
                "topk": " ".join(str(int(j)) for j in best),
                "topk_probs": " ".join(f"{self.probs[i, j]:.4f}" for j in best),
                "correct_top1": bool(best[0] == label), "correct_top5": bool(top5[i]),
                "error": "",
            })
        rows += [{"clip": Path(path).name, "error": reason} for path, reason in self.failed.items()]
        return pd.DataFrame(rows, columns=[
            "clip", "label", "label_name", "pred", "pred_name", "prob", "topk", "topk_probs",
            "correct_top1", "correct_top5", "error"])


class _Views(Dataset):
    """Decoded views of each clip, or the decoding error: a bad clip is reported, not raised,
    so one broken file never stops an evaluation (and works the same with loader workers)."""

    def __init__(self, samples: list[tuple[Path, int]], preset: Preset, clips: int,
                 crops: int) -> None:
        self.samples, self.preset, self.clips, self.crops = samples, preset, clips, crops

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        path = self.samples[index][0]
        try:
            return index, load_clip(path, self.preset, num_clips=self.clips,
                                    num_crops=self.crops), None
        except VideoDecodeError as exc:
            return index, None, str(exc)


def _batches(samples: list[tuple[Path, int]], preset: Preset, views: tuple[int, int],
             batch_size: int, num_workers: int) -> DataLoader:
    return DataLoader(_Views(samples, preset, *views), batch_size=batch_size,
                      num_workers=num_workers, collate_fn=list)


def evaluate(
    model: Model,
    samples: Iterable[tuple[str | Path, int]],
    preset: Preset,
    *,
    num_clips: int = 1,
    num_crops: int = 1,
    categories: Sequence[str] | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 1,
    input_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    amp: bool = False,
    num_workers: int = 0,
    progress: bool = True,
    desc: str = "evaluating",
) -> EvalResult:
    """Top-1/top-5 of ``model`` on ``(path, class index)`` samples, ``num_clips x num_crops``
    views per clip decoded with ``preset``.

    ``batch_size`` clips (each with all its views) go through the model at once; decoding runs
    in ``num_workers`` loader processes. ``input_fn`` transforms the views before the forward
    (the library's mistaken inputs plug in here). The model is used as given: put it in eval
    mode and on ``device`` first (``build_model`` does).
    """
    pairs = [(Path(p), int(y)) for p, y in samples]
    if not pairs:
        raise InputError("evaluate: no clips given")
    if batch_size < 1 or num_workers < 0:
        raise InputError(f"batch_size must be >= 1 and num_workers >= 0, got {batch_size}, "
                         f"{num_workers}")
    views = (num_clips, num_crops)
    kept: list[int] = []
    probs: list[torch.Tensor] = []
    failed: dict[str, str] = {}
    with tqdm(total=len(pairs), desc=desc, unit="clip", disable=not progress) as bar:
        for batch in _batches(pairs, preset, views, batch_size, num_workers):
            for index, _, reason in batch:
                if reason is not None:
                    failed[str(pairs[index][0])] = reason
            good = [(index, x) for index, x, _ in batch if x is not None]
            if good:
                x = torch.cat([x for _, x in good])
                if input_fn is not None:
                    x = input_fn(x)
                probs.append(forward_views(model, x, num_clips * num_crops, device=device,
                                           amp=amp))
                kept += [index for index, _ in good]
            bar.update(len(batch))
    return EvalResult(
        paths=[pairs[i][0] for i in kept],
        labels=np.array([pairs[i][1] for i in kept], dtype=np.int64),
        probs=torch.cat(probs).numpy() if probs else np.zeros((0, 0), dtype=np.float32),
        views=views,
        failed=failed,
        categories=categories,
    )
