"""Fetch the real data: a Kinetics-400 sample from YouTube, DCSASS from Kaggle.

Nothing here runs at import. Both downloads are resumable (clips already on disk are kept,
every file is written under a temporary name and renamed) and, when they cannot run (no
network), raise InputError saying what to fetch by hand and where to put it. Files come
through ``utils.download`` (mirrors, resume, ACTIONLAB_MIRROR); the Kinetics sample without
YouTube is ``utils.datasets.cvdf``.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from utils.datamode import FetchReal, fetch_into
from utils.datasets.dcsass import COPY_NAME, DCSASS_DIR, KAGGLE_HANDLE, SECOND_COPY, find_root
from utils.datasets.kinetics import KINETICS_SAMPLE_DIR, clip_filename, read_annotations
from utils.download import fetch
from utils.errors import InputError
from utils.io import atomic_path

ANNOTATIONS_URL = "https://storage.googleapis.com/deepmind-media/Datasets/kinetics400.tar.gz"
DCSASS_URL = f"https://www.kaggle.com/datasets/{KAGGLE_HANDLE}"
# Kaggle's public download endpoint: the dataset's zip, no credentials needed for public data.
DCSASS_ZIP_URL = f"https://www.kaggle.com/api/v1/datasets/download/{KAGGLE_HANDLE}"


def _reachable(host: str, port: int = 443, timeout: float = 5.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


@dataclass
class DownloadReport:
    """What a Kinetics sample download did, clip by clip."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    short_classes: dict[str, int] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"{len(self.downloaded)} clips downloaded, {len(self.present)} already present, "
                 f"{len(self.failed)} failed (dead or private videos are normal)"]
        lines += [f"  failed {name}: {why}" for name, why in self.failed.items()]
        lines += [f"  class {label!r}: only {n} clips" for label, n in self.short_classes.items()]
        return "\n".join(lines)


def cut_clip(source: str | Path, target: str | Path, start: float, end: float) -> Path:
    """Re-encode the frames of ``source`` shown in [start, end) seconds into ``target`` (H.264,
    original timestamps shifted to 0), without needing an ffmpeg executable."""
    import av

    from utils.video.io import VideoDecodeError, write_video

    frames, times = [], []
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else None
            if t is None or t < start:
                continue
            if t >= end:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(t - start)
    if not frames:
        raise VideoDecodeError(source, f"no frames between {start} s and {end} s")
    video = np.stack(frames)
    height, width = video.shape[1] // 2 * 2, video.shape[2] // 2 * 2  # yuv420p needs even sizes
    return write_video(target, video[:, :height, :width], fps, times=times)


def _fetch_clip(youtube_id: str, start: int, end: int, target: Path) -> None:
    """Download one YouTube segment to ``target``: only the segment when an ffmpeg executable
    is available (yt-dlp's download_ranges), else the whole video, then cut with PyAV."""
    import yt_dlp
    from yt_dlp.utils import download_range_func

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as tmp:
        options = {
            "format": "best[height<=360][ext=mp4]/best[height<=360]/best",
            "outtmpl": f"{tmp}/video.%(ext)s",
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "socket_timeout": 20,
            "retries": 2,
        }
        ranged = shutil.which("ffmpeg") is not None
        if ranged:
            options["download_ranges"] = download_range_func(None, [(start, end)])
            options["force_keyframes_at_cuts"] = True
        with yt_dlp.YoutubeDL(options) as ydl:
            ydl.download([f"https://www.youtube.com/watch?v={youtube_id}"])
        video = next(Path(tmp).glob("video.*"))
        if ranged:
            with atomic_path(target) as part:
                shutil.move(video, part)
        else:
            cut_clip(video, target, start, end)


def download_kinetics_sample(
    annotations: str | Path,
    out: str | Path = KINETICS_SAMPLE_DIR,
    *,
    per_class: int = 2,
    classes: list[str] | None = None,
    split: str | None = None,
    seed: int = 0,
    progress: bool = True,
) -> DownloadReport:
    """Download ``per_class`` clips of each class (all classes of the CSV by default) into
    ``out`` as ``{label}-{youtube_id}-{start}-{end}.mp4``.

    Candidates are tried in a seeded random order until a class has ``per_class`` clips (at
    most 3x that many tries); dead links are listed in the report, clips already on disk count
    as done, so running it again resumes.
    """
    if not Path(annotations).is_file():
        raise InputError(
            f"{annotations}: annotation CSV not found. Download {ANNOTATIONS_URL}, extract it and "
            f"pass one of its CSVs (e.g. kinetics400/validate.csv)"
        )
    if not _reachable("www.youtube.com"):
        raise InputError(
            "cannot reach YouTube, so no Kinetics clip can be downloaded here. By hand: on a "
            f"machine with internet, run this same function, or save each 10 s segment as "
            f"'{{label}}-{{youtube_id}}-{{start}}-{{end}}.mp4' (yt-dlp --download-sections "
            f"'*START-END' URL), then copy the clips into {Path(out)}/"
        )
    table = read_annotations(annotations, split=split)
    wanted = classes or sorted(table["label"].unique())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = DownloadReport()
    rng = np.random.default_rng(seed)
    bar = tqdm(wanted, desc="Kinetics sample", disable=not progress)
    for label in bar:
        rows = table[table["label"] == label]
        done = 0
        for i in rng.permutation(len(rows))[: 3 * per_class]:
            if done == per_class:
                break
            row = rows.iloc[i]
            name = clip_filename(label, row.youtube_id, row.time_start, row.time_end)
            if (out / name).is_file():
                report.present.append(name)
                done += 1
                continue
            try:
                _fetch_clip(row.youtube_id, int(row.time_start), int(row.time_end), out / name)
            except Exception as exc:  # yt-dlp raises many types for dead, private, blocked videos
                message = str(exc).strip().splitlines()
                report.failed[name] = (message[-1] if message else type(exc).__name__)[:200]
                continue
            report.downloaded.append(name)
            done += 1
        if done < per_class:
            report.short_classes[label] = done
        bar.set_postfix(ok=len(report.downloaded) + len(report.present), failed=len(report.failed))
    return report


def download_dcsass(out: str | Path = DCSASS_DIR, *, progress: bool = True) -> Path:
    """Download DCSASS without credentials (Kaggle's public dataset endpoint, through
    ``utils.download``: resumable, ACTIONLAB_MIRROR applied) and unzip its first copy into
    ``out``; returns the dataset root (``out/DCSASS Dataset``). Already present: nothing is
    fetched. The zip is deleted once unpacked (the second copy inside it is never written)."""
    out = Path(out)
    if (out / COPY_NAME / "Labels").is_dir():
        return find_root(out).path
    archive = fetch(DCSASS_ZIP_URL, out / "dcsass-dataset.zip", progress=progress)
    try:
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
            prefix = next((p for p in (f"{COPY_NAME}/", f"{SECOND_COPY.as_posix()}/")
                           if any(n.startswith(p) for n in names)), None)
            if prefix is None:
                raise InputError(f"{archive}: no '{COPY_NAME}/' folder in the zip; is it "
                                 f"{DCSASS_URL}?")
            members = [n for n in names if n.startswith(prefix)]
            with tempfile.TemporaryDirectory(dir=out, prefix=".unzip-") as tmp:
                for name in tqdm(members, desc="unzip DCSASS", disable=not progress):
                    zipped.extract(name, tmp)
                os.replace(Path(tmp) / prefix, out / COPY_NAME)
    except zipfile.BadZipFile as exc:
        archive.unlink()
        raise InputError(f"{archive}: not a zip file ({exc}); deleted, run again to download "
                         "it anew") from exc
    archive.unlink()
    return find_root(out).path


def dcsass_kaggle(*, progress: bool = True) -> FetchReal:
    """The ``fetch_real`` of ``DATA="auto"`` for DCSASS: Kaggle's public zip, no credentials."""
    return fetch_into(lambda folder: download_dcsass(folder, progress=progress))
