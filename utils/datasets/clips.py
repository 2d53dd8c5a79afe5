"""Which clips of a dataset can be opened at all: one probe per clip, failures kept by name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tqdm.auto import tqdm

from utils.video.io import VideoDecodeError, probe


def probe_failures(
    clips: Mapping[str, Path], *, progress: bool = True, desc: str = "probing clips"
) -> dict[str, str]:
    """``{name: reason}`` for every clip whose file is missing or cannot be probed.

    Probing reads the packets' timestamps without decoding them (a truncated file fails here
    already), so checking a whole dataset costs far less than decoding it; a clip that probes
    but fails later still raises with its path when decoded.
    """
    failures: dict[str, str] = {}
    for name, path in tqdm(clips.items(), desc=desc, disable=not progress, leave=False):
        try:
            probe(path)
        except VideoDecodeError as exc:
            failures[name] = str(exc)
    return failures
