"""A labelled Kinetics-400 sample without YouTube: the CVDF-hosted validation archives.

CVDF (github.com/cvdfoundation/kinetics-dataset, ``k400_downloader.sh``) hosts the clips as
``val/part_<i>.tar.gz`` archives listed in ``val/k400_val_path.txt``, with the labels in
``annotations/val.csv`` (``label,youtube_id,time_start,time_end,split``), all under
``https://s3.amazonaws.com/kinetics/400/``. A part holds mp4 files named
``{youtube_id}_{start:06d}_{end:06d}.mp4``; like CVDF's own ``arrange_by_classes.py``, a file
is matched to its CSV row by the YouTube id (its first 11 characters).

One part is streamed (``tarfile`` in stream mode over the HTTP response, resumed on a cut
connection by ``utils.download``); the first ``per_class`` clips of each wanted class are kept
as they pass, nothing else touches the disk, and the stream stops as soon as every class is
full. Kept clips go to the course's sample layout (``{label}-{youtube_id}-{start}-{end}.mp4``,
``utils.datasets.kinetics``), so every Kinetics loader reads them as they are.
"""

from __future__ import annotations

import shutil
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from utils.datamode import FetchReal, fetch_into
from utils.datasets.kinetics import KINETICS_SAMPLE_DIR, clip_filename, read_annotations
from utils.download import DownloadError, fetch, open_stream
from utils.errors import InputError
from utils.io import atomic_path, make_folder

CVDF_ROOT = "https://s3.amazonaws.com/kinetics/400/"
VAL_PATHS_URL = CVDF_ROOT + "val/k400_val_path.txt"
VAL_CSV_URL = CVDF_ROOT + "annotations/val.csv"
AUTO_PER_CLASS = 1  # DATA="auto": clips kept per class from part 0 (lab 1's shared sample)
ANNOTATIONS_NAME = "val.csv"  # kept in the sample folder: the labels of its clips


@dataclass
class CvdfReport:
    """What one CVDF sample download did."""

    kept: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # archive members val.csv does not know
    not_mp4: list[str] = field(default_factory=list)
    passed: int = 0  # clips of the archive read past (kept or not)
    short_classes: dict[str, int] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [f"{len(self.kept)} clips kept, {len(self.present)} already present, from "
                 f"{self.passed} clips streamed of {', '.join(self.parts) or 'no part'}"]
        if self.unknown:
            lines.append(f"{len(self.unknown)} clips of the archive are not in val.csv (not "
                         "kept): " + ", ".join(self.unknown))
        if self.not_mp4:
            lines.append(f"{len(self.not_mp4)} archive members are not mp4 files: "
                         + ", ".join(self.not_mp4))
        lines += [f"  class {label!r}: only {n} clips" for label, n in self.short_classes.items()]
        return "\n".join(lines)


def part_urls(listing: Path) -> list[str]:
    """The archive URLs of ``k400_val_path.txt`` (one per line), in its order."""
    urls = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not urls:
        raise InputError(f"{listing}: no archive URL listed")
    return urls


def download_kinetics_cvdf(
    out: str | Path = KINETICS_SAMPLE_DIR,
    *,
    per_class: int = 2,
    classes: Sequence[str] | None = None,
    parts: Sequence[int] = (0,),
    progress: bool = True,
) -> CvdfReport:
    """Keep ``per_class`` clips of each class (of ``classes``, default: every class of val.csv)
    from the validation archive ``parts`` (indices into ``k400_val_path.txt``), streamed in
    order until every class is full; val.csv is saved in ``out`` next to the clips. Clips
    already in ``out`` count, so running it again resumes."""
    if per_class < 1:
        raise InputError(f"per-class must be >= 1, got {per_class}")
    out = make_folder(out)
    annotations = fetch(VAL_CSV_URL, out / ANNOTATIONS_NAME, progress=progress)
    table = read_annotations(annotations)
    wanted = list(classes) if classes else sorted(table["label"].unique())
    missing = sorted(set(wanted) - set(table["label"]))
    if missing:
        raise InputError(f"--classes: {missing} not in {VAL_CSV_URL}")
    rows = {row.youtube_id: row for row in table.itertuples(index=False)}
    counts = {label: 0 for label in wanted}
    report = CvdfReport()
    for row in rows.values():
        name = clip_filename(row.label, row.youtube_id, row.time_start, row.time_end)
        if row.label in counts and counts[row.label] < per_class and (out / name).is_file():
            counts[row.label] += 1
            report.present.append(name)
    listing = fetch(VAL_PATHS_URL, out / ".k400_val_path.txt", progress=False)
    urls = part_urls(listing)
    bar = tqdm(total=per_class * len(wanted), initial=sum(counts.values()),
               desc="Kinetics clips (CVDF)", disable=not progress)
    for index in parts:
        if min(counts.values()) >= per_class:
            break
        if not 0 <= index < len(urls):
            raise InputError(f"--parts {index}: {VAL_PATHS_URL} lists parts 0..{len(urls) - 1}")
        report.parts.append(urls[index].rsplit("/", 1)[-1])
        _stream_part(urls[index], out, rows, counts, per_class, report, bar)
    bar.close()
    report.short_classes = {label: n for label, n in counts.items() if n < per_class}
    return report


def _stream_part(url: str, out: Path, rows: dict, counts: dict[str, int], per_class: int,
                 report: CvdfReport, bar: tqdm) -> None:
    """Read the archive at ``url`` as it arrives, writing the clips still wanted."""
    with open_stream(url) as remote, tarfile.open(fileobj=remote, mode="r|gz") as archive:
        try:
            for member in archive:
                if not member.isfile():
                    continue
                base = Path(member.name).name
                if not base.endswith(".mp4"):
                    report.not_mp4.append(member.name)
                    continue
                report.passed += 1
                row = rows.get(base[:11])
                if row is None:
                    report.unknown.append(base)
                    continue
                name = clip_filename(row.label, row.youtube_id, row.time_start, row.time_end)
                if counts.get(row.label, per_class) >= per_class or (out / name).is_file():
                    continue  # class full, or the clip is already counted as present
                source = archive.extractfile(member)
                assert source is not None  # a regular file
                with atomic_path(out / name) as tmp, tmp.open("wb") as target:
                    shutil.copyfileobj(source, target)
                counts[row.label] += 1
                report.kept.append(name)
                bar.update(1)
                if min(counts.values()) >= per_class:
                    return
        except (tarfile.TarError, EOFError, OSError, DownloadError) as exc:
            raise InputError(f"{url}: the archive stream broke ({exc}); run again to resume "
                             "(clips kept so far stay)") from exc


def kinetics_cvdf(per_class: int = AUTO_PER_CLASS, *, progress: bool = True) -> FetchReal:
    """The ``fetch_real`` of ``DATA="auto"`` for Kinetics: ``per_class`` clips per class of
    CVDF's first part, the sample every lab-1 notebook shares under WORKDIR."""
    def fill(folder: Path) -> None:
        report = download_kinetics_cvdf(folder, per_class=per_class, progress=progress)
        print(report.to_text())
        if not report.kept and not report.present:
            raise InputError(f"no labelled clip in {', '.join(report.parts)}")
    return fetch_into(fill)
