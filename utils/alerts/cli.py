"""``actionlab alerts …`` and ``actionlab data synth alerts``."""

from __future__ import annotations

import argparse


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """Register ``data synth alerts``."""


def add_alerts(sub: argparse._SubParsersAction) -> None:
    """Register the ``alerts`` group."""
