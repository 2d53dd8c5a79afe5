"""The flags every command shares mean the same thing everywhere (utils/cliargs.py): one table over
every ``actionlab`` command, read from the parser itself, so a new command is checked too.

Per command: ``--device`` defaults to ``auto``, ``--weights`` to ``default`` (both with the shared
help), ``--seed`` is an integer defaulting to 0, ``--out`` is a plain string; no integer option is a
bare ``int`` (counts are positive or non-negative); ``--top-k`` is spelt so. Then every count
option is given 0 (or -1): argparse stops with exit code 2 and one line naming the flag.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from utils.cli import build_parser
from utils.cliargs import DEVICE_HELP, WEIGHTS_HELP, non_negative_int, positive_int
from utils.paths import REPO_ROOT

COUNTS = (positive_int, non_negative_int)


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
             ) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every leaf command: {("data", "synth", "kinetics"): its parser, ...}."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in subs:
        for name, sub in action.choices.items():
            found |= commands(sub, (*path, name))
    return found if subs else {path: parser}


ALL = commands(build_parser())
OPTIONS = {path: {s: a for a in parser._actions for s in a.option_strings}
           for path, parser in ALL.items()}
BAD_COUNTS = [pytest.param(path, flag, "0" if action.type is positive_int else "-1",
                           id=f"{' '.join(path)} {flag}")
              for path, options in OPTIONS.items() for flag, action in options.items()
              if action.type in COUNTS and flag.startswith("--")]


def test_the_table_holds_every_command() -> None:
    names = {" ".join(path) for path in ALL}
    assert {"bench", "predict", "export", "demo", "detect", "finetune", "score",
            "alerts report", "data synth kinetics", "labs run"} <= names
    assert len(BAD_COUNTS) >= 25


@pytest.mark.parametrize("path", list(ALL), ids=[" ".join(p) for p in ALL])
def test_shared_flags_mean_the_same_everywhere(path: tuple[str, ...]) -> None:
    options = OPTIONS[path]
    if "--device" in options:
        assert (options["--device"].default, options["--device"].help) == ("auto", DEVICE_HELP)
    if "--weights" in options:
        weights = options["--weights"]
        assert (weights.default, weights.help, weights.choices) == ("default", WEIGHTS_HELP, None)
    if "--seed" in options:
        assert (options["--seed"].type, options["--seed"].default) == (int, 0)
    if "--out" in options:
        assert options["--out"].dest == "out" and options["--out"].type is None
    assert "--topk" not in options
    bare = [flag for flag, action in options.items() if action.type is int and flag != "--seed"]
    assert not bare, f"integer options without a range check: {bare}"


@pytest.mark.parametrize(("path", "flag", "value"), BAD_COUNTS)
def test_a_non_positive_count_is_one_line_and_exit_2(path: tuple[str, ...], flag: str, value: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from utils.cli import main

    nargs = OPTIONS[path][flag].nargs
    with pytest.raises(SystemExit) as done:  # every value of a multi-value option bad
        main([*path, flag, *[value] * (nargs if isinstance(nargs, int) else 1)])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err.count("\n") == 1 and err.startswith(f"actionlab {' '.join(path)}: error: "), err
    assert f"argument {flag}" in err and repr(value) in err


def test_the_installed_command_prints_the_same_line() -> None:
    """Through the real entry point (``python -m utils``): stderr is one line, exit code 2."""
    done = subprocess.run([sys.executable, "-m", "utils", "demo", "--top-k", "-1"],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr == ("actionlab demo: error: argument --top-k: expected an integer >= 1, "
                           "got '-1'\n")
