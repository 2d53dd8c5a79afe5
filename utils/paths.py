"""Where things live. Paths are anchored at the repository, not at the caller's working directory,
so notebooks (run from their lab folder), the CLI and the tests agree on them."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_DATA_DIR = REPO_ROOT / "data"  # small files that come with the code (class names)
# WORKDIR (utils.settings.resolve_workdir exports it): data, caches and outputs; the repository
# when unset. Read at import, so the commands a notebook starts use the notebook's WORKDIR.
WORKDIR_ENV = "ACTIONLAB_WORKDIR"
WORKDIR = Path(os.environ.get(WORKDIR_ENV) or REPO_ROOT)
DATA_DIR = WORKDIR / "data"
OUTPUTS_DIR = WORKDIR / "outputs"
SYNTHETIC_DIR = DATA_DIR / "synthetic"


def resolve(path: str | Path) -> Path:
    """An absolute path; a relative one is taken relative to the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path
