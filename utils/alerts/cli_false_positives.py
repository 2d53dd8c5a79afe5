"""``actionlab alerts review-queue``, ``alerts review add``, ``alerts hard-negatives`` and
``alerts monitor``: the medium- and long-term follow-up of false positives (lab 3.4).

Each handler parses its arguments and calls one library function.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from utils.cliargs import positive_int


def _queue(args: argparse.Namespace) -> int:
    from utils.alerts.review import queue_job
    from utils.io import atomic_path, json_text

    queue, info = queue_job(args.source, day=args.date, budget=args.budget, table=args.table,
                            plan=args.plan, target_fp_reduction=args.target_fp_reduction)
    if args.out:
        with atomic_path(args.out) as tmp:
            queue.to_csv(tmp, index=False)
    if args.json:
        print(json_text({**info, "queue": queue.to_dict(orient="records")}))
        return 0
    print(f"{info['day']}: {info['queued']} of {info['alerts_that_day']} alerts queued "
          f"({info['already_reviewed']} already reviewed), {info['cameras']} cameras; "
          f"thresholds: {info['thresholds']}" + (f" -> {args.out}" if args.out else ""))
    if len(queue):
        print(queue.to_string(index=False))
    return 0


def _review_add(args: argparse.Namespace) -> int:
    from utils.alerts.review import review_batch
    from utils.alerts.reviews import add_reviews

    batch = review_batch(args.source, args.video, args.verdict, args.reviewer, at=args.at,
                         table=args.table)
    done = add_reviews(args.source, batch)
    print(f"{done.added} review(s) added, {done.already} already stored -> {done.where}")
    return 0


def _hard_negatives(args: argparse.Namespace) -> int:
    from utils.alerts.hard_negatives import hard_negatives_job

    found = hard_negatives_job(args.source, args.out, per_group=args.per_group, table=args.table)
    groups = found.groupby(["store", "camera", "label"]).ngroups if len(found) else 0
    print(f"{len(found)} hard negatives from {groups} (camera, label) groups -> {args.out}")
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from utils.alerts.drift import AlarmRule
    from utils.alerts.monitor import write_monitor

    rule = AlarmRule(alpha=args.alpha, min_psi=args.min_psi, volume_factor=args.volume_factor,
                     min_alerts=args.min_alerts)
    summary = write_monitor(args.source, args.out, reference_weeks=args.reference_weeks,
                            table=args.table, rule=rule, engine=args.engine,
                            scheduler=args.scheduler, scratch=args.scratch)
    print(f"{summary['weeks_monitored']} weeks x {summary['cameras']} cameras monitored: "
          f"{summary['cameras_alarmed']} camera(s) alarmed -> {args.out}")
    return 0


def add_false_positive_commands(commands: argparse._SubParsersAction,
                                add_source: Callable[[argparse.ArgumentParser], None],
                                add_engine: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the commands under ``alerts``; ``add_source`` adds ``--source`` and ``--table``
    as every alerts command has them, ``add_engine`` ``--engine``, ``--scheduler`` and
    ``--scratch``."""
    queue = commands.add_parser(
        "review-queue", help="the alerts to review on a day, nearest each camera's threshold",
        description="Reads SRC and its reviews; takes the alerts of --date not yet reviewed, "
                    "ranks them by distance to their camera's threshold (the exact plan at "
                    "--target-fp-reduction with the reviews applied, or --plan), one camera at a "
                    "time, and prints the first --budget (or writes them to --out as CSV).")
    add_source(queue)
    queue.add_argument("--budget", required=True, type=positive_int, metavar="K",
                       help="reviews available that day")
    queue.add_argument("--date", required=True, metavar="YYYY-MM-DD",
                       help="day of the alerts to queue (start time in video_name)")
    queue.add_argument("--plan", metavar="FILE", help="plan JSON from `alerts plan --out`")
    queue.add_argument("--target-fp-reduction", type=float, default=0.3, metavar="F",
                       help="target of the plan made when --plan is not given (default: 0.3)")
    queue.add_argument("--out", help="CSV file to write the queue to")
    queue.add_argument("--json", action="store_true", help="print the queue as JSON")
    queue.set_defaults(func=_queue)

    review = commands.add_parser("review", help="store reviewers' verdicts with the alerts")
    actions = review.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add", help="record verdicts for videos of the source",
        description="Appends one row per --video to the reviews of SRC (table reviews in its "
                    "database, or <name>.reviews.csv beside the file), in one atomic write. A "
                    "video already reviewed with the same verdict is not added twice; a "
                    "different verdict is refused.")
    add_source(add)
    add.add_argument("--video", required=True, action="append", metavar="VIDEO_NAME",
                     help="video_name of the reviewed alert (repeat for several)")
    add.add_argument("--verdict", required=True, help="theft or normal")
    add.add_argument("--reviewer", required=True, help="who reviewed")
    add.add_argument("--at", help="when, ISO 8601 (default: now; without a zone: UTC)")
    add.set_defaults(func=_review_add)

    hard = commands.add_parser(
        "hard-negatives", help="highest-scoring normal alerts per camera and label, for lab 2",
        description="Reads SRC with its reviews applied and writes to --out (CSV: video_name, "
                    "store, camera, label, score) the --per-group highest-scoring normal alerts "
                    "of every (camera, label): the list `actionlab finetune --extra-negatives` "
                    "reads.")
    add_source(hard)
    hard.add_argument("--per-group", type=positive_int, default=20, metavar="N",
                      help="alerts per (camera, normal label) (default: 20)")
    hard.add_argument("--out", required=True, help="CSV file to write")
    hard.set_defaults(func=_hard_negatives)

    monitor = commands.add_parser(
        "monitor", help="weekly drift per camera against a reference window",
        description="Reads SRC and compares every camera's weekly alerts (count, theft share, "
                    "score distribution: PSI and KS test, corrected across cameras) with its "
                    "first --reference-weeks weeks. Writes drift.csv, alarms.csv, heatmap.png, "
                    "report.md and monitor.json into --out, replaced whole only when complete "
                    "(an existing --out must be empty or an earlier monitor run).")
    add_source(monitor)
    monitor.add_argument("--reference-weeks", required=True, type=positive_int, metavar="N",
                         help="the first N weeks of the data are the reference")
    monitor.add_argument("--out", required=True, help="output folder")
    monitor.add_argument("--alpha", type=float, default=0.01,
                         help="false discovery rate of the alarms (default: 0.01)")
    monitor.add_argument("--min-psi", type=float, default=0.1,
                         help="smallest PSI that raises a score alarm (default: 0.1)")
    monitor.add_argument("--volume-factor", type=float, default=1.5,
                         help="count change (up or down) that raises a volume alarm "
                              "(default: 1.5)")
    monitor.add_argument("--min-alerts", type=positive_int, default=20,
                         help="fewest alerts of a week for a score test (default: 20)")
    add_engine(monitor)
    monitor.set_defaults(func=_monitor)

