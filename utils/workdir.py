"""WORKDIR: the one folder holding data, feature caches, runs and outputs.

Each Colab notebook runs on its own machine, so what one notebook leaves for the next (2.1's run
for 2.2 and 2.3, the Kinetics sample for 1.x, the alerts CSV for 3.x) must live here; on Colab,
``use_drive=True`` mounts Google Drive and puts WORKDIR there. Standard library only: lab 3 uses
it without torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.errors import InputError
from utils.paths import REPO_ROOT, WORKDIR_ENV

DRIVE_MOUNT = Path("/content/drive")
DRIVE_WORKDIR = DRIVE_MOUNT / "MyDrive" / "actionlab"


@dataclass(frozen=True)
class Workdir:
    """The folders under WORKDIR; a later notebook finds here what an earlier one wrote."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def synthetic(self) -> Path:
        return self.data / "synthetic"

    @property
    def features(self) -> Path:
        return self.data / "features"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def output_dir(self, notebook: str | Path) -> Path:
        """``outputs/<lab folder>/<notebook stem>`` for a notebook path (or ``lab/name``)."""
        path = Path(notebook)
        return self.outputs / path.parent.name / path.stem


def on_colab() -> bool:
    """True inside a Google Colab runtime (its ``google.colab`` package is importable)."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_workdir(workdir: str | Path | None = None, *, use_drive: bool = False,
                    mount: Callable[[str], Any] | None = None) -> Workdir:
    """WORKDIR: ``workdir`` when given (relative: under the repository, or under Drive's
    ``MyDrive`` with ``use_drive``), else ``$ACTIONLAB_WORKDIR``, else the repository (so a local
    checkout keeps ``data/`` and ``outputs/`` where they were).

    ``use_drive`` on Colab mounts Google Drive (``google.colab.drive.mount``, or ``mount``) at
    ``/content/drive`` and puts WORKDIR in ``MyDrive/actionlab``, which every notebook's VM
    sees; outside Colab it is an InputError (there is no Drive to mount). The result is exported
    as ``$ACTIONLAB_WORKDIR`` so the commands a notebook starts use the same folder.
    """
    if use_drive:
        if mount is None:
            if not on_colab():
                raise InputError("USE_DRIVE=True needs Google Colab (google.colab.drive); set "
                                 "USE_DRIVE=False and WORKDIR to a local folder")
            from google.colab import drive

            mount = drive.mount
        mount(str(DRIVE_MOUNT))
        base = DRIVE_MOUNT / "MyDrive"
        root = DRIVE_WORKDIR if workdir is None else base / Path(workdir).expanduser()
    elif workdir is not None:
        path = Path(workdir).expanduser()
        root = path if path.is_absolute() else REPO_ROOT / path
    else:
        root = Path(os.environ.get(WORKDIR_ENV) or REPO_ROOT)
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ[WORKDIR_ENV] = str(root)
    return Workdir(root)
