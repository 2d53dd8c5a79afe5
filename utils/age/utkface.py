"""UTKFace to the brief's format: a public faces set with the age in every file name.

UTKFace (Zhang, Song, Qi, CVPR 2017; https://susanqq.github.io/UTKFace/) names each aligned and
cropped photo ``[age]_[gender]_[race]_[date&time].jpg`` (age 0-116, gender 0/1, race 0-4,
time ``yyyymmddHHMMSSFFF``); the cropped archive appends ``.chip.jpg``. The official archive
sits on Google Drive; an ungated copy of the same ``UTKFace.tar.gz`` (one ``UTKFace/`` folder,
23,708 photos, 106,634,631 bytes) is on the Hugging Face hub, pinned below to one commit so its
SHA-256 holds. UTKFace does not say who is in a photo, so the converted folder has no
``persons.csv`` and splits cannot be grouped by person.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from utils.age.data import IMAGES_DIR, LABELS_FILE
from utils.datamode import FetchReal, fetch_into
from utils.download import fetch
from utils.errors import InputError
from utils.io import atomic_path, staged_folder, write_json

UTKFACE_URL = ("https://huggingface.co/datasets/py97/UTKFace-Cropped/resolve/"
               "e80f21fb21fa3631380c3cb634b79be3ac2f4cba/UTKFace.tar.gz")
UTKFACE_SHA256 = "2c0655397b498e81b82d685ee74bee8c2e4364a5897caf3afec6ea48929024a7"
CONVERTED_MARKER = "CONVERTED_FROM_UTKFACE.json"
_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_(\d{17})\.jpg(\.chip\.jpg)?$")


def utkface_age(name: str) -> int:
    """The age in a UTKFace file name; InputError says what is wrong with a malformed one (the
    archive holds a few names with a field missing)."""
    match = _NAME.match(name)
    if match is None:
        raise InputError(f"{name!r} is not [age]_[gender 0/1]_[race 0-4]_[17-digit time].jpg")
    return int(match.group(1))


@dataclass
class Conversion:
    out: Path
    converted: int = 0
    skipped: dict[str, str] = field(default_factory=dict)

    def to_text(self) -> str:
        lines = [f"{self.converted} photos converted to {self.out}; {len(self.skipped)} skipped"]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines)


def convert_utkface(source: str | Path, out: str | Path, *, limit: int | None = None) -> Conversion:
    """Copy every UTKFace photo under ``source`` to ``out/final_files/`` and write
    ``out/labels.csv`` (``file_name,real_age``); malformed names are skipped and listed.
    ``limit`` keeps the first photos in name order (a quick run). ``out`` is replaced whole, and
    only when empty or converted here before."""
    source, out = Path(source), Path(out)
    photos = sorted(p for p in source.rglob("*.jpg") if p.is_file())
    if not photos:
        raise InputError(f"{source}: no .jpg photo found (expected UTKFace's [age]_[gender]_"
                         "[race]_[date&time].jpg files)")
    report = Conversion(out)
    rows = ["file_name,real_age"]
    with staged_folder(out, owned_marker=CONVERTED_MARKER) as fresh:
        (fresh / IMAGES_DIR).mkdir()
        for path in photos:
            if limit is not None and report.converted >= limit:
                break
            try:
                age = utkface_age(path.name)
            except InputError as exc:
                report.skipped[path.name] = str(exc)
                continue
            if (fresh / IMAGES_DIR / path.name).exists():
                report.skipped[str(path)] = "same file name seen before in another folder"
                continue
            shutil.copyfile(path, fresh / IMAGES_DIR / path.name)
            rows.append(f"{path.name},{age}")
            report.converted += 1
        if not report.converted:
            raise InputError(f"{source}: none of the {len(photos)} photos has a UTKFace name")
        with atomic_path(fresh / LABELS_FILE) as tmp:
            tmp.write_text("\n".join(rows) + "\n")
        write_json({"source": str(source), "converted": report.converted,
                    "skipped": report.skipped}, fresh / CONVERTED_MARKER)
    return report


def download_utkface(folder: str | Path, *, url: str = UTKFACE_URL,
                     sha256: str | None = UTKFACE_SHA256, progress: bool = True) -> Path:
    """``folder/UTKFace.tar.gz`` downloaded (:func:`utils.download.fetch`: resumable, hash
    checked, ``ACTIONLAB_MIRROR`` applied) and extracted to ``folder/UTKFace``; returns the
    extracted folder (present already: nothing is fetched)."""
    folder = Path(folder)
    extracted = folder / "UTKFace"
    if extracted.is_dir() and any(extracted.iterdir()):
        return extracted
    archive = fetch(url, folder / "UTKFace.tar.gz", sha256=sha256, progress=progress)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(folder / ".extracting", filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InputError(f"{archive}: cannot extract ({exc}); delete it and retry") from exc
    inner = next((p for p in (folder / ".extracting").rglob("*") if p.is_dir()
                  and any(q.suffix == ".jpg" for q in p.iterdir())), folder / ".extracting")
    inner.replace(extracted)
    shutil.rmtree(folder / ".extracting", ignore_errors=True)
    return extracted


def utkface_faces(*, sha256: str | None = UTKFACE_SHA256, progress: bool = True) -> FetchReal:
    """The ``fetch_real`` of ``DATA="auto"`` for the faces: UTKFace downloaded next to the target
    and converted into it (``labels.csv`` + ``final_files/``); the download and its extracted
    copy are deleted once converted, so WORKDIR (on Drive) keeps one copy of the photos."""
    def fill(folder: Path) -> None:
        download = folder.with_name("utkface_download")
        print(convert_utkface(download_utkface(download, sha256=sha256, progress=progress),
                                    folder).to_text())
        shutil.rmtree(download)
    return fetch_into(fill)
