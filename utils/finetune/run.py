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

import platform
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError
from utils.finetune.cache import extract_features, weights_hash
from utils.finetune.config import TrainConfig, train_config
from utils.io import save_figure, staged_run, write_json
from utils.settings import resolve_device

if TYPE_CHECKING:
    import pandas as pd

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


def finetune(config: TrainConfig | str | Path, *, out: str | Path, progress: bool = True,
             **settings: Any) -> dict[str, Any]:
    """Run everything and write the run directory ``out``; returns the metrics.json content.

    ``config`` is a :class:`TrainConfig`, or the data folder (or ``synthetic``) with the
    config's other fields as keywords (``finetune(data, out=..., backbone="tiny3d")``).
    """
    import pandas as pd
    import torch

    from utils.datasets.dcsass import load_dcsass
    from utils.datasets.splits import write_split_csv
    from utils.finetune.evaluate import evaluate_scores
    from utils.finetune.head import predict, save_head, train_head
    from utils.finetune.negatives import extra_negative_clips, with_extra_negatives
    from utils.finetune.plots import plot_pr_roc, plot_training
    from utils.finetune.thresholds import sweep_table

    config = train_config(config, settings)
    device = str(resolve_device(config.device))  # finetune's modules take the string form
    # written into a fresh folder that replaces ``out`` whole, and only once complete
    with staged_run(out) as (out, run_id):
        root, synthetic = resolve_data(config.data)
        config = replace(config, data=str(root), device=device)
        report = load_dcsass(root, config.category, progress=progress)
        frame, failed = split_for_run(report, config.split_file, seed=config.seed,
                                      val=config.val_fraction, test=config.test_fraction)
        model = build_backbone(config.backbone, config.weights, seed=config.seed, device=device)
        spec = model.spec
        paths = {c.name: c.path for c in report.clips}
        extra = extra_negative_clips(config.extra_negatives, paths, failed, e2e=config.e2e)
        clips = {name: paths[name] for name in frame["clip"]} | extra
        features = extract_features(model, clips, spec.preset, backbone=config.backbone,
                                    cache_dir=config.cache_dir, augment=config.augment,
                                    seed=config.seed, device=device, progress=progress)
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
        base_hash, finetuned_hash = weights_hash(model), None
        if config.e2e:
            from utils.finetune.e2e import finetune_last_stage

            result = finetune_last_stage(model, spec.preset, parts, clips, config,
                                         out=out / STAGE_FILE, kind=config.head,
                                         progress=progress)
            finetuned_hash = weights_hash(model)
            scored = extract_features(model, clips, spec.preset, backbone=config.backbone,
                                      cache_dir=None, seed=config.seed, device=device,
                                      progress=progress)
            x_all = scored.rows(frame["clip"].tolist())
        else:
            result = train_head(x_train, y_train, features.rows(parts["val"]["clip"].tolist()),
                                parts["val"]["label"].to_numpy(), config, kind=config.head,
                                progress=progress)
            x_all = features.rows(frame["clip"].tolist())
        scores = frame.loc[:, ["clip", "source_video", "split", "label"]].assign(
            score=predict(result.head, x_all, device=device))
        metrics = evaluate_scores(scores, rule=config.rule, target_recall=config.target_recall,
                                  n_boot=config.n_boot, seed=config.seed)
        metrics = {
            "backbone": config.backbone,
            "weights": config.weights,
            "pretrained": bool(getattr(model, "pretrained", False)),
            "synthetic_data": synthetic,
            **metrics,
            "clips": {**{s: len(p) for s, p in parts.items()}, "failed": failed},
            "training": {"best_epoch": result.best_epoch, "best_val_ap": result.best_val_ap,
                         "epochs_run": len(result.history), "stopped_early": result.stopped_early,
                         "pos_weight": result.pos_weight, "e2e": config.e2e},
        }
        write_split_csv(frame, out / "split.csv")
        save_head(result.head, out / HEAD_FILE, kind=config.head, in_dim=int(x_all.shape[1]),
                  run_id=run_id)
        _write_csv(scores, out / "scores.csv")
        _write_csv(result.history, out / "history.csv")
        val_rows = scores[scores["split"] == "val"]
        _write_csv(sweep_table(val_rows["label"], val_rows["score"]), out / "sweep_val.csv")
        config.save(out / "config.json", weights_hash=base_hash, finetuned_hash=finetuned_hash,
                    preset=spec.preset.name, embed_dim=int(x_all.shape[1]),
                    synthetic_data=synthetic, features_computed=features.computed,
                    features_reused=features.reused, run_id=run_id,
                    versions={"python": platform.python_version(), "torch": torch.__version__,
                              "pandas": pd.__version__})
        write_json(metrics, out / "metrics.json")
        import matplotlib.pyplot as plt

        for name, fig in (("curves.png", plot_pr_roc(scores, metrics["threshold"]["value"])),
                          ("training.png", plot_training(result.history, result.best_epoch))):
            save_figure(fig, out / name)
            plt.close(fig)  # written to the run, not shown: callers draw their own
        return metrics


def ensure_run(out: str | Path, config: TrainConfig | str | Path, *, progress: bool = True,
               **settings: Any) -> dict[str, Any]:
    """The metrics of the run in ``out`` when its saved config computes what ``config`` would
    (:meth:`TrainConfig.same_results`: the lab's notebooks share one run), else
    :func:`finetune` writes it. ``config`` and ``settings`` as for :func:`finetune`."""
    import json

    out, config = Path(out), train_config(config, settings)
    wanted = replace(config, data=str(resolve_data(config.data)[0]))  # as the run saves it
    config_path, metrics_path = out / "config.json", out / "metrics.json"
    if config_path.is_file() and metrics_path.is_file():
        try:
            reusable = TrainConfig.load(config_path).same_results(wanted)
        except InputError:  # a config of another version or kind of run: made again
            reusable = False
        if reusable:
            return dict(json.loads(metrics_path.read_text()))
    return finetune(config, out=out, progress=progress)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    from utils.io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path
