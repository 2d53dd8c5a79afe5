"""``actionlab anomaly train|score|evaluate``: next-frame-prediction anomaly detection on a
UCSD-layout folder (real UCSD Ped1/Ped2 or ``data synth``'s stand-in)."""

from __future__ import annotations

import argparse

from utils.cliargs import add_device, add_seed, positive_int
from utils.errors import InputError

ROOT_HELP = ("UCSD folder: UCSDped2 itself, its parent, or the archive's folder "
             "(UCSD_Anomaly_Dataset.v1p2)")


def _train(args: argparse.Namespace) -> int:
    from utils.anomaly.pipeline import train_ucsd
    from utils.anomaly.train import TrainConfig, save_checkpoint
    from utils.io import check_target
    from utils.settings import resolve_device

    check_target(args.out)  # before training, not after it
    if any(s % 4 for s in args.size):
        raise InputError(f"--size must be multiples of 4, got {args.size[0]} {args.size[1]}")
    config = TrainConfig(context=args.context, width=args.width, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                         size=(args.size[0], args.size[1]))
    result = train_ucsd(args.root, config, subset=args.subset,
                        device=resolve_device(args.device))
    path = save_checkpoint(result, args.out)
    print(f"trained {args.epochs} epochs (last training MSE {result.losses[-1]:.6f}); "
          f"checkpoint: {path}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from utils.anomaly.pipeline import score_ucsd
    from utils.settings import resolve_device

    table = score_ucsd(args.root, args.checkpoint, args.out, subset=args.subset,
                       batch_size=args.batch_size, device=resolve_device(args.device))
    print(f"scored {len(table)} frames of {table['video'].nunique()} videos; tables in {args.out}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from utils.anomaly.pipeline import evaluate_folder
    from utils.io import json_text, write_json

    result = evaluate_folder(args.scores, folds=args.folds, seed=args.seed, n_boot=args.n_boot)
    if args.json:
        write_json(result, args.json)
    for name in ("auc_regularity", "auc_forest"):
        auc = result[name]
        print(f"{name}: {auc['estimate']:.3f} (95% interval by video {auc['low']:.3f}-"
              f"{auc['high']:.3f})")
    if args.verbose:
        print(json_text(result))
    return 0


def add_anomaly(sub: argparse._SubParsersAction) -> None:
    """Register ``anomaly train``, ``anomaly score`` and ``anomaly evaluate``."""
    group = sub.add_parser("anomaly", help="anomaly detection by next-frame prediction (UCSD)")
    commands = group.add_subparsers(dest="command", required=True)

    train = commands.add_parser(
        "train", help="train the next-frame predictor on the Train videos (normal only)",
        description="Reads ROOT/Train/*/*.tif, writes one checkpoint (--out, atomic; loads "
                    "with torch.load(weights_only=True)).")
    train.add_argument("root", help=ROOT_HELP)
    train.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    train.add_argument("--epochs", type=positive_int, default=10, help="epochs (default: 10)")
    train.add_argument("--size", type=positive_int, nargs=2, default=[64, 96],
                       metavar=("HEIGHT", "WIDTH"),
                       help="frames are resized to this, multiples of 4 (default: 64 96)")
    train.add_argument("--context", type=positive_int, default=4,
                       help="past frames the model reads (default: 4)")
    train.add_argument("--width", type=positive_int, default=16,
                       help="channels of the first U-Net level (default: 16)")
    train.add_argument("--batch-size", type=positive_int, default=16, help="default: 16")
    train.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default: "
                                                              "0.002)")
    add_seed(train)
    train.set_defaults(func=_train)

    score = commands.add_parser(
        "score", help="score every Test video: per-frame errors, PSNR, regularity",
        description="Writes OUT/<TestNNN>.parquet per video (video, frame, mse, p50, p90, p99, "
                    "err_std, psnr, regularity, anomaly_score, label from the .m file).")
    score.add_argument("root", help=ROOT_HELP)
    score.add_argument("--checkpoint", required=True, help="checkpoint from 'anomaly train'")
    score.add_argument("--out", required=True, help="folder for the Parquet tables")
    score.add_argument("--batch-size", type=positive_int,
                       help="frames per forward (default: 32 on a GPU; on the CPU, as many "
                            "as 4 frames of 64x96 hold in pixels)")
    score.set_defaults(func=_score)

    evaluate = commands.add_parser(
        "evaluate", help="frame ROC-AUC of the regularity score and of a grouped-CV forest",
        description="Reads the Parquet tables of SCORES; prints both AUCs with intervals by "
                    "video; --json writes every number (and the permutation importances).")
    evaluate.add_argument("scores", help="folder of Parquet tables from 'anomaly score'")
    evaluate.add_argument("--json", help="JSON file to write the results to")
    evaluate.add_argument("--folds", type=positive_int, default=4,
                          help="GroupKFold folds, at most one per video (default: 4)")
    evaluate.add_argument("--n-boot", type=positive_int, default=1000,
                          help="bootstrap resamples of videos (default: 1000)")
    add_seed(evaluate)
    evaluate.add_argument("--verbose", action="store_true", help="also print the JSON")
    evaluate.set_defaults(func=_evaluate)
    add_download(commands)
    for parser in (train, score):
        parser.add_argument("--subset", default="UCSDped2", choices=["UCSDped1", "UCSDped2"],
                            help="default: UCSDped2")
        add_device(parser)


def _download(args: argparse.Namespace) -> int:
    from utils.anomaly.download import UCSD_URL, download_ucsd
    from utils.anomaly.ucsd import UCSD_DIR

    path = download_ucsd(args.out or UCSD_DIR, url=args.url or UCSD_URL, subset=args.subset)
    print(f"UCSD {args.subset} is at {path}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from utils.anomaly.synth import write_synthetic_ucsd

    out = write_synthetic_ucsd(args.out, seed=args.seed, train_videos=args.train_videos,
                               test_videos=args.test_videos, frames=args.frames,
                               height=args.height, width=args.width)
    print(f"wrote a synthetic UCSDped2 ({args.train_videos} train, {args.test_videos} test "
          f"videos of {args.frames} frames, seed {args.seed}) to {out}")
    return 0


def add_download(commands: argparse._SubParsersAction) -> None:
    """``anomaly download``: the UCSD archive into data/ucsd."""
    download = commands.add_parser(
        "download", help="download and unpack UCSD's public archive (about 700 MB)",
        description="Reuses an archive or an unpacked copy already in --out; when the download "
                    "cannot run, says what to fetch by hand and where to put it.")
    download.add_argument("--out", help="destination folder (default: data/ucsd)")
    download.add_argument("--url", help="archive URL (default: UCSD's own)")
    download.add_argument("--subset", default="UCSDped2", choices=["UCSDped1", "UCSDped2"],
                          help="default: UCSDped2")
    download.set_defaults(func=_download)


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """``data synth ucsd``."""
    synth = synth_sub.add_parser(
        "ucsd", help="write a synthetic UCSDped2 folder in the real layout",
        description="UCSDped2/Train/TrainNNN/*.tif, Test/TestNNN/*.tif, Test/TestNNN_gt/*.bmp "
                    "and Test/UCSDped2.m; test videos hold a planted fast object or "
                    "wrong-way mover.")
    synth.add_argument("--out", required=True, help="folder to write UCSDped2/ into")
    add_seed(synth)
    synth.add_argument("--train-videos", type=positive_int, default=4, help="default: 4")
    synth.add_argument("--test-videos", type=positive_int, default=4, help="default: 4")
    synth.add_argument("--frames", type=positive_int, default=40,
                       help="frames per video, at least 12 (default: 40)")
    synth.add_argument("--height", type=positive_int, default=64, help="default: 64")
    synth.add_argument("--width", type=positive_int, default=96, help="default: 96")
    synth.set_defaults(func=_synth)
