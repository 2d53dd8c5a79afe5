"""One fine-tuning run, from a DCSASS folder to a run directory.

``finetune`` loads the labelled clips, splits them by source video (or reads a given split, which
is refused when a source video appears in two splits), embeds every clip once with the frozen
backbone through the feature cache, trains the head, scores train/val/test once, chooses the
threshold on validation and writes::

    out/config.json         every setting, the weights hash, the data used
    out/split.csv           clip,source_video,label,split (the split the run used)
    out/head.safetensors    the head's weights (metadata: kind, input size)
    out/history.csv         per-epoch train loss, val loss, val AP
    out/scores.csv          clip,source_video,split,label,score for every usable clip
    out/metrics.json        threshold (chosen on val), val and test metrics, bootstrap intervals,
                            clips per split and the clips that failed, with the reason
    out/sweep_val.csv       every val score as a threshold: counts, precision, recall, F1, F2
    out/curves.png          PR and ROC curves on val and test, the chosen threshold marked
    out/training.png        loss and val AP per epoch
    out/run.json            the run id (also in config.json and the head's metadata) and the
                            sha256 of every file: :func:`utils.finetune.load_run` refuses a
                            folder whose files are not all of one run

The run is written into a temporary sibling folder that replaces ``out`` whole once complete
(:func:`utils.io.staged_run`): an interrupted or failed run leaves the earlier one as it was,
and an existing ``out`` that is not a run folder (no ``run.json``) is refused, not overwritten.

With ``e2e=True`` the last backbone stage is trained too (see :mod:`utils.finetune.e2e`); it
also writes ``backbone_stage.safetensors`` and the same files.
"""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.finetune.cache import CACHE_DIR, extract_features, weights_hash
from utils.io import save_figure, staged_run, write_json
from utils.settings import resolve_device

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from utils.datasets.dcsass import DcsassReport

HEAD_FILE = "head.safetensors"
STAGE_FILE = "backbone_stage.safetensors"


def build_backbone(name: str, weights: str | None, *, seed: int = 0,
                   device: str = "cpu") -> Any:
    """The zoo model ``name`` (weights "default", "none"/None = random, or a checkpoint path).

    Random initialisation is seeded, so a run with random weights can be rebuilt exactly by
    :func:`utils.finetune.recogniser.load_run` (the weights hash is checked there).
    """
    import torch

    from utils.models import build_model

    chosen = None if weights in (None, "none") else weights
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(name, weights=chosen, device=device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def resolve_data(data: str | Path) -> tuple[Path, bool]:
    """(DCSASS folder, synthetic?) for ``--data``: a folder, or ``synthetic`` for the stand-in."""
    if str(data) == "synthetic":
        from utils.datasets.synth import choose_dcsass

        choice = choose_dcsass("synthetic", progress=False)
        return choice.path, True
    return Path(data), False


def split_for_run(report: DcsassReport, split: str | Path | None, *, seed: int = 0,
                  val: float = 0.15, test: float = 0.15) -> tuple[pd.DataFrame, dict[str, str]]:
    """The split of the usable clips and {clip: reason} for every clip left out.

    A given split file is verified (a source video in two splits is refused); its clips that
    are not usable in the dataset are left out with the loader's reason. Without a file, a
    grouped split is dealt with ``seed``.
    """
    from utils.datasets.splits import grouped_split, read_split_csv

    failed = report.left_out()
    usable = {c.name: c for c in report.clips}
    if not usable:
        why = "".join(f" ({len(failed)} left out, e.g. {name}: {reason})"
                      for name, reason in list(failed.items())[:1])
        raise InputError(f"{report.root.path}: no readable labelled clip to train on{why}")
    if split is None:
        clips = list(usable.values())
        frame = grouped_split([c.name for c in clips], [c.source_video for c in clips],
                              [c.label for c in clips], val=val, test=test, seed=seed)
        return frame, failed
    frame = read_split_csv(split)
    absent = [c for c in frame["clip"] if c not in usable]
    for name in absent:
        failed[name] = failed.get(name, f"in {split} but not a labelled clip of the dataset")
    frame = frame[frame["clip"].isin(list(usable))].reset_index(drop=True)
    truth = frame["clip"].map({n: c.label for n, c in usable.items()})
    if (truth != frame["label"]).any():
        bad = frame.loc[truth != frame["label"], "clip"].tolist()
        raise InputError(f"{split}: labels differ from the dataset's for {len(bad)} clips, "
                         f"e.g. {bad[:5]}")
    return frame, failed


def save_head(head: torch.nn.Module, path: Path, *, kind: str, in_dim: int,
              run_id: str = "") -> Path:
    """The head's state dict as safetensors (atomic), with its kind, input size and run id."""
    from safetensors.torch import save_file

    from utils.io import atomic_path

    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"kind": kind, "in_dim": str(in_dim),
                                             "run_id": run_id})
    return path


def load_head(path: Path, *, in_dim: int | None = None) -> tuple[torch.nn.Module, str]:
    """The head saved by :func:`save_head`, in eval mode, and its kind; :class:`InputError`
    for a file that is not such a head (or, given ``in_dim``, one of another input size)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from utils.errors import first_line
    from utils.finetune.head import build_head

    if not path.is_file():
        raise InputError(f"{path}: no such head file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        found = int(meta.get("in_dim", 0))
        if in_dim is not None and found != in_dim:
            raise InputError(f"{path}: a head for {found}-dimensional features, the backbone "
                             f"gives {in_dim}")
        head = build_head(meta.get("kind", ""), found)
        head.load_state_dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: not a head saved by a run ({first_line(exc)})") from None
    return head.eval(), meta["kind"]


def check_settings(**values: float) -> None:
    """Refuse training settings that would fail or mean nothing, before any feature is
    computed: a learning rate or weight decay that is not finite (or is < 0; lr > 0), a
    negative seed, fewer than one epoch, batch or bootstrap sample, negative patience or
    augmentation."""
    lowest = {"lr": None, "weight_decay": 0, "seed": 0, "epochs": 1, "batch_size": 1,
              "patience": 0, "augment": 0, "n_boot": 1}
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        if not math.isfinite(value):
            raise InputError(f"{flag} must be a finite number, got {value}")
        low = lowest[name]
        if low is None and value <= 0:
            raise InputError(f"{flag} must be > 0, got {value}")
        if low is not None and value < low:
            raise InputError(f"{flag} must be >= {low}, got {value}")


def finetune(
    data: str | Path,
    *,
    out: str | Path,
    backbone: str,
    weights: str | None = "default",
    split: str | Path | None = None,
    category: str = "Shoplifting",
    epochs: int = 10,
    head: str = "course",
    lr: float = 1e-3,
    weight_decay: float = 1e-2,
    batch_size: int = 32,
    patience: int = 5,
    augment: int = 0,
    rule: str = "max_f1",
    target_recall: float = 0.8,
    seed: int = 0,
    val: float = 0.15,
    test: float = 0.15,
    n_boot: int = 1000,
    cache_dir: str | Path | None = CACHE_DIR,
    device: str = "auto",
    e2e: bool = False,
    progress: bool = True,
    extra_negatives: str | Path | None = None,
) -> dict[str, Any]:
    """Run everything and write the run directory ``out``; returns the metrics.json content."""
    import pandas as pd
    import torch

    from utils.datasets.dcsass import load_dcsass
    from utils.datasets.splits import write_split_csv
    from utils.finetune.evaluate import evaluate_scores
    from utils.finetune.head import predict, train_head
    from utils.finetune.negatives import extra_negative_clips, with_extra_negatives
    from utils.finetune.plots import plot_pr_roc, plot_training
    from utils.finetune.thresholds import sweep_table

    check_settings(lr=lr, weight_decay=weight_decay, seed=seed, epochs=epochs,
                   batch_size=batch_size, patience=patience, augment=augment, n_boot=n_boot)
    device = str(resolve_device(device))  # finetune's modules take the string form
    # written into a fresh folder that replaces ``out`` whole, and only once complete
    with staged_run(out) as (out, run_id):
        root, synthetic = resolve_data(data)
        report = load_dcsass(root, category, progress=progress)
        frame, failed = split_for_run(report, split, seed=seed, val=val, test=test)
        model = build_backbone(backbone, weights, seed=seed, device=device)
        spec = model.spec
        paths = {c.name: c.path for c in report.clips}
        extra = extra_negative_clips(extra_negatives, paths, failed, e2e=e2e)
        clips = {name: paths[name] for name in frame["clip"]} | extra
        features = extract_features(model, clips, spec.preset, backbone=backbone,
                                    cache_dir=cache_dir, augment=augment, seed=seed,
                                    device=device, progress=progress)
        failed.update(features.failed)
        frame = frame[frame["clip"].isin(features.clips)].reset_index(drop=True)
        parts = {s: frame[frame["split"] == s] for s in ("train", "val", "test")}
        for name, part in parts.items():
            if part.empty:
                raise InputError(f"the {name} split has no usable clip")
        views = features.matrix.shape[1]
        x_train = np.concatenate([features.rows(parts["train"]["clip"].tolist(), v)
                                  for v in range(views)])
        y_train = np.tile(parts["train"]["label"].to_numpy(), views)
        x_train, y_train = with_extra_negatives(x_train, y_train, features, extra, views)
        train_args: dict[str, Any] = {
            "kind": head, "epochs": epochs, "lr": lr, "weight_decay": weight_decay,
            "batch_size": batch_size, "patience": patience, "seed": seed, "device": device,
            "progress": progress}
        base_hash, finetuned_hash = weights_hash(model), None
        if e2e:
            from utils.finetune.e2e import finetune_last_stage

            result = finetune_last_stage(model, spec.preset, parts, clips, out=out / STAGE_FILE,
                                         **train_args)
            finetuned_hash = weights_hash(model)
            scored = extract_features(model, clips, spec.preset, backbone=backbone, cache_dir=None,
                                      seed=seed, device=device, progress=progress)
            x_all = scored.rows(frame["clip"].tolist())
        else:
            result = train_head(x_train, y_train,
                                features.rows(parts["val"]["clip"].tolist()),
                                parts["val"]["label"].to_numpy(), **train_args)
            x_all = features.rows(frame["clip"].tolist())
        scores = frame.loc[:, ["clip", "source_video", "split", "label"]].assign(
            score=predict(result.head, x_all, device=device))
        metrics = evaluate_scores(scores, rule=rule, target_recall=target_recall, n_boot=n_boot,
                                  seed=seed)
        metrics = {
            "backbone": backbone,
            "weights": "none" if weights in (None, "none") else str(weights),
            "pretrained": bool(getattr(model, "pretrained", False)),
            "synthetic_data": synthetic,
            **metrics,
            "clips": {**{s: len(p) for s, p in parts.items()}, "failed": failed},
            "training": {"best_epoch": result.best_epoch, "best_val_ap": result.best_val_ap,
                         "epochs_run": len(result.history), "stopped_early": result.stopped_early,
                         "pos_weight": result.pos_weight, "e2e": e2e},
        }
        write_split_csv(frame, out / "split.csv")
        save_head(result.head, out / HEAD_FILE, kind=head, in_dim=int(x_all.shape[1]),
                  run_id=run_id)
        _write_csv(scores, out / "scores.csv")
        _write_csv(result.history, out / "history.csv")
        val_rows = scores[scores["split"] == "val"]
        _write_csv(sweep_table(val_rows["label"], val_rows["score"]), out / "sweep_val.csv")
        config = {
            "backbone": backbone, "weights": metrics["weights"], "weights_hash": base_hash,
            "finetuned_hash": finetuned_hash, "preset": spec.preset.name,
            "embed_dim": int(x_all.shape[1]),
            "data": str(root), "synthetic_data": synthetic, "category": category,
            "extra_negatives": str(extra_negatives) if extra_negatives else None,
            "split_file": str(split) if split else None, "head": head, "epochs": epochs, "lr": lr,
            "weight_decay": weight_decay, "batch_size": batch_size, "patience": patience,
            "augment": augment, "rule": rule, "target_recall": target_recall, "seed": seed,
            "val_fraction": val, "test_fraction": test, "n_boot": n_boot, "e2e": e2e,
            "device": device, "cache_dir": None if cache_dir is None else str(cache_dir),
            "features_computed": features.computed, "features_reused": features.reused,
            "run_id": run_id,
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "pandas": pd.__version__},
        }
        write_json(config, out / "config.json")
        write_json(metrics, out / "metrics.json")
        import matplotlib.pyplot as plt

        for name, fig in (("curves.png", plot_pr_roc(scores, metrics["threshold"]["value"])),
                          ("training.png", plot_training(result.history, result.best_epoch))):
            save_figure(fig, out / name)
            plt.close(fig)  # written to the run, not shown: callers draw their own
        return metrics


REUSE_KEYS = ("backbone", "weights", "data", "category", "head", "epochs", "lr", "weight_decay",
              "batch_size", "patience", "augment", "rule", "target_recall", "seed",
              "val_fraction", "test_fraction", "n_boot", "e2e", "extra_negatives")


def ensure_run(out: str | Path, data: str | Path, **kwargs: Any) -> dict[str, Any]:
    """The metrics of the run in ``out`` when it was made with these settings (the lab's
    notebooks share one run), else :func:`finetune` writes it; the split file, if any, must be
    passed again to be reused."""
    import json

    out, (root, _) = Path(out), resolve_data(data)
    config_path, metrics_path = out / "config.json", out / "metrics.json"
    if config_path.is_file() and metrics_path.is_file():
        config = json.loads(config_path.read_text())
        defaults = {"weights": "default", "category": "Shoplifting", "head": "course",
                    "epochs": 10, "lr": 1e-3, "weight_decay": 1e-2, "batch_size": 32,
                    "patience": 5, "augment": 0, "rule": "max_f1", "target_recall": 0.8,
                    "seed": 0, "val": 0.15, "test": 0.15, "n_boot": 1000, "e2e": False}
        wanted = {**defaults, **kwargs, "data": str(root)}
        wanted["val_fraction"], wanted["test_fraction"] = wanted.pop("val"), wanted.pop("test")
        wanted["weights"] = "none" if wanted["weights"] in (None, "none") else wanted["weights"]
        if all(config.get(k) == wanted.get(k) for k in REUSE_KEYS) and not kwargs.get("split"):
            return dict(json.loads(metrics_path.read_text()))
    return finetune(data, out=out, **kwargs)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    from utils.io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path
