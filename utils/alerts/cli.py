"""``actionlab alerts …`` and ``actionlab data synth alerts``.

``SRC`` is a file (.csv, .csv.gz, .parquet) or an SQLAlchemy URL (``sqlite:///alerts.db``,
``postgresql://…``) with ``--table``. ``alerts curve`` is the per-camera production job: it reads
only one camera's rows and writes that camera's summary, so cameras can run anywhere, in
parallel; ``alerts plan --curves DIR`` then combines whichever summaries are in DIR. SRC may
also be a partitioned Parquet dataset; ``--engine dask`` then summarises its partitions on a Dask
cluster (``--scheduler``) and plans from the summaries, with the local engine's results.
"""

from __future__ import annotations

import argparse
import sys

from utils.cliargs import add_seed, positive_int
from utils.errors import InputError

SOURCE_HELP = ("alerts file (.csv, .csv.gz, .tsv, .parquet), Parquet dataset folder or fsspec URL "
               "(hive-partitioned), or SQLAlchemy URL (e.g. sqlite:///alerts.db)")
METHOD_CHOICES = ("exact", "greedy", "milp", "exhaustive")


def _add_table(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", default="alerts",
                        help="table to read when SRC is an SQL URL (default: alerts)")


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, metavar="SRC", help=SOURCE_HELP)
    _add_table(parser)


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", default="local", choices=("local", "dask"),
                        help="local (default: this process) or dask: the partitions of a "
                             "Parquet dataset SRC summarised on a Dask cluster (needs the "
                             "scale extra); other sources are one partition, read locally")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --engine dask: address of a running Dask scheduler "
                             "(tcp://host:8786); default: a 2-worker LocalCluster")
    parser.add_argument("--scratch", metavar="FOLDER",
                        help="with --engine dask: folder or fsspec URL (s3://bucket/tmp) "
                             "every worker can write, for the duplicate check's hash files "
                             "(removed afterwards); default: a temporary folder of this "
                             "machine, refused when workers run elsewhere")


# ---------------------------------------------------------------------------------- handlers


def _synth(args: argparse.Namespace) -> int:
    from utils.alerts.synth import KNOWN_SHAPE, write_synthetic_alerts

    if args.partition_by is not None:
        return _synth_dataset(args)
    if args.cameras is not None:
        raise InputError("--cameras needs --partition-by (a partitioned dataset)")
    rows = KNOWN_SHAPE["rows"] if args.rows is None else args.rows
    path = write_synthetic_alerts(args.out, seed=args.seed, n_rows=rows)
    print(f"wrote {rows:,} synthetic alert rows (seed {args.seed}) to {path}")
    return 0


def _synth_dataset(args: argparse.Namespace) -> int:
    from utils.alerts.synth_dataset import write_partitioned_alerts

    if args.rows is None or args.cameras is None:
        raise InputError("--partition-by needs --rows and --cameras")
    written = write_partitioned_alerts(args.out, rows=args.rows, cameras=args.cameras,
                                       partition_by=args.partition_by, seed=args.seed,
                                       chunk_rows=args.chunk_rows, progress=sys.stderr.isatty())
    print(f"wrote {written['rows']:,} synthetic alert rows of {written['cameras']:,} cameras "
          f"(seed {args.seed}) in {written['files']:,} files partitioned by "
          f"{args.partition_by} to {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from utils.alerts.jobs import validate_job
    from utils.io import json_text

    report = validate_job(args.source, table=args.table, engine=args.engine,
                          scheduler=args.scheduler, scratch=args.scratch)
    print(json_text(report.to_dict()) if args.json else report.to_text())
    return 0


def _curve(args: argparse.Namespace) -> int:
    from utils.alerts.jobs import curve_job

    curve, validation, image = curve_job(args.source, args.out, store=args.store,
                                         camera=args.camera, table=args.table,
                                         engine=args.engine, scheduler=args.scheduler,
                                         scratch=args.scratch)
    print(f"{args.store}/{args.camera}: {validation['rows']} rows read, "
          f"{validation['excluded']} excluded, {curve.tp_before} thefts, {curve.fp_before} false "
          f"positives, {len(curve.tp_lost)} Pareto points -> {image} and its .json")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from utils.alerts.jobs import plan_job
    from utils.io import json_text, write_json

    # Progress bars only on a terminal: scheduled runs keep clean logs.
    plan = plan_job(args.target_fp_reduction, args.method, source=args.source, table=args.table,
                    curves_dir=args.curves, max_threshold=args.max_threshold,
                    min_recall=args.min_recall, progress=sys.stderr.isatty(),
                    engine=args.engine, scheduler=args.scheduler, scratch=args.scratch)
    if args.out is None:
        print(json_text(plan))
    else:
        write_json(plan, args.out)
        total = plan["total"]
        print(f"{args.method} plan for {args.target_fp_reduction:.0%} FP reduction over "
              f"{len(plan['cameras'])} cameras: {total['fp_removed']} of {total['fp_before']} FP "
              f"removed, {total['tp_lost']} of {total['tp_before']} thefts lost -> {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from utils.alerts.report import write_report

    summary = write_report(args.source, args.out, table=args.table, seed=args.seed,
                           n_boot=args.n_boot, n_perm=args.n_perm, engine=args.engine,
                           scheduler=args.scheduler, scratch=args.scratch)
    validation = summary["validation"]
    print(f"{validation['rows']:,} rows, {validation['excluded']:,} excluded, "
          f"{summary['cameras']['total']} cameras: report written to {args.out}")
    return 0


# ------------------------------------------------------------------------------ registration


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """Register ``data synth alerts``."""
    parser = synth_sub.add_parser(
        "alerts", help="write a synthetic production-alerts file in the real format",
        description="Write alerts with the known copy's shape (scaled down for fewer rows): a "
                    "`;`-separated CSV in the export's layout, or Parquet for .parquet. Same "
                    "seed and size: identical bytes.")
    parser.add_argument("--out", required=True,
                        help="file to write: .csv or .csv.gz (the real layout) or .parquet")
    add_seed(parser)
    parser.add_argument("--rows", type=positive_int,
                        help="number of rows (default: 158136, the size of the known copy)")
    parser.add_argument("--cameras", type=positive_int,
                        help="with --partition-by: number of cameras (two per store)")
    parser.add_argument("--partition-by", choices=("store", "month"),
                        help="write a hive-partitioned Parquet dataset into the folder --out, "
                             "in chunks (for --rows in the millions)")
    parser.add_argument("--chunk-rows", type=positive_int, default=500_000,
                        help="with --partition-by: rows generated and written at a time "
                             "(default: 500000)")
    parser.set_defaults(func=_synth)


def add_alerts(sub: argparse._SubParsersAction) -> None:
    """Register the ``alerts`` group."""
    alerts = sub.add_parser("alerts", help="production alerts: validate, per-camera curves, "
                                           "threshold plans, lab-3 report")
    commands = alerts.add_subparsers(dest="command", required=True)

    validate = commands.add_parser(
        "validate", help="read a source and report what is excluded and why",
        description="Counts and names every problem row (missing values, unparsable "
                    "video_name, negative probabilities, duplicates...) and states the policy.")
    _add_source(validate)
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_engine(validate)
    validate.set_defaults(func=_validate)

    curve = commands.add_parser(
        "curve", help="per-camera job: #FP = f(recall) curve of one camera",
        description="Reads only the camera's rows and writes <store>_camera_<id>.png and .json "
                    "(Pareto points and counts) into --out.")
    _add_source(curve)
    curve.add_argument("--store", required=True, help="store name, as in the store column")
    curve.add_argument("--camera", required=True,
                       help="CAMERA_ID, as written in video_name (..._camera_<ID>_ip_...)")
    curve.add_argument("--out", required=True, help="output folder")
    _add_engine(curve)
    curve.set_defaults(func=_curve)

    plan = commands.add_parser(
        "plan", help="per-camera thresholds removing a target share of false positives",
        description="Plans from a source or from per-camera summaries written by `alerts curve` "
                    "(--curves DIR). Writes the plan JSON to --out or stdout.")
    given = plan.add_mutually_exclusive_group(required=True)
    given.add_argument("--source", metavar="SRC", help=SOURCE_HELP)
    given.add_argument("--curves", metavar="DIR",
                       help="folder of per-camera summaries (*.json) from `alerts curve`")
    _add_table(plan)
    plan.add_argument("--target-fp-reduction", required=True, type=float, metavar="F",
                      help="share of false positives to remove, in (0, 1], e.g. 0.3")
    plan.add_argument("--method", default="exact", choices=METHOD_CHOICES,
                      help="exact (default, optimal over all thresholds), greedy, milp, "
                           "exhaustive (small inputs only)")
    plan.add_argument("--max-threshold", type=float, metavar="T",
                      help="floor: no camera threshold above T, so alerts scoring >= T always "
                           "stay, also on cameras without any theft in the data")
    plan.add_argument("--min-recall", type=float, metavar="R",
                      help="floor: every camera with thefts keeps at least R of them (0-1)")
    plan.add_argument("--out", help="plan JSON file to write (default: print to stdout)")
    _add_engine(plan)
    plan.set_defaults(func=_plan)

    report = commands.add_parser(
        "report", help="every figure and table of lab 3 (Q1-Q3) into a folder",
        description="Reads SRC and writes validation, per-camera curves, uniformity tables and "
                    "figures, plans and report.json into --out. The run is written to a fresh "
                    "folder that replaces --out only when complete; an existing --out must be "
                    "empty or an earlier report (it holds report.json).")
    _add_source(report)
    report.add_argument("--out", required=True, help="output folder")
    report.add_argument("--seed", type=int, default=0,
                        help="seed of the bootstrap and permutation tests (default: 0)")
    report.add_argument("--n-boot", type=positive_int, default=1000,
                        help="bootstrap resamples per camera confidence interval (default: 1000)")
    report.add_argument("--n-perm", type=positive_int, default=1000,
                        help="permutations of the heterogeneity test (default: 1000)")
    _add_engine(report)
    report.set_defaults(func=_report)


    from utils.alerts.cli_false_positives import add_false_positive_commands

    add_false_positive_commands(commands, _add_source, _add_engine)
