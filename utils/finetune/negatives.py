"""Extra training negatives from production: the list ``actionlab alerts hard-negatives`` writes
(lab 3.4), i.e. normal alerts the deployed model scored highest, added to the *training* split
with label 0.

The list is a CSV with a ``video_name`` column (its other columns, store, camera, label, score,
are for people); the clip files are named ``video_name`` and sit in the list's folder. A listed
clip that is missing there is reported with the reason, like any clip left out. Validation and
test stay as they were, so the run's metrics remain comparable with a run without the extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from utils.errors import InputError

if TYPE_CHECKING:
    from utils.finetune.cache import Features


def extra_negative_clips(path: str | Path | None, dataset: Mapping[str, Path],
                         failed: dict[str, str], *, e2e: bool = False) -> dict[str, Path]:
    """{clip name: file} of the listed clips found beside the list (none for ``path=None``);
    each missing file is added to ``failed`` with its reason. A name that is also a clip of the
    dataset is refused: the clip would be trained on twice, once with each label. The extras
    train the head only: with ``e2e`` they are refused rather than silently unused."""
    if path is None:
        return {}
    if e2e:
        raise InputError("--extra-negatives trains the head only; it cannot be combined with "
                         "--e2e")
    path = Path(path)
    try:
        names = pd.read_csv(path, dtype=str, keep_default_na=False)["video_name"]
    except KeyError:
        raise InputError(f"{path}: no video_name column; write the list with `actionlab alerts "
                         "hard-negatives`") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: cannot read the extra negatives "
                         f"({str(exc).splitlines()[0]})") from exc
    clash = sorted(set(names) & set(dataset))
    if clash:
        raise InputError(f"{path}: {clash[0]!r} is also a clip of the dataset")
    found = {}
    for name in dict.fromkeys(names):
        clip = path.parent / name
        if clip.is_file():
            found[name] = clip
        else:
            failed[name] = f"listed in {path.name} but no such file in {path.parent}"
    return found


def with_extra_negatives(x_train: np.ndarray, y_train: np.ndarray, features: Features,
                         extra: Mapping[str, Path], views: int) -> tuple[np.ndarray, np.ndarray]:
    """The training matrix and labels with every embedded extra clip (each view) as label 0."""
    names = [n for n in extra if n in set(features.clips)]
    if not names:
        return x_train, y_train
    rows = np.concatenate([features.rows(names, v) for v in range(views)])
    return (np.concatenate([x_train, rows]),
            np.concatenate([y_train, np.zeros(len(rows), dtype=y_train.dtype)]))
