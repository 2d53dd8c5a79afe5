"""Which clips of a dataset can be opened at all: one check per clip, failures kept by name."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import av
from tqdm.auto import tqdm

from utils.video.io import VideoDecodeError, probe


def decode_all(path: str | Path) -> int:
    """Decode every frame of ``path`` and return how many there are.

    ``probe`` already refuses a file with fewer packets than its index (``moov``) announces;
    decoding to the end also finds packets that are there but do not decode. Raises
    :class:`VideoDecodeError` when decoding fails or fewer frames decode than the index lists
    (the container's own count, ``stream.frames``).
    """
    probe(path)  # missing, empty or not a video: its own message
    decoded, listed, error = 0, 0, ""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            listed = stream.frames
            for _ in container.decode(stream):
                decoded += 1
    except av.FFmpegError as exc:
        error = f" ({exc.strerror or exc})"
    if error or decoded == 0 or decoded < listed:
        raise VideoDecodeError(path, f"truncated or corrupt: {decoded} of the "
                                     f"{listed or '?'} frames its index lists decode{error}")
    return decoded


def probe_failures(
    clips: Mapping[str, Path], *, progress: bool = True, desc: str = "probing clips",
    decode: bool = False,
) -> dict[str, str]:
    """``{name: reason}`` for every clip whose file is missing or cannot be probed.

    Probing reads the packets' timestamps without decoding them, so checking a whole dataset
    costs far less than decoding it; a clip that probes but fails later still raises with its
    path when decoded. ``decode=True`` (``data check``) decodes every frame (:func:`decode_all`),
    the only way to find a truncated file whose index is intact.
    """
    check = decode_all if decode else probe
    failures: dict[str, str] = {}
    for name, path in tqdm(clips.items(), desc=desc, disable=not progress, leave=False):
        try:
            check(path)
        except VideoDecodeError as exc:
            failures[name] = str(exc)
    return failures
