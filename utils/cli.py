"""The ``actionlab`` command (also ``python -m utils``).

Each command group registers its own sub-commands; handlers return an exit code. A bad input
(:class:`utils.errors.InputError`) is printed as one line on stderr with exit code 2; Ctrl-C as
one line with exit code 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from utils import __version__
from utils.age import cli as age_cli
from utils.alerts import cli as alerts_cli
from utils.anomaly import cli as anomaly_cli
from utils.bench import cli as bench_cli
from utils.cliargs import Parser
from utils.course import cli as course_cli
from utils.datasets import cli as datasets_cli
from utils.deploy.cli import add_deploy
from utils.errors import InputError
from utils.finetune import cli as finetune_cli


def _labs_run(args: argparse.Namespace) -> int:
    from utils.labs import lab_name, run_all

    runs = run_all(Path(args.out).resolve(), smoke=args.smoke, data=args.data)
    for run in runs:
        print(f"{lab_name(run.notebook)}: {run.seconds:.0f} s -> {run.output}")
    total = sum(run.seconds for run in runs)
    print(f"total: {total:.0f} s ({total / 60:.1f} min) for {len(runs)} notebooks")
    print(f"Results (executed notebooks, figures, JSON) are in {Path(args.out).resolve()}")
    return 0


def _add_labs(sub: argparse._SubParsersAction) -> None:
    labs = sub.add_parser("labs", help="run the lab notebooks")
    labs_sub = labs.add_subparsers(dest="command", required=True)
    run = labs_sub.add_parser("run", help="execute every lab notebook in order")
    run.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    run.add_argument("--data", default="auto", choices=["auto", "real", "synthetic"],
                     help="data mode passed to every notebook (default: auto)")
    run.add_argument("--smoke", action="store_true",
                     help="synthetic data and the small test sizes of each notebook")
    run.set_defaults(func=_labs_run)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="actionlab",
        description="Action recognition and shoplifting detection lab suite.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="group", required=True)
    data = sub.add_parser("data", help="generate, check and split datasets")
    data_sub = data.add_subparsers(dest="command", required=True)
    synth = data_sub.add_parser("synth", help="write a synthetic dataset in the real format")
    synth_sub = synth.add_subparsers(dest="kind", required=True)
    # Each group's module defines its arguments and handlers; heavy imports stay inside handlers.
    alerts_cli.add_synth(synth_sub)
    datasets_cli.add_synth(synth_sub)
    anomaly_cli.add_synth(synth_sub)
    datasets_cli.add_data_commands(data_sub)
    alerts_cli.add_alerts(sub)
    anomaly_cli.add_anomaly(sub)
    finetune_cli.add_finetune(sub)
    age_cli.add_age(sub)
    bench_cli.add_commands(sub)
    _add_labs(sub)
    course_cli.add_course(sub)
    add_deploy(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(f"actionlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's code for SIGINT (128 + 2)
        print("actionlab: interrupted", file=sys.stderr)
        return 130
