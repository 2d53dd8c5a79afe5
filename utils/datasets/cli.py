"""``actionlab data synth kinetics|dcsass``, ``data check``, ``data split`` and
``data download``.

``ROOT`` is a DCSASS folder (the unzip folder, either copy, or the Kaggle cache) or a Kinetics
sample folder (clips named ``{label}-{youtube_id}-{start}-{end}.mp4``); which one is detected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils.cliargs import add_seed, non_negative_int, positive_int, print_left_out
from utils.errors import InputError

CATEGORY_HELP = "DCSASS category (default: Shoplifting; ignored for a Kinetics sample)"


def _synth_kinetics(args: argparse.Namespace) -> int:
    from utils.datasets.synth import ClipSize, write_synthetic_kinetics

    size = ClipSize(args.height, args.width, frames=args.frames)
    out = write_synthetic_kinetics(args.out, seed=args.seed, classes=args.classes,
                                   clips_per_class=args.clips_per_class, size=size)
    print(f"wrote {args.classes * args.clips_per_class} synthetic Kinetics clips "
          f"({args.classes} classes, seed {args.seed}) to {out}")
    return 0


def _synth_dcsass(args: argparse.Namespace) -> int:
    from utils.datasets.synth import ClipSize, write_synthetic_dcsass

    size = ClipSize(args.height, args.width, frames=args.frames)
    out = write_synthetic_dcsass(args.out, seed=args.seed, category=args.category,
                                 videos=args.videos, clips_per_video=args.clips_per_video,
                                 size=size, both_copies=args.both_copies)
    print(f"wrote {args.videos * args.clips_per_video} synthetic DCSASS {args.category} clips "
          f"({args.videos} source videos, seed {args.seed}) to {out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from utils.anomaly.ucsd import is_ucsd, load_ucsd
    from utils.datasets.folders import dataset_rows, open_dataset
    from utils.io import json_text

    if is_ucsd(args.root):
        ucsd = load_ucsd(args.root, args.subset)
        print(json_text(ucsd.to_dict()) if args.json else ucsd.to_text())
        return 0
    report = open_dataset(args.root, args.category, decode=True)
    print(json_text(report.to_dict()) if args.json else report.to_text())
    if not dataset_rows(report)[0]:
        print(f"actionlab: error: {args.root}: no readable labelled clip", file=sys.stderr)
        return 2
    return 0


def _split(args: argparse.Namespace) -> int:
    from utils.datasets.folders import dataset_rows, open_dataset
    from utils.datasets.splits import grouped_split, split_summary, write_split_csv

    report = open_dataset(args.root, args.category)
    clips, groups, labels = dataset_rows(report)
    if not clips:
        raise InputError(f"{args.root}: no readable labelled clip to split")
    frame = grouped_split(clips, groups, labels, val=args.val, test=args.test, seed=args.seed)
    path = write_split_csv(frame, args.out)
    print(split_summary(frame).to_string())
    print_left_out(report.left_out(), "clips left out of the split")
    print(f"wrote {len(frame)} clips (seed {args.seed}) to {path}")
    return 0


def _download(args: argparse.Namespace) -> int:
    from utils.datasets import download
    from utils.datasets.dcsass import DCSASS_DIR
    from utils.datasets.kinetics import KINETICS_SAMPLE_DIR

    if args.dataset == "dcsass":
        root = download.download_dcsass(args.out or DCSASS_DIR)
        print(f"DCSASS is at {root}")
        return 0
    from utils.datasets.cvdf import ANNOTATIONS_NAME, VAL_CSV_URL, download_kinetics_cvdf

    out = Path(args.out or KINETICS_SAMPLE_DIR)
    if args.source == "cvdf":
        cvdf = download_kinetics_cvdf(out, per_class=args.per_class, classes=args.classes,
                                      parts=args.parts)
        print(cvdf.to_text())
        print(f"Kinetics sample (labels in {ANNOTATIONS_NAME}) is at {out}")
        return 0
    from utils.download import fetch

    annotations = args.annotations or fetch(VAL_CSV_URL, out / ANNOTATIONS_NAME)
    report = download.download_kinetics_sample(
        annotations, out, per_class=args.per_class, classes=args.classes, seed=args.seed)
    print(report.to_text())
    return 0


def _add_size(parser: argparse.ArgumentParser, frames: int) -> None:
    parser.add_argument("--height", type=positive_int, default=240,
                        help="frame height (default: 240)")
    parser.add_argument("--width", type=positive_int, default=320,
                        help="frame width (default: 320)")
    parser.add_argument("--frames", type=positive_int, default=frames,
                        help=f"frames per clip at 30 fps, at least 16 (default: {frames})")


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """Register ``data synth kinetics`` and ``data synth dcsass``."""
    kinetics = synth_sub.add_parser(
        "kinetics", help="write a synthetic Kinetics sample folder in the real naming",
        description="Clips named {label}-{youtube_id}-{start}-{end}.mp4 (real Kinetics labels); "
                    "each class is a shape moving in its own direction and speed.")
    kinetics.add_argument("--out", required=True, help="folder to write the clips into")
    add_seed(kinetics)
    kinetics.add_argument("--classes", type=positive_int, default=4,
                          help="number of classes (default: 4)")
    kinetics.add_argument("--clips-per-class", type=positive_int, default=3,
                          help="clips per class (default: 3)")
    _add_size(kinetics, 60)
    kinetics.set_defaults(func=_synth_kinetics)

    dcsass = synth_sub.add_parser(
        "dcsass", help="write a synthetic DCSASS folder in the real layout",
        description="'DCSASS Dataset/Labels/<Category>.csv' (headerless, one malformed row) and "
                    "clips in '<Category>NNN_x264.mp4/' folders; positives show an item taken "
                    "into a pocket (~17%% of clips).")
    dcsass.add_argument("--out", required=True, help="unzip folder to write 'DCSASS Dataset/' into")
    add_seed(dcsass)
    dcsass.add_argument("--videos", type=positive_int, default=6, help="source videos (default: 6)")
    dcsass.add_argument("--clips-per-video", type=positive_int, default=8,
                        help="clips per source video (default: 8)")
    dcsass.add_argument("--category", default="Shoplifting", help="category name (default: "
                                                                  "Shoplifting)")
    dcsass.add_argument("--both-copies", action="store_true",
                        help="also write the zip's second copy under 'dcsass dataset/'")
    _add_size(dcsass, 60)
    dcsass.set_defaults(func=_synth_dcsass)


def add_data_commands(data_sub: argparse._SubParsersAction) -> None:
    """Register ``data check``, ``data split`` and ``data download``."""
    check = data_sub.add_parser(
        "check", help="count a DCSASS or Kinetics-sample folder and name every bad clip or row",
        description="Counts per label/class and per source video; names every labelled clip "
                    "that is missing or unreadable and every malformed label row. Exit 0 when "
                    "at least one labelled clip is readable, 2 otherwise.")
    check.add_argument("root", help="DCSASS folder (unzip folder, either copy, Kaggle cache) or "
                                    "Kinetics sample folder")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--category", default="Shoplifting", help=CATEGORY_HELP)
    check.add_argument("--subset", default="UCSDped2", choices=["UCSDped1", "UCSDped2"],
                       help="UCSD subset to check (default: UCSDped2; only for a UCSD folder)")
    check.set_defaults(func=_check)

    split = data_sub.add_parser(
        "split", help="write a train/val/test split grouped by source video",
        description="No source video in two splits (clips of one video are near duplicates); "
                    "groups are dealt so each split keeps the label balance. Writes "
                    "clip,source_video,label,split for every readable labelled clip.")
    split.add_argument("root", help="DCSASS or Kinetics sample folder")
    split.add_argument("--out", required=True, help="CSV file to write")
    add_seed(split)
    split.add_argument("--val", type=float, default=0.15, help="validation fraction (default: "
                                                               "0.15)")
    split.add_argument("--test", type=float, default=0.15, help="test fraction (default: 0.15)")
    split.add_argument("--category", default="Shoplifting", help=CATEGORY_HELP)
    split.set_defaults(func=_split)

    download = data_sub.add_parser(
        "download", help="download DCSASS (Kaggle) or a Kinetics sample (CVDF or YouTube)",
        description="Resumable; when the download cannot run, prints what to fetch by hand. "
                    "With ACTIONLAB_MIRROR=http://host:port every https://HOST/PATH is fetched "
                    "from $ACTIONLAB_MIRROR/HOST/PATH.")
    download.add_argument("dataset", choices=["dcsass", "kinetics"], help="which dataset")
    download.add_argument("--out", help="destination (default: data/dcsass or "
                                        "data/kinetics_sample)")
    download.add_argument("--source", choices=["cvdf", "youtube"], default="cvdf",
                          help="Kinetics: cvdf = stream a CVDF validation archive, labels from "
                               "its val.csv (default); youtube = one download per clip")
    download.add_argument("--parts", type=non_negative_int, nargs="+", default=[0],
                          help="Kinetics cvdf: validation archive parts to stream, in order, "
                               "until every class is full (default: 0)")
    download.add_argument("--annotations", help="Kinetics youtube: a DeepMind annotation CSV "
                                                "(default: CVDF's val.csv, downloaded)")
    download.add_argument("--per-class", type=positive_int, default=2,
                          help="Kinetics: clips per class (default: 2)")
    download.add_argument("--classes", nargs="+", help="Kinetics: only these class names")
    download.add_argument("--seed", type=int, default=0,
                          help="Kinetics: seed of the clip choice (default: 0)")
    download.set_defaults(func=_download)
