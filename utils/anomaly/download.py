"""Fetch and unpack UCSD's public archive (UCSD_Anomaly_Dataset.tar.gz, about 700 MB: Ped1 and
Ped2). The one network call is :func:`fetch_file`, so a shared download layer can replace it
without touching the rest."""

from __future__ import annotations

import tarfile
import urllib.error
from pathlib import Path

from utils.anomaly.ucsd import ARCHIVE_FOLDER, UCSD_DIR, find_subset, is_ucsd
from utils.errors import InputError
from utils.io import make_folder

UCSD_URL = "http://www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz"
ARCHIVE_NAME = "UCSD_Anomaly_Dataset.tar.gz"


def fetch_file(url: str, target: Path, *, progress: bool = True) -> Path:
    """Download ``url`` to ``target`` (written under a temporary name, renamed when complete)."""
    import torch

    torch.hub.download_url_to_file(url, str(target), progress=progress)
    return target


def download_ucsd(out: str | Path = UCSD_DIR, *, url: str = UCSD_URL, subset: str = "UCSDped2",
                  progress: bool = True) -> Path:
    """The ``subset`` folder under ``out``, downloading and unpacking the archive when absent
    (an archive already in ``out`` is reused). Unpacking refuses links and paths outside
    ``out`` (tarfile's ``data`` filter)."""
    out = make_folder(out)
    if is_ucsd(out):
        return find_subset(out, subset)
    archive = out / ARCHIVE_NAME
    if not archive.is_file():
        try:
            fetch_file(url, archive, progress=progress)
        except (urllib.error.URLError, OSError) as exc:
            raise InputError(
                f"cannot download UCSD ({exc}). By hand: fetch {url} on a machine with "
                f"internet, put it unchanged at {archive} and run this again (or unpack it so "
                f"that {out / ARCHIVE_FOLDER / subset / 'Train'} exists)") from exc
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(out, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{archive}: not a readable tar.gz archive ({exc}); delete it and "
                         "download again") from exc
    return find_subset(out, subset)
