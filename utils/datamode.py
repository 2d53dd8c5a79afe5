"""The ``DATA`` switch of every notebook: ``"auto"`` | ``"real"`` | ``"synthetic"``.

``auto`` uses the real data when it is present and otherwise generates a synthetic stand-in in the
same format; results computed on synthetic data are flagged so nobody mistakes them for findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from utils.errors import InputError

MODES = ("auto", "real", "synthetic")


@dataclass(frozen=True)
class DataChoice:
    path: Path
    synthetic: bool

    @property
    def banner(self) -> str:
        if not self.synthetic:
            return f"Real data: {self.path}"
        return (
            "SYNTHETIC DATA: the real dataset was not found, so a generated stand-in in the same "
            f"format is used ({self.path}). The code path is the real one; the numbers are not "
            "findings about the real data."
        )


def choose_data(mode: str, real_path: Path, make_synthetic: Callable[[], Path]) -> DataChoice:
    """Resolve ``mode`` to a data location, generating the synthetic data only when it is used."""
    if mode not in MODES:
        raise InputError(f"DATA must be one of {MODES}, got {mode!r}")
    present = real_path.exists()
    if mode == "real" and not present:
        raise InputError(
            f"DATA='real' but {real_path} does not exist: see data/README.md for how to get it"
        )
    if mode in ("real", "auto") and present:
        return DataChoice(real_path, synthetic=False)
    return DataChoice(make_synthetic(), synthetic=True)


def show_banner(choice: DataChoice) -> None:
    """Display the data banner in a notebook (plain print elsewhere)."""
    try:
        from IPython.display import HTML, display

        colour = "#fde2e2" if choice.synthetic else "#e2f5e2"
        display(HTML(f'<div style="background:{colour};padding:8px;border-radius:4px">'
                     f"<b>{choice.banner}</b></div>"))
    except ImportError:  # pragma: no cover - IPython ships with jupyter
        print(choice.banner)
