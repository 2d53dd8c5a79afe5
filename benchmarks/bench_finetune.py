"""10 epochs of head training on cached embeddings against the course's way, on the same clips.

Baseline (the original course): every epoch decodes every training and validation clip and runs
the frozen backbone on it again, then takes the head's optimisation steps (same head, loss,
optimiser and batch size). Ours: ``extract_features`` embeds each clip once through the feature
cache, then ``train_head`` runs the 10 epochs on the embeddings.

Both sides use the same backbone (``x3d_xs`` by default, random weights: the timing does not
depend on the values), the same generated DCSASS clips in the real layout (320x240, 30 fps,
2 s), the same test view of each clip and the same seeds, and are timed in the same process.
Reported: the baseline; ours with an empty cache (extraction included: the first run); ours with
the cache already filled (every later run: another head, learning rate, threshold rule or seed).
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from utils.datasets.dcsass import load_dcsass
from utils.datasets.synth import ClipSize, write_synthetic_dcsass
from utils.finetune.cache import extract_features
from utils.finetune.head import build_head, pos_weight, train_head
from utils.metrics import average_precision
from utils.models import build_model
from utils.video.presets import load_clip


def pick_clips(root: Path, n_train: int) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]]]:
    """``n_train`` training clips with both labels and 2 validation clips (one of each)."""
    clips = load_dcsass(root, progress=False).clips
    pos = [(c.path, c.label) for c in clips if c.label == 1]
    neg = [(c.path, c.label) for c in clips if c.label == 0]
    if len(pos) < 2 or len(neg) < 2:
        raise RuntimeError("the generated set needs at least 2 clips of each label")
    val = [pos.pop(), neg.pop()]
    k = max(1, min(len(pos), n_train // 3))
    return pos[:k] + neg[: n_train - k], val


def course_way(model: torch.nn.Module, train: list[tuple[Path, int]],
               val: list[tuple[Path, int]], *, epochs: int, batch_size: int,
               seed: int) -> list[float]:
    """The course's loop: decode + frozen backbone forward for every clip at every epoch."""
    preset = model.spec.preset
    torch.manual_seed(seed)
    head = build_head("course", model.spec.embed_dim)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1e-2)
    weight = pos_weight([y for _, y in train])
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight))
    order = torch.Generator().manual_seed(seed)
    val_ap = []
    for _ in range(epochs):
        head.train()
        for idx in torch.randperm(len(train), generator=order).split(batch_size):
            x = torch.stack([load_clip(train[i][0], preset)[0] for i in idx])
            with torch.no_grad():
                emb = model.features(x)
            y = torch.tensor([float(train[i][1]) for i in idx])
            opt.zero_grad()
            loss_fn(head(emb).squeeze(1), y).backward()
            opt.step()
        head.eval()
        with torch.no_grad():
            x = torch.stack([load_clip(p, preset)[0] for p, _ in val])
            prob = torch.sigmoid(head(model.features(x))).squeeze(1).double().numpy()
        val_ap.append(average_precision([y for _, y in val], prob))
    return val_ap


def cached_way(model: torch.nn.Module, train: list[tuple[Path, int]],
               val: list[tuple[Path, int]], cache: Path, *, epochs: int, batch_size: int,
               seed: int) -> tuple[float, float]:
    """Seconds spent in (extraction through the cache, 10 epochs of training)."""
    clips = {p.stem: p for p, _ in train + val}
    start = time.perf_counter()
    feats = extract_features(model, clips, model.spec.preset, backbone=model.spec.name,
                             cache_dir=cache, batch_size=batch_size, progress=False)
    extracted = time.perf_counter()
    train_head(feats.rows([p.stem for p, _ in train]), [y for _, y in train],
               feats.rows([p.stem for p, _ in val]), [y for _, y in val], epochs=epochs,
               patience=epochs, batch_size=batch_size, seed=seed, progress=False)
    return extracted - start, time.perf_counter() - extracted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="x3d_xs", help="zoo model (random weights)")
    parser.add_argument("--clips", type=int, default=6, help="training clips (default 6)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    parser.add_argument("--batch-size", type=int, default=4, help="batch size (default 4)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings of the cached way; the median is reported (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    model = build_model(args.backbone, weights=None, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_dcsass(Path(tmp) / "dcsass", videos=3, clips_per_video=6,
                                      positive_rate=0.35, size=ClipSize(frames=60),
                                      seed=args.seed, progress=False)
        train, val = pick_clips(root, args.clips)
        run = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
        load_clip(train[0][0], model.spec.preset)  # warm-up (codec, first forward below)
        with torch.no_grad():
            model.features(load_clip(train[0][0], model.spec.preset))
        cold, warm = [], []
        for r in range(args.repeats):
            cache = Path(tmp) / f"cache{r}"
            cold.append(cached_way(model, train, val, cache, **run))
            warm.append(cached_way(model, train, val, cache, **run))
        start = time.perf_counter()
        course_way(model, train, val, **run)
        course = time.perf_counter() - start
    cold_total = float(np.median([a + b for a, b in cold]))
    warm_total = float(np.median([a + b for a, b in warm]))
    result = {
        "benchmark": "bench_finetune",
        "backbone": args.backbone,
        "weights": "random",
        "clips": {"train": len(train), "val": len(val)},
        "epochs": args.epochs,
        "baseline": "course: decode + frozen backbone forward of every clip at every epoch",
        "course_seconds": course,
        "cached_cold_seconds": cold_total,
        "cached_cold_extract_seconds": float(np.median([a for a, _ in cold])),
        "cached_warm_seconds": warm_total,
        "train_only_seconds": float(np.median([b for _, b in warm])),
        "speedup_cold_cache": course / cold_total,
        "speedup_warm_cache": course / warm_total,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
