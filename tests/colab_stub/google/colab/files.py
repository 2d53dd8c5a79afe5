"""``files.upload()``: returns the files named in ``$COLAB_STUB_UPLOAD`` (os.pathsep-separated
paths) as {name: bytes}, like the browser dialog; nothing set: the dialog was cancelled."""

from __future__ import annotations

import os

from google.colab import record


def upload() -> dict[str, bytes]:
    paths = [p for p in os.environ.get("COLAB_STUB_UPLOAD", "").split(os.pathsep) if p]
    record("files.upload", files=[os.path.basename(p) for p in paths])
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            out[os.path.basename(path)] = f.read()
    return out
