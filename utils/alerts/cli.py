"""``actionlab alerts …`` and ``actionlab data synth alerts``.

``SRC`` is a file (.csv, .csv.gz, .parquet) or an SQLAlchemy URL (``sqlite:///alerts.db``,
``postgresql://…``) with ``--table``. ``alerts curve`` is the per-camera production job: it reads
only one camera's rows and writes that camera's summary, so cameras can run anywhere, in
parallel; ``alerts plan --curves DIR`` then combines whichever summaries are in DIR.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from utils.errors import InputError

if TYPE_CHECKING:
    from utils.alerts.curves import CameraCurve

SOURCE_HELP = "alerts file (.csv, .csv.gz, .parquet) or SQLAlchemy URL (e.g. sqlite:///alerts.db)"
METHOD_CHOICES = ("exact", "greedy", "milp", "exhaustive")


def curve_stem(store: str, camera: str) -> str:
    """File stem of a camera's outputs, ``<store>_camera_<id>`` (unsafe characters -> ``-``)."""
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "-"
    return f"{safe(store)}_camera_{safe(camera)}"


def run_actionlab(*args: str | Path) -> str:
    """Run ``actionlab ARGS…`` as a separate process (as a cron job or a worker would) and return
    its stdout; a failure raises with the command's own error line.

    ``python -m utils`` with this interpreter, so it works in notebooks, papermill and Colab
    where the ``actionlab`` script may not be on PATH.
    """
    import os
    import subprocess

    from utils.paths import REPO_ROOT

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    command = [sys.executable, "-m", "utils", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        error = InputError if done.returncode == 2 else RuntimeError
        raise error(f"actionlab {' '.join(map(str, args))} exited {done.returncode}: {message}")
    return done.stdout


def _add_table(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table", default="alerts",
                        help="table to read when SRC is an SQL URL (default: alerts)")


def _add_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, metavar="SRC", help=SOURCE_HELP)
    _add_table(parser)


# ---------------------------------------------------------------------------------- handlers


def _synth(args: argparse.Namespace) -> int:
    from utils.alerts.synth import KNOWN_SHAPE, write_synthetic_alerts

    rows = KNOWN_SHAPE["rows"] if args.rows is None else args.rows
    path = write_synthetic_alerts(args.out, seed=args.seed, n_rows=rows)
    print(f"wrote {rows:,} synthetic alert rows (seed {args.seed}) to {path}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from utils.alerts.validate import load_alerts

    _, report = load_alerts(args.source, table=args.table)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_text())
    return 0


def _curve(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")

    from utils.alerts.curves import camera_curve
    from utils.alerts.report import write_camera_files
    from utils.alerts.validate import load_alerts

    clean, report = load_alerts(args.source, table=args.table, store=args.store,
                                camera=args.camera)
    if clean.empty:
        raise InputError(f"{args.source}: no usable row for store {args.store!r} camera "
                         f"{args.camera!r} ({report.rows} read, {report.excluded} excluded)")
    curve = camera_curve(clean["probability"], clean["is_theft"], store=args.store,
                         camera=args.camera)
    # The curve summary, plus what was read and excluded for this camera.
    image = write_camera_files(curve, args.out, {"validation": report.to_dict()})
    print(f"{args.store}/{args.camera}: {report.rows} rows read, {report.excluded} excluded, "
          f"{curve.tp_before} thefts, {curve.fp_before} false positives, "
          f"{len(curve.tp_lost)} Pareto points -> {image} and its .json")
    return 0


def _read_curves(folder: str) -> list[CameraCurve]:
    from utils.alerts.curves import CameraCurve

    files = sorted(Path(folder).glob("*.json"))
    if not files:
        raise InputError(f"{folder}: no camera summary (*.json) found; run `alerts curve` first")
    curves, seen = [], {}
    for path in files:
        try:
            curve = CameraCurve.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a camera curve summary ({exc!r})") from exc
        if curve.key in seen:
            raise InputError(f"{path}: camera {curve.store}/{curve.camera} already read from "
                             f"{seen[curve.key]}")
        seen[curve.key] = path.name
        curves.append(curve)
    return sorted(curves, key=lambda c: c.key)


def _plan(args: argparse.Namespace) -> int:
    from utils.alerts.planning import plan_thresholds
    from utils.io import to_jsonable, write_json

    if not 0 < args.target_fp_reduction <= 1:  # before reading any data
        raise InputError(f"--target-fp-reduction must be in (0, 1], got {args.target_fp_reduction}")
    if args.curves is not None:
        curves = _read_curves(args.curves)
    else:
        from utils.alerts.curves import camera_curves
        from utils.alerts.validate import load_alerts

        clean, _ = load_alerts(args.source, table=args.table)
        curves = camera_curves(clean)
    # Progress bars only on a terminal: scheduled runs keep clean logs.
    quiet = {"progress": sys.stderr.isatty()} if args.method in ("exact", "exhaustive") else {}
    floor = {"max_threshold": args.max_threshold, "min_recall": args.min_recall}
    plan = plan_thresholds(curves, args.target_fp_reduction, args.method, **floor,
                           **quiet).to_dict()
    if any(v is not None for v in floor.values()):
        plan["floor"] = floor
    if args.out is None:
        print(json.dumps(to_jsonable(plan), indent=2, allow_nan=False))
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
                           n_boot=args.n_boot, n_perm=args.n_perm)
    validation = summary["validation"]
    print(f"{validation['rows']:,} rows, {validation['excluded']:,} excluded, "
          f"{summary['cameras']['total']} cameras: report written to {args.out}")
    return 0


# ------------------------------------------------------------------------------ registration


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """Register ``data synth alerts``."""
    parser = synth_sub.add_parser(
        "alerts", help="write a synthetic production-alerts CSV in the real format",
        description="Write a `;`-separated alerts CSV with the known copy's shape "
                    "(scaled down for fewer rows). Same seed and size: identical bytes.")
    parser.add_argument("--out", required=True, help="CSV file to write (.csv or .csv.gz)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--rows", type=int,
                        help="number of rows (default: 158136, the size of the known copy)")
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
    plan.set_defaults(func=_plan)

    report = commands.add_parser(
        "report", help="every figure and table of lab 3 (Q1-Q3) into a folder")
    _add_source(report)
    report.add_argument("--out", required=True, help="output folder")
    report.add_argument("--seed", type=int, default=0,
                        help="seed of the bootstrap and permutation tests (default: 0)")
    report.add_argument("--n-boot", type=int, default=1000,
                        help="bootstrap resamples per camera confidence interval (default: 1000)")
    report.add_argument("--n-perm", type=int, default=1000,
                        help="permutations of the heterogeneity test (default: 1000)")
    report.set_defaults(func=_report)

