"""``actionlab age train``, ``age evaluate`` and ``age utkface``.

``train`` reads a faces folder in the brief's format (``labels.csv`` + ``final_files/``; or
``synthetic`` for the generated stand-in) and writes a run directory (see
:mod:`utils.age.run`); ``evaluate`` recomputes a run's metrics for another legal age or target;
``utkface`` downloads UTKFace (or takes an extracted copy) and converts it to the brief's format.
"""

from __future__ import annotations

import argparse

from utils.cliargs import (
    add_device,
    add_seed,
    add_weights,
    non_negative_int,
    positive_int,
    weights_arg,
)


def _train(args: argparse.Namespace) -> int:
    from utils.age.run import train_age

    metrics = train_age(
        args.data, args.out, backbone=args.backbone, weights=weights_arg(args.weights),
        image_size=args.image_size, loss=args.loss, hidden=args.hidden, epochs=args.epochs,
        lr=args.lr, batch_size=args.batch_size, patience=args.patience,
        finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr, seed=args.seed,
        cache_dir=args.cache, device=args.device, legal_age=args.legal_age, target=args.target,
        n_boot=args.n_boot)
    print(metrics["conclusion"])
    print(f"wrote the run to {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from utils.age.run import evaluate_run

    metrics = evaluate_run(args.run, legal_age=args.legal_age, target=args.target,
                           n_boot=args.n_boot, seed=args.seed)
    print(metrics["conclusion"])
    print(f"wrote metrics.json, id_rule.csv, bands.csv and the figures to {args.run}")
    return 0


def _utkface(args: argparse.Namespace) -> int:
    from utils.age.utkface import convert_utkface, download_utkface

    source = args.source or download_utkface(args.download_dir)
    print(convert_utkface(source, args.out, limit=args.limit).to_text())
    return 0


def _risk_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--legal-age", type=float, default=18,
                        help="minors are younger than this (default: 18)")
    parser.add_argument("--target", type=float, default=0.01,
                        help="largest share of minors the ID rule may pass (default: 0.01)")
    parser.add_argument("--n-boot", type=positive_int, default=1000,
                        help="bootstrap resamples of the MAE interval (default: 1000)")
    add_seed(parser)


def add_age(sub: argparse._SubParsersAction) -> None:
    """Register ``age train``, ``age evaluate`` and ``age utkface``."""
    from utils.finetune.cache import CACHE_DIR
    from utils.paths import DATA_DIR

    age = sub.add_parser("age", help="age regression from face photos (lab 2, bonus 05)")
    age_sub = age.add_subparsers(dest="command", required=True)
    train = age_sub.add_parser(
        "train", help="train an age regressor and write a run directory",
        description="Reads DATA (labels.csv with file_name,real_age and the photos in "
                    "final_files/, plus persons.csv file_name,person_id when known; or "
                    "'synthetic'). Splits by person, caches the backbone embeddings in --cache, "
                    "trains the head (optionally fine-tunes the last stage) and writes to --out: "
                    "config.json, split.csv, predictions.csv, history.csv, head.safetensors, "
                    "metrics.json, id_rule.csv, bands.csv, scatter.png, bands.png, id_rule.png. "
                    "--out is replaced whole, only when empty or an earlier run.")
    train.add_argument("--data", required=True, help="faces folder, or 'synthetic'")
    train.add_argument("--out", required=True, help="run directory to write")
    train.add_argument("--backbone", default="resnet50", choices=["resnet50", "resnet18", "tiny"],
                       help="ImageNet ResNet (torchvision) or the tiny test CNN (default: "
                            "resnet50)")
    add_weights(train)
    train.add_argument("--image-size", type=positive_int, default=224, help="photo side in pixels "
                                                                   "(default: 224)")
    train.add_argument("--loss", default="huber", choices=["huber", "l1"],
                       help="regression loss (default: huber)")
    train.add_argument("--hidden", type=non_negative_int, default=256,
                       help="hidden units of the head, 0 = linear (default: 256)")
    train.add_argument("--epochs", type=positive_int, default=30, help="head epochs (default: 30)")
    train.add_argument("--lr", type=float, default=1e-3, help="head learning rate (default: 1e-3)")
    train.add_argument("--batch-size", type=positive_int, default=64,
                       help="batch size (default: 64)")
    train.add_argument("--patience", type=positive_int, default=8,
                       help="epochs without a better validation MAE before stopping (default: 8)")
    train.add_argument("--finetune-epochs", type=non_negative_int, default=0,
                       help="epochs of last-stage fine-tuning with augmentation (default: 0)")
    train.add_argument("--finetune-lr", type=float, default=1e-4,
                       help="fine-tuning learning rate (default: 1e-4)")
    train.add_argument("--cache", default=str(CACHE_DIR),
                       help=f"feature cache folder (default: {CACHE_DIR})")
    add_device(train)
    _risk_args(train)
    train.set_defaults(func=_train)

    evaluate = age_sub.add_parser(
        "evaluate", help="recompute a run's metrics (another legal age or target)",
        description="Reads RUN/predictions.csv and RUN/config.json; rewrites RUN/metrics.json, "
                    "id_rule.csv, bands.csv and the figures.")
    evaluate.add_argument("run", help="run directory written by 'age train'")
    _risk_args(evaluate)
    evaluate.set_defaults(func=_evaluate)

    utk = age_sub.add_parser(
        "utkface", help="download UTKFace and convert it to labels.csv + final_files/",
        description="Downloads UTKFace.tar.gz (Hugging Face copy, SHA-256 checked) into "
                    "--download-dir unless --source names an extracted copy; copies every "
                    "photo named [age]_[gender]_[race]_[date&time].jpg to OUT/final_files/ and "
                    "writes OUT/labels.csv; malformed names are listed, not converted.")
    utk.add_argument("--out", required=True, help="faces folder to write")
    utk.add_argument("--source", help="an extracted UTKFace folder (skips the download)")
    utk.add_argument("--download-dir", default=str(DATA_DIR / "utkface_download"),
                     help="where the archive goes (default: WORKDIR's data/utkface_download)")
    utk.add_argument("--limit", type=positive_int, help="convert only the first N photos")
    utk.set_defaults(func=_utkface)
