"""``actionlab data synth kinetics|dcsass``, ``data check`` and ``data split``."""

from __future__ import annotations

import argparse


def add_synth(synth_sub: argparse._SubParsersAction) -> None:
    """Register ``data synth kinetics`` and ``data synth dcsass``."""


def add_data_commands(data_sub: argparse._SubParsersAction) -> None:
    """Register ``data check`` and ``data split``."""
