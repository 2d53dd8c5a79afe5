"""Running the ``actionlab`` command as a separate process, as a cron job or a worker would: the
notebooks of every lab use it to show the command line next to the library call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from utils.errors import InputError
from utils.paths import REPO_ROOT


def run_actionlab(*args: str | Path) -> str:
    """Run ``actionlab ARGS…`` as a separate process and return its stdout; a failure raises with
    the command's own error line (:class:`InputError` for exit 2).

    ``python -m utils`` with this interpreter, so it works in notebooks, papermill and Colab
    where the ``actionlab`` script may not be on PATH.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    command = [sys.executable, "-m", "utils", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no message"
        error = InputError if done.returncode == 2 else RuntimeError
        raise error(f"actionlab {' '.join(map(str, args))} exited {done.returncode}: {message}")
    return done.stdout
