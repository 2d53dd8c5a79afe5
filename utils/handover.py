"""What a notebook gets from outside itself: an earlier notebook's results in WORKDIR, or a file
uploaded from the student's computer (Colab).

Each Colab notebook runs on its own machine, so 2.2 finds 2.1's run only through WORKDIR; these
helpers make the notebook say which case it is in instead of silently redoing the work.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from utils.errors import InputError
from utils.io import atomic_path


def stamp(path: Path) -> float | None:
    """Modification time of ``path`` (None when absent): taken before a step that may rewrite
    it, it tells afterwards whether the file was reused or made again."""
    return path.stat().st_mtime if path.exists() else None


def reuse_message(path: Path, before: float | None, maker: str) -> str:
    """One line: ``path`` was reused from ``maker`` (unchanged since ``before``), or made here."""
    after = stamp(path)
    if before is not None and after == before:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(before))
        return f"Used the run of {maker}: {path.parent} (made {when})"
    if before is None:
        return (f"No run of {maker} in {path.parent}: made it here (run {maker} first, with the "
                "same WORKDIR, to reuse its run)")
    return (f"The run in {path.parent} had other settings than this notebook's: made it again "
            "here with these settings")


def ask_earlier(hint: str) -> Callable[[Path], Path]:
    """A ``fetch_real`` for data that an earlier notebook brings into WORKDIR: it fetches
    nothing and says which notebook to run (``hint``), so the banner names it."""
    def fetch(target: Path) -> Path:
        raise InputError(hint)

    return fetch


def upload_to(target: Path, *, upload: Callable[[], dict[str, bytes]] | None = None) -> Path:
    """Ask the browser for one file (``google.colab.files.upload``, or ``upload``) and write it
    to ``target``; no file (the dialog was cancelled) or several is an InputError."""
    if upload is None:
        try:
            from google.colab import files
        except ImportError:
            raise InputError("uploading needs Google Colab: put the file at "
                             f"{target} instead") from None
        upload = files.upload
    received = upload()
    if len(received) != 1:
        raise InputError(f"expected one uploaded file for {target}, got {len(received)}")
    (name, content), = received.items()
    with atomic_path(target) as tmp:
        tmp.write_bytes(content)
    print(f"{name} ({len(content)} bytes) -> {target}")
    return target
