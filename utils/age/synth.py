"""A generated stand-in for the faces data, written in exactly the brief's format, with the age
planted in the pixels.

Each synthetic person has a fixed identity (skin tone, background, face shape, hair colour and
style) and is photographed a few times over a few years, so photos of one person look alike
and a split that is not grouped by person leaks identity. The age shows in three places a
network can see: the hair greys from 20 to 70, a forehead wrinkle appears every 12 years, and
a child's head is smaller in the frame. Who is who goes to the sidecar ``persons.csv`` (the
brief's ``labels.csv`` stays ``file_name,real_age``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from utils.age.data import IMAGES_DIR, LABELS_FILE, PERSONS_FILE
from utils.datamode import DataChoice, FetchReal, choose_data
from utils.datasets.synth import MARKER, dataset_paths, prepare_synthetic
from utils.errors import InputError
from utils.io import atomic_path, write_json
from utils.paths import DATA_DIR

FACES_DIR = DATA_DIR / "faces"


def sample_ages(n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages shaped like APPA-REAL's real ages: about a fifth under 18, most adults 20 to 45."""
    minors = rng.random(n) < 0.2
    adults = np.clip(rng.normal(34, 13, n), 18, 90)
    return np.where(minors, rng.integers(2, 18, n), np.round(adults)).astype(int)


def draw_face(age: float, identity: dict[str, Any], size: int,
              rng: np.random.Generator) -> np.ndarray:
    """One RGB uint8 photo (size x size) of ``identity`` at ``age``."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = np.empty((size, size, 3), np.float32)
    img[:] = identity["background"]
    growth = 0.6 + 0.4 * min(age, 16) / 16  # a child's head fills less of the frame
    cx = 0.5 + rng.uniform(-0.04, 0.04)
    cy = 0.55 + rng.uniform(-0.04, 0.04)
    rx, ry = identity["width"] * growth, 0.34 * growth
    face = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    grey = float(np.clip((age - 20) / 50, 0, 1))
    hair_colour = (1 - grey) * identity["hair"] + grey * np.array([215.0, 215.0, 215.0])
    hair = (((xx - cx) / (rx * 1.1)) ** 2 + ((yy - cy + 0.05) / (ry * 1.1)) ** 2 <= 1) & (
        yy < cy - ry * identity["hairline"])
    img[hair] = hair_colour
    img[face & ~hair] = identity["skin"]
    for k in range(int(age // 12)):  # forehead wrinkles
        y = cy - ry * 0.45 + k * 0.025
        line = face & ~hair & (np.abs(yy - y) < 0.01) & (np.abs(xx - cx) < rx * 0.6)
        img[line] = identity["skin"] * 0.45
    for side in (-1, 1):  # eyes
        eye = ((xx - cx - side * identity["eyes"] * rx) ** 2
               + (yy - cy + 0.05 * growth) ** 2) <= (0.035 * growth) ** 2
        img[eye] = 30
    mouth = (np.abs(yy - cy - ry * 0.5) < 0.012) & (np.abs(xx - cx) < rx * 0.35)
    img[mouth] = [150, 40, 40]
    img *= rng.uniform(0.9, 1.1)  # lighting
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _identity(rng: np.random.Generator) -> dict[str, Any]:
    return {"skin": rng.uniform(110, 245) * np.array([1.0, 0.8, 0.66]),
            "background": rng.uniform(70, 170) + rng.uniform(-20, 20, 3),
            "hair": rng.uniform(15, 110) * np.array([1.0, 0.8, 0.6]),
            "width": rng.uniform(0.24, 0.3), "eyes": rng.uniform(0.3, 0.45),
            "hairline": rng.uniform(0.3, 0.55)}


def write_synthetic_faces(out: str | Path, *, persons: int = 40, photos_per_person: int = 4,
                          size: int = 64, seed: int = 0, progress: bool = True) -> Path:
    """Write ``out/final_files/NNNNNN.jpg``, ``out/labels.csv`` (``file_name,real_age``) and
    ``out/persons.csv`` (``file_name,person_id``); returns ``out``. Rewritten only when the
    parameters change (the marker file records them)."""
    from PIL import Image
    from tqdm.auto import tqdm

    out = Path(out)
    if persons < 2 or photos_per_person < 1 or not 32 <= size <= 512:
        raise InputError(f"need persons >= 2, photos-per-person >= 1 and 32 <= size <= 512 (got "
                         f"{persons}, {photos_per_person}, {size})")
    params = {"kind": "faces", "seed": seed, "persons": persons,
              "photos_per_person": photos_per_person, "size": size}
    owned = [out / IMAGES_DIR, out / LABELS_FILE, out / PERSONS_FILE]
    if prepare_synthetic(out, params, owned):
        return out
    rng = np.random.default_rng(seed)
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    base = sample_ages(persons, rng)
    labels, people = ["file_name,real_age"], ["file_name,person_id"]
    bar = tqdm(total=persons * photos_per_person, desc="synthetic faces", unit="photo",
               disable=not progress)
    for p in range(persons):
        identity = _identity(rng)
        for k in range(photos_per_person):
            age = int(min(base[p] + rng.integers(0, 4), 100))
            name = f"{p * photos_per_person + k:06d}.jpg"
            Image.fromarray(draw_face(age, identity, size, rng)).save(
                out / IMAGES_DIR / name, quality=92)
            labels.append(f"{name},{age}")
            people.append(f"{name},person{p:04d}")
            bar.update()
    bar.close()
    for path, lines in ((out / LABELS_FILE, labels), (out / PERSONS_FILE, people)):
        with atomic_path(path) as tmp:
            tmp.write_text("\n".join(lines) + "\n")
    write_json(params, out / MARKER)
    return out


def choose_faces(mode: str = "auto", *, real_path: str | Path | None = None,
                 data_dir: Path | None = None, fetch_real: FetchReal | None = None,
                 **synthetic: Any) -> DataChoice:
    """``real_path`` (default ``<data_dir>/faces``) when it holds the data (mode "auto"/"real"),
    else the photos ``fetch_real`` brings (``utils.age.utkface.utkface_faces``), else the
    stand-in in ``<data_dir>/synthetic/faces`` (keyword arguments of write_synthetic_faces);
    ``data_dir`` is WORKDIR's ``data`` folder (default: the one of ``$ACTIONLAB_WORKDIR``)."""
    real, generated = dataset_paths(data_dir, "faces", FACES_DIR)
    return choose_data(mode, real if real_path is None else Path(real_path).expanduser(),
                       lambda: write_synthetic_faces(generated, **synthetic), fetch_real)
