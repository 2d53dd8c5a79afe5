"""``drive.mount(path)``: makes ``path/MyDrive`` (a folder standing in for Google Drive)."""

from __future__ import annotations

import os

from google.colab import record


def mount(mountpoint: str, force_remount: bool = False) -> None:
    record("drive.mount", mountpoint=mountpoint)
    os.makedirs(os.path.join(mountpoint, "MyDrive"), exist_ok=True)
