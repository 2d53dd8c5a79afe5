"""``actionlab finetune`` and ``actionlab score``.

``finetune`` reads a DCSASS folder (or generates the synthetic stand-in), embeds every clip once
with the frozen backbone (cached in ``--cache``), trains the head and writes the run directory
``--out`` (see :mod:`utils.finetune.run`). ``score`` reads a run directory and scores clip files
with its backbone, head and threshold.
"""

from __future__ import annotations

import argparse
import json
import sys

from utils.cliargs import (
    add_device,
    add_out,
    add_seed,
    add_weights,
    non_negative_int,
    positive_int,
    print_left_out,
)
from utils.errors import InputError


def _finetune(args: argparse.Namespace) -> int:
    from utils.finetune.config import TrainConfig
    from utils.finetune.run import finetune

    config = TrainConfig(
        data=args.data, backbone=args.backbone, weights=args.weights, split_file=args.split,
        category=args.category, extra_negatives=args.extra_negatives, head=args.head,
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, patience=args.patience,
        augment=args.augment, rule=args.rule, target_recall=args.target_recall, seed=args.seed,
        n_boot=args.n_boot, e2e=args.e2e, cache_dir=args.cache, device=args.device)
    metrics = finetune(config, out=args.out)
    test, thr = metrics["test"], metrics["threshold"]
    print(f"threshold {thr['value']:.4f} ({thr['rule']}, chosen on {thr['chosen_on']}); test: "
          + ", ".join(f"{k} {test[k]:.3f}" for k in ("precision", "recall", "f1", "f2",
                                                      "roc_auc", "average_precision")))
    print_left_out(metrics["clips"]["failed"], "clips left out")
    print(f"wrote the run to {args.out}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from utils.finetune.recogniser import clip_files, load_run, score_paths

    recogniser = load_run(args.run, device=args.device)
    scored = score_paths(recogniser, clip_files(args.clips), batch_size=args.batch_size)
    if args.out:
        from utils.io import atomic_path

        with atomic_path(args.out) as tmp:
            scored.table.to_csv(tmp, index=False)
    if args.json:
        print(json.dumps({"threshold": recogniser.threshold,
                          "scores": scored.table.to_dict(orient="records"),
                          "failed": scored.failed}, indent=2))
    else:
        print(scored.table.to_string(index=False) if len(scored.table) else "no clip scored")
        for path, reason in scored.failed.items():
            print(f"failed: {path}: {reason}", file=sys.stderr)
    if scored.table.empty:
        raise InputError(f"none of the {len(scored.failed)} clips could be decoded")
    return 0


def add_finetune(sub: argparse._SubParsersAction) -> None:
    """Register ``finetune`` and ``score``; the defaults are :class:`TrainConfig`'s."""
    from dataclasses import fields

    from utils.finetune.config import TrainConfig
    from utils.finetune.head import HEADS
    from utils.finetune.thresholds import RULES

    default = {f.name: f.default for f in fields(TrainConfig)}
    ft = sub.add_parser(
        "finetune", help="train a shoplifting head on DCSASS and write a run directory",
        description="Reads DATA (a DCSASS folder, or 'synthetic' for the generated stand-in) and "
                    "--split (clip,source_video,label,split; refused when a source video is in "
                    "two splits; without it a grouped split is made with --seed). Caches the "
                    "backbone embeddings in --cache, trains the head, chooses the threshold on "
                    "val and writes to --out: metrics.json, split.csv, scores.csv, "
                    "head.safetensors, config.json, history.csv, sweep_val.csv, curves.png, "
                    "training.png.")
    ft.add_argument("--data", required=True, help="DCSASS folder, or 'synthetic'")
    ft.add_argument("--split", help="split CSV (default: a grouped split, saved with the run)")
    ft.add_argument("--backbone", required=True, help="zoo model name (e.g. tsm_r50, tiny3d)")
    add_weights(ft)
    add_out(ft, "run directory to write (e.g. runs/NAME)")
    ft.add_argument("--epochs", type=positive_int, default=default["epochs"],
                    help="maximum epochs (default: %(default)s)")
    ft.add_argument("--head", default=default["head"], choices=HEADS,
                    help="course MLP (512-128-1) or linear probe (default: %(default)s)")
    ft.add_argument("--lr", type=float, default=default["lr"],
                    help="AdamW learning rate (default: %(default)s)")
    ft.add_argument("--batch-size", type=positive_int, default=default["batch_size"],
                    help="batch size (default: %(default)s)")
    ft.add_argument("--patience", type=positive_int, default=default["patience"],
                    help="epochs without a better val AP before stopping (default: %(default)s)")
    ft.add_argument("--augment", type=non_negative_int, default=default["augment"],
                    help="extra augmented training views per clip, cached too (default: "
                         "%(default)s)")
    ft.add_argument("--rule", default=default["rule"], choices=RULES,
                    help="threshold rule applied to the val scores (default: %(default)s)")
    ft.add_argument("--target-recall", type=float, default=default["target_recall"],
                    help="recall for --rule target_recall (default: %(default)s)")
    ft.add_argument("--category", default=default["category"], help="DCSASS category")
    add_seed(ft)
    ft.add_argument("--n-boot", type=positive_int, default=default["n_boot"],
                    help="bootstrap resamples of source videos (default: %(default)s)")
    ft.add_argument("--cache", default=default["cache_dir"],
                    help="feature cache folder (default: %(default)s)")
    add_device(ft)
    ft.add_argument("--e2e", action="store_true",
                    help="also fine-tune the last backbone stage (GPU + AMP; slow on CPU)")
    ft.add_argument("--extra-negatives", metavar="CSV",
                    help="hard negatives from `actionlab alerts hard-negatives` (clips named "
                         "video_name beside the CSV), added to the training split as label 0")
    ft.set_defaults(func=_finetune)

    score = sub.add_parser(
        "score", help="score clips with a fine-tuned run",
        description="Reads the run directory --run (config.json, head.safetensors, metrics.json) "
                    "and the clips (files, or folders searched for *.mp4); prints path, score "
                    "and alert (score >= the run's threshold); --out also writes them as CSV. "
                    "Unreadable clips are listed on stderr.")
    score.add_argument("clips", nargs="+", help="clip files or folders")
    score.add_argument("--run", required=True, help="run directory written by 'finetune'")
    add_out(score, "CSV file to write the scores to", required=False)
    score.add_argument("--json", action="store_true", help="print JSON instead of a table")
    score.add_argument("--batch-size", type=positive_int, default=8,
                       help="clips per forward (default: 8)")
    add_device(score)
    score.set_defaults(func=_score)
