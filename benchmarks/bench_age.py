"""Age-regression head training: the feature cache against re-running the backbone every epoch.

Baseline ("backbone every epoch"): each epoch reads every training photo, preprocesses it, runs
the frozen backbone and takes the head's optimisation steps, as a plain Keras/PyTorch
transfer-learning loop does. Ours: ``embed_photos`` embeds each photo once through lab 2's
feature cache, then ``train_regressor`` runs the same epochs on the embeddings (same head, loss,
optimiser, batch size, seed).

Both sides use the same backbone (ResNet-50 by default, random weights: the timing does not
depend on the values), the same generated photos in the brief's format and the same image
size, timed in the same process. Also reported, to extrapolate to the 7,591 photos of the brief:
the time per photo of reading + preprocessing alone, of the backbone forward, and of one
epoch of last-stage fine-tuning (forward, backward through ``layer4``). The last line printed
is one JSON object.
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

from utils.age.backbone import build_backbone, preprocess
from utils.age.data import load_faces, read_face
from utils.age.features import embed_photos
from utils.age.finetune import finetune_last_stage
from utils.age.head import build_regressor, loss_function, train_regressor
from utils.age.synth import write_synthetic_faces

BRIEF_PHOTOS = 7591


def backbone_every_epoch(model: torch.nn.Module, paths: list[Path], ages: np.ndarray, dim: int,
                         *, image_size: int, epochs: int, batch_size: int, seed: int) -> float:
    """Seconds for ``epochs`` epochs of the baseline loop (no validation: a lower bound)."""
    transform = preprocess(image_size)
    torch.manual_seed(seed)
    head = build_regressor(dim, torch.zeros(dim), torch.ones(dim), start=float(np.median(ages)))
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3)
    loss_fn = loss_function("huber")
    order = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(paths), generator=order).split(batch_size):
            x = torch.stack([transform(torch.from_numpy(read_face(paths[i]).copy())
                                       .permute(2, 0, 1)) for i in idx])
            with torch.no_grad():
                emb = model(x)
            opt.zero_grad()
            loss_fn(head(emb), torch.as_tensor(ages[idx.numpy()], dtype=torch.float32)).backward()
            opt.step()
    return time.perf_counter() - start


def per_photo(paths: list[Path], model: torch.nn.Module, image_size: int,
              batch_size: int) -> tuple[float, float]:
    """(seconds per photo to read + preprocess, seconds per photo of the backbone forward)."""
    transform = preprocess(image_size)
    start = time.perf_counter()
    x = torch.stack([transform(torch.from_numpy(read_face(p).copy()).permute(2, 0, 1))
                     for p in paths])
    read = (time.perf_counter() - start) / len(paths)
    start = time.perf_counter()
    with torch.inference_mode():
        for batch in x.split(batch_size):
            model(batch)
    return read, (time.perf_counter() - start) / len(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="resnet50", help="resnet50 | resnet18 | tiny")
    parser.add_argument("--photos", type=int, default=48, help="training photos (default 48)")
    parser.add_argument("--image-size", type=int, default=224, help="default 224")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (default 3)")
    parser.add_argument("--batch-size", type=int, default=16, help="batch size (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    net = build_backbone(args.backbone, "none", seed=args.seed)
    run = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_faces(Path(tmp) / "faces", persons=args.photos // 2 + 4,
                                     photos_per_person=2, size=128, seed=args.seed,
                                     progress=False)
        table = load_faces(root, progress=False).table
        paths = [root / "final_files" / n for n in table["file_name"]]
        ages = table["real_age"].to_numpy(float)
        train, val = slice(0, args.photos), slice(args.photos, args.photos + 8)
        read_s, forward_s = per_photo(paths[:16], net.model, args.image_size, args.batch_size)
        baseline = backbone_every_epoch(net.model, paths[train], ages[train], net.dim,
                                        image_size=args.image_size, **run)
        photos = {p.name: p for p in paths[: args.photos + 8]}
        start = time.perf_counter()
        feats = embed_photos(net.model, photos, backbone=args.backbone,
                             image_size=args.image_size, cache_dir=Path(tmp) / "cache",
                             batch_size=args.batch_size, progress=False)
        extract = time.perf_counter() - start
        start = time.perf_counter()
        train_regressor(feats.matrix[train], ages[train], feats.matrix[val], ages[val],
                        patience=args.epochs, progress=False, **run)
        head_only = time.perf_counter() - start
        start = time.perf_counter()
        again = embed_photos(net.model, photos, backbone=args.backbone,
                             image_size=args.image_size, cache_dir=Path(tmp) / "cache",
                             batch_size=args.batch_size, progress=False)
        warm_read = time.perf_counter() - start
        assert again.computed == 0
        head = train_regressor(feats.matrix[train], ages[train], feats.matrix[val], ages[val],
                               epochs=1, progress=False).head
        start = time.perf_counter()
        finetune_last_stage(net, head, (paths[train], ages[train]),
                            ({p.name: p for p in paths[val]}, ages[val]),
                            image_size=args.image_size, epochs=1, batch_size=args.batch_size,
                            progress=False)
        finetune_epoch = time.perf_counter() - start
    n = args.photos
    result = {
        "benchmark": "bench_age",
        "backbone": args.backbone, "weights": "random", "image_size": args.image_size,
        "photos": {"train": n, "val": 8}, "epochs": args.epochs,
        "baseline": "backbone every epoch: read, preprocess and run the frozen backbone over "
                    "every training photo at every epoch",
        "baseline_seconds": baseline,
        "baseline_epoch_seconds": baseline / args.epochs,
        "cached_cold_seconds": extract + head_only,
        "cached_extract_seconds": extract,
        "cached_warm_seconds": warm_read + head_only,
        "head_epoch_seconds": head_only / args.epochs,
        "speedup_cold_cache": baseline / (extract + head_only),
        "speedup_warm_cache": baseline / (warm_read + head_only),
        "read_preprocess_s_per_photo": read_s,
        "forward_s_per_photo": forward_s,
        "finetune_epoch_s_per_photo": finetune_epoch / (n + 8),
        "extrapolated_cpu_seconds_7591_photos": {
            "extract_once": BRIEF_PHOTOS * extract / (n + 8),
            "baseline_epoch": BRIEF_PHOTOS * baseline / args.epochs / n,
            "finetune_epoch": BRIEF_PHOTOS * finetune_epoch / (n + 8)},
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
