"""A fine-tuned run as a recogniser: frozen backbone + saved head, sigmoid, the run's threshold.

It follows the recogniser protocol of ``utils.deploy.live.Recogniser``: ``preset``, ``labels``
(``("shoplifting",)``), ``threshold`` and ``__call__(clip) -> (N, 1)`` probabilities, so the live
demo overlays its score and alert like any zoo model. ``score_paths`` scores files with the test
view the run's scores were made with; ``score_windows`` slides a window along a long video.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from utils.errors import InputError, first_line

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from utils.video.presets import Preset


class FinetunedRecogniser:
    """``model.features`` then the head, then a sigmoid: P(shoplifting) per clip."""

    labels = ("shoplifting",)

    def __init__(self, backbone: Any, head: torch.nn.Module, preset: Preset,
                 threshold: float | None, device: str = "cpu", name: str = "") -> None:
        self.backbone = backbone.eval()
        # read by utils.deploy.live: the overlay says when the backbone has random weights
        self.pretrained = bool(getattr(backbone, "pretrained", False))
        self.name = name or f"{backbone.spec.name} + fine-tuned head"
        self.head = head.eval().to(device)
        self.preset = preset
        self.threshold = threshold
        self.device = device

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        """(N, 3, T, H, W) normalised by ``preset`` -> (N, 1) probabilities on the CPU."""
        import torch

        with torch.inference_mode(), torch.autocast("cuda",
                                                    enabled=self.device.startswith("cuda")):
            emb = self.backbone.features(clip.to(self.device)).float()
            return torch.sigmoid(self.head(emb).float()).cpu()


def load_run(run_dir: str | Path, *, device: str = "auto") -> FinetunedRecogniser:
    """Rebuild a run's recogniser from ``config.json``, ``head.safetensors`` and
    ``metrics.json`` (plus ``backbone_stage.safetensors`` after end-to-end fine-tuning).

    The rebuilt backbone's weights hash must equal the one recorded by the run: a different
    checkpoint, or random weights drawn differently, would make the head meaningless.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from utils.finetune.cache import weights_hash
    from utils.finetune.e2e import last_stage
    from utils.finetune.head import load_head
    from utils.finetune.run import HEAD_FILE, STAGE_FILE, build_backbone
    from utils.settings import resolve_device

    run = Path(run_dir)
    config, metrics = _read_run(run)
    device = str(resolve_device(device))
    backbone = build_backbone(config["backbone"], config["weights"], seed=config["seed"],
                              device=device)
    found = weights_hash(backbone)
    if found != config["weights_hash"]:
        raise InputError(f"{run}: backbone {config['backbone']} with weights "
                         f"{config['weights']!r} hashes to {found}, the run used "
                         f"{config['weights_hash']}; pass the same checkpoint")
    if config.get("e2e"):
        stage = last_stage(backbone)
        try:
            stage.load_state_dict(load_file(str(run / STAGE_FILE), device=device))
        except (OSError, SafetensorError, RuntimeError) as exc:
            raise InputError(f"{run / STAGE_FILE}: not the backbone stage of this run "
                             f"({first_line(exc)})") from None
    head, _ = load_head(run / HEAD_FILE, in_dim=int(config["embed_dim"]))
    return FinetunedRecogniser(backbone, head, backbone.spec.preset,
                               metrics["threshold"]["value"], device,
                               name=f"{config['backbone']} + head of run {run.name}")


# config.json keys load_run reads, with the type each must have
CONFIG_TYPES: dict[str, type | tuple[type, ...]] = {
    "backbone": str, "weights": str, "weights_hash": str, "seed": int, "embed_dim": int,
    "run_id": str}


def _read_run(run: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config.json`` and ``metrics.json`` of a whole run (:func:`utils.io.check_run`), with
    the keys :func:`load_run` needs, of the right types, and a finite threshold in [0, 1]."""
    import math

    from utils.finetune.run import HEAD_FILE, STAGE_FILE
    from utils.io import check_run

    try:
        config = json.loads((run / "config.json").read_text())
        metrics = json.loads((run / "metrics.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{run}: not a fine-tuning run directory ({first_line(exc)})") from None
    if not isinstance(config, dict) or not isinstance(metrics, dict):
        raise InputError(f"{run}: config.json and metrics.json must hold JSON objects")
    for key, kind in CONFIG_TYPES.items():
        if not isinstance(config.get(key), kind) or isinstance(config.get(key), bool):
            raise InputError(f"{run}/config.json: {key!r} missing or not a "
                             f"{getattr(kind, '__name__', kind)} (got {config.get(key)!r})")
    run_id = check_run(run, ["config.json", "metrics.json", HEAD_FILE,
                             *([STAGE_FILE] if config.get("e2e") else [])])
    if config["run_id"] != run_id:
        raise InputError(f"{run}: config.json is of run {config['run_id']}, the folder of run "
                         f"{run_id} (files of different runs mixed)")
    threshold = metrics.get("threshold")
    value = threshold.get("value") if isinstance(threshold, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not 0 <= value <= 1:
        raise InputError(f"{run}/metrics.json: threshold value must be a number in [0, 1], "
                         f"got {value!r}")
    metrics["threshold"]["value"] = float(value)
    return config, metrics


@dataclass
class Scored:
    """Scores of the files that could be read; every other file with the reason."""

    table: pd.DataFrame  # path, score, alert
    failed: dict[str, str] = field(default_factory=dict)


def clip_files(targets: Iterable[str | Path]) -> list[Path]:
    """Files named by ``targets``: a file itself, or every ``*.mp4`` file under a folder
    (DCSASS folders named ``<video>.mp4`` are walked into, not taken as files)."""
    files: list[Path] = []
    for target in map(Path, targets):
        if target.is_dir():  # broken links too: scoring lists them as failed, with the reason
            files += sorted(p for p in target.rglob("*.mp4") if p.is_file() or p.is_symlink())
        elif target.is_file():
            files.append(target)
        else:
            raise InputError(f"{target}: no such file or folder")
    if not files:
        raise InputError(f"no .mp4 clip found in {', '.join(map(str, targets))}")
    return files


def score_paths(recogniser: FinetunedRecogniser, paths: Iterable[str | Path], *,
                batch_size: int = 8, progress: bool = True) -> Scored:
    """P(shoplifting) of each clip file (the test view), and the alert at the run's threshold."""
    import pandas as pd
    import torch
    from tqdm.auto import tqdm

    from utils.video.presets import load_clip

    rows: list[tuple[str, float]] = []
    failed: dict[str, str] = {}
    batch: list[tuple[Path, torch.Tensor]] = []

    def flush() -> None:
        probs = recogniser(torch.stack([x for _, x in batch]))[:, 0].double().numpy()
        rows.extend((str(p), float(s)) for (p, _), s in zip(batch, probs, strict=True))
        batch.clear()

    if batch_size < 1:
        raise InputError(f"--batch-size must be >= 1, got {batch_size}")
    for path in tqdm(list(map(Path, paths)), desc="scoring", disable=not progress, unit="clip"):
        try:
            batch.append((path, load_clip(path, recogniser.preset)[0]))
        except InputError as exc:
            failed[str(path)] = str(exc)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    table = pd.DataFrame(rows, columns=["path", "score"])
    if recogniser.threshold is not None:
        table["alert"] = table["score"] >= recogniser.threshold
    return Scored(table, failed)


def score_windows(recogniser: FinetunedRecogniser, path: str | Path, *, window: float = 4.0,
                  stride: float = 1.0) -> pd.DataFrame:
    """Slide a ``window``-second window by ``stride`` seconds along a long video: one row per
    window (start, end, score, alert). The model sees the window as it saw a DCSASS clip."""
    import pandas as pd

    from utils.video.io import VideoReader

    if window <= 0 or stride <= 0:
        raise InputError(f"window and stride must be positive, got {window}, {stride}")
    preset = recogniser.preset
    rows = []
    with VideoReader(path) as video:
        fps, n = video.info.fps, video.num_frames
        # A window is sampled as a DCSASS clip of `length` frames: the preset's own test rule.
        length = min(max(round(window * fps), 1), n)
        offsets = preset.indices(length, fps)[0]
        for first in range(0, n - length + 1, max(round(stride * fps), 1)):
            frames = video.read(first + offsets, preset.resize_frames)
            score = float(recogniser(preset.views(frames))[0, 0])
            rows.append({"start": first / fps, "end": (first + length) / fps, "score": score})
    table = pd.DataFrame(rows)
    if recogniser.threshold is not None:
        table["alert"] = table["score"] >= recogniser.threshold
    return table if len(table) else table.reindex(columns=["start", "end", "score"])
