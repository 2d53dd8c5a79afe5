"""Where things live. Paths are anchored at the repository, not at the caller's working directory,
so notebooks (run from their lab folder), the CLI and the tests agree on them."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
OUTPUTS_DIR = REPO_ROOT / "outputs"
SYNTHETIC_DIR = DATA_DIR / "synthetic"


def resolve(path: str | Path) -> Path:
    """An absolute path; a relative one is taken relative to the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path
