"""Fetch and unpack UCSD's public archive (UCSD_Anomaly_Dataset.tar.gz, about 700 MB: Ped1 and
Ped2) through the project's download layer (:mod:`utils.download`: resumable, mirrors,
``ACTIONLAB_MIRROR``). UCSD publishes no checksum, so none is checked."""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path

from utils.anomaly.ucsd import ARCHIVE_FOLDER, UCSD_DIR, find_subset, is_ucsd
from utils.datamode import FetchReal, fetch_into
from utils.download import fetch
from utils.errors import InputError
from utils.io import make_folder

UCSD_URL = "http://www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz"
ARCHIVE_NAME = "UCSD_Anomaly_Dataset.tar.gz"


def download_ucsd(out: str | Path = UCSD_DIR, *, url: str = UCSD_URL, subset: str = "UCSDped2",
                  progress: bool = True) -> Path:
    """The ``subset`` folder under ``out``, downloading and unpacking the archive when absent
    (an archive already in ``out`` is reused, a partial one resumed). Unpacking refuses links and
    paths outside ``out`` (tarfile's ``data`` filter) and moves the folders into ``out`` only once
    complete; the archive is then deleted (700 MB less on Drive)."""
    out = make_folder(out)
    if is_ucsd(out):
        return find_subset(out, subset)
    archive = fetch(url, out / ARCHIVE_NAME, progress=progress)
    try:
        with tempfile.TemporaryDirectory(dir=out, prefix=".unpack-") as tmp:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            for child in Path(tmp).iterdir():
                os.replace(child, out / child.name)
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{archive}: not a readable tar.gz archive ({exc}); delete it and "
                         "download again") from exc
    if not is_ucsd(out):
        raise InputError(f"{archive}: unpacked, but no UCSD subset inside (expected "
                         f"{ARCHIVE_FOLDER}/{subset}/Train); is it {url}?")
    archive.unlink()
    return find_subset(out, subset)


def ucsd_archive(*, subset: str = "UCSDped2", progress: bool = True) -> FetchReal:
    """The ``fetch_real`` of ``DATA="auto"`` for UCSD: the public archive, unpacked in WORKDIR."""
    return fetch_into(lambda folder: download_ucsd(folder, subset=subset, progress=progress))
