"""The ``fetch_real`` hooks of ``DATA="auto"`` (utils.datamode): a small real sample
downloaded into WORKDIR when it is not there yet.

Each hook downloads into ``<target>.partial`` and renames it to ``<target>`` only when the
sample is complete, so an interrupted download is resumed by the next run instead of being
taken for the real data (choose_data treats an existing ``<target>`` as "found in WORKDIR").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from utils.datamode import FetchReal
from utils.errors import InputError

KINETICS_PER_CLASS = 1  # clips kept per class from the first CVDF archive part (lab 1's sample)


def _completed(fill: Callable[[Path], Path]) -> FetchReal:
    """A fetch_real that runs ``fill(partial folder)`` and renames the folder into place."""
    def fetch_real(target: Path) -> Path:
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        fill(partial)
        os.replace(partial, target)
        return target
    return fetch_real


def kinetics_cvdf(per_class: int = KINETICS_PER_CLASS, *, progress: bool = True) -> FetchReal:
    """Kinetics-400 validation clips from CVDF's first archive part (``per_class`` per class,
    labelled from val.csv): the sample every lab-1 notebook shares under WORKDIR."""
    from utils.datasets.cvdf import download_kinetics_cvdf

    def fill(folder: Path) -> Path:
        report = download_kinetics_cvdf(folder, per_class=per_class, progress=progress)
        print(report.to_text())
        if not report.kept and not report.present:
            raise InputError(f"no labelled clip in {', '.join(report.parts)}")
        return folder
    return _completed(fill)


def dcsass_kaggle(*, progress: bool = True) -> FetchReal:
    """DCSASS from Kaggle's public download endpoint (no credentials)."""
    from utils.datasets.download import download_dcsass

    return _completed(lambda folder: download_dcsass(folder, progress=progress))
