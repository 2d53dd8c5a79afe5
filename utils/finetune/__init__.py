"""Lab 2: a shoplifting head on cached backbone embeddings, thresholds chosen on validation.

``config`` (every setting of a run, checked once), ``cache`` (embeddings computed once),
``loop`` (the one training loop: AdamW, BCE, early stopping on val AP), ``head`` (course MLP or
linear probe on cached embeddings), ``e2e`` (optional last-stage fine-tuning), ``run`` (one run
directory), ``thresholds``
and ``evaluate`` (threshold on val, metrics with intervals by source video, the course's
mistakes), ``analysis`` (errors, per-video curves, hard negatives), ``recogniser`` (a run as a
live-demo recogniser). Submodules import torch; this package does not, so the CLI starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from utils.finetune.recogniser import FinetunedRecogniser


def load_run(run_dir: str | Path, *, device: str = "auto") -> FinetunedRecogniser:
    """The recogniser of a fine-tuning run (see :func:`utils.finetune.recogniser.load_run`)."""
    from utils.finetune.recogniser import load_run as _load_run

    return _load_run(run_dir, device=device)
