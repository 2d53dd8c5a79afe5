"""A stand-in for Colab's ``google.colab`` package, put on PYTHONPATH by tests that simulate a
Colab runtime. Every call is appended as one JSON line to ``$COLAB_STUB_LOG`` (when set), with
the name of the thread that made it, so a test can assert who called what.

``google`` has no ``__init__.py`` here (a namespace package), so ``google.protobuf`` and other
installed ``google.*`` packages still import.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any


def record(call: str, **details: Any) -> None:
    """Append ``call`` and ``details`` to the log file named by ``$COLAB_STUB_LOG``."""
    log = os.environ.get("COLAB_STUB_LOG")
    if log:
        entry = {"call": call, "thread": threading.current_thread().name,
                 "main": threading.current_thread() is threading.main_thread(), **details}
        with open(log, "a") as f:
            f.write(json.dumps(entry) + "\n")
