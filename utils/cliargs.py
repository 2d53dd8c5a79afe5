"""The flags every ``actionlab`` command shares, defined once so that they mean the same thing
everywhere: ``--device`` (default ``auto``), ``--weights`` (``default|none|PATH``), ``--out``,
``--seed`` and integer counts that must be positive (or non-negative).

A bad value is rejected while parsing, as one line ``actionlab ...: error: ...`` with exit
code 2 (:class:`Parser`), before anything runs: ``score --batch-size 0`` would otherwise make a
single batch of every clip, ``demo --top-k -1`` show nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import NoReturn

WEIGHTS_HELP = ("default = the published checkpoint (downloaded once; offline: the error says "
                "where to put it), none = random weights (results labelled as such), or a PATH "
                "to a checkpoint (default: default)")
DEVICE_HELP = "auto (CUDA when present), cpu or cuda (default: auto)"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr, exit code 2 (like InputError);
    ``--help`` still shows the usage. Sub-parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum``, else a parse error naming the value."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value
    parse.__name__ = "positive_int" if minimum == 1 else f"int_at_least_{minimum}"
    return parse


positive_int = at_least(1)
non_negative_int = at_least(0)


def weights_arg(value: str) -> str | None:
    """``--weights`` as build_model takes it: "none" -> None, else "default" or a path."""
    return None if value == "none" else value


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", default="default", metavar="default|none|PATH",
                        help=WEIGHTS_HELP)


def add_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")


def add_out(parser: argparse.ArgumentParser, help: str, *, required: bool = True,
            metavar: str | None = None) -> None:
    """``--out``: what a command writes (``help`` says which file or folder)."""
    parser.add_argument("--out", required=required, metavar=metavar, help=help)


def print_left_out(left_out: Mapping[str, str], what: str) -> None:
    """Every command names each input it skipped and why, the same way (nothing is dropped
    silently): ``<n> <what>:`` then one ``  name: reason`` line each."""
    if left_out:
        print(f"{len(left_out)} {what}:")
        for name, reason in left_out.items():
            print(f"  {name}: {reason}")
