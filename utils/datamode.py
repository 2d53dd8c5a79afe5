"""The ``DATA`` switch of every notebook and command: ``"auto"`` | ``"real"`` | ``"synthetic"``.

``auto`` means: the real data already in WORKDIR -> else a small real sample downloaded (the
``fetch_real`` callable a caller passes) -> else the generated stand-in in the same format, with
the banner saying why. ``real`` never falls back: missing data that cannot be fetched is an
InputError. Results computed on synthetic data are flagged so nobody mistakes them for findings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from utils.errors import InputError

MODES = ("auto", "real", "synthetic")


# ``fetch_real(real_path)`` downloads a small real sample to ``real_path`` and returns where it
# is; it raises OSError or InputError (with the reason) when it cannot, e.g. offline.
FetchReal = Callable[[Path], Path]


def fetch_into(fill: Callable[[Path], object]) -> FetchReal:
    """A FetchReal that runs ``fill(<target>.partial)`` and renames that folder to the target
    only once it returns: an interrupted download is resumed by the next run instead of being
    taken for the real data (an existing target counts as "found in WORKDIR")."""
    def fetch_real(target: Path) -> Path:
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        fill(partial)
        os.replace(partial, target)
        return target
    return fetch_real


@dataclass(frozen=True)
class DataChoice:
    path: Path
    synthetic: bool
    why: str = field(default="", compare=False)  # how it was chosen (shown in the banner)

    @property
    def banner(self) -> str:
        if not self.synthetic:
            return f"Real data: {self.path}" + (f" ({self.why})" if self.why else "")
        return (
            f"SYNTHETIC DATA: {self.why or 'the real dataset was not found'}, so a generated "
            f"stand-in in the same format is used ({self.path}). The code path is the real one; "
            "the numbers are not findings about the real data."
        )


def choose_data(mode: str, real_path: Path, make_synthetic: Callable[[], Path],
                fetch_real: FetchReal | None = None) -> DataChoice:
    """Resolve ``mode`` to a data location (module docstring for the rule); the synthetic data
    are generated, and a sample downloaded, only when used."""
    if mode not in MODES:
        raise InputError(f"DATA must be one of {MODES}, got {mode!r}")
    if mode == "synthetic":
        return DataChoice(make_synthetic(), synthetic=True, why="DATA='synthetic' was asked for")
    if real_path.exists():
        return DataChoice(real_path, synthetic=False, why="found in WORKDIR")
    if fetch_real is None:
        reason = f"{real_path} does not exist and no download is available for it"
    else:
        try:
            return DataChoice(fetch_real(real_path), synthetic=False,
                              why="fetched into WORKDIR (downloaded or uploaded)")
        except (OSError, InputError) as exc:
            reason = f"{real_path} does not exist and could not be fetched ({exc})"
    if mode == "real":
        raise InputError(f"DATA='real' but {reason}: see data/README.md for how to get it")
    return DataChoice(make_synthetic(), synthetic=True, why=reason)


def show_banner(choice: DataChoice) -> None:
    """Display the data banner in a notebook (plain print elsewhere)."""
    try:
        from IPython.display import HTML, display

        colour = "#fde2e2" if choice.synthetic else "#e2f5e2"
        display(HTML(f'<div style="background:{colour};padding:8px;border-radius:4px">'
                     f"<b>{choice.banner}</b></div>"))
    except ImportError:  # pragma: no cover - IPython ships with jupyter
        print(choice.banner)
