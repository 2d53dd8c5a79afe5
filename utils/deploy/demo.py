"""``actionlab demo``: check the source, build a recogniser, run the live loop over it.

Kept apart from :mod:`utils.deploy.live` (the streaming machinery) and
:mod:`utils.deploy.person_actions` (per-person labels, built on it) so that neither has to import
the other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from utils.deploy.live import Recogniser, cv2_window, run_live, zoo_recogniser
from utils.errors import InputError
from utils.io import check_not_input, check_target


def run_demo(
    source: str | int,
    *,
    model: str | None = None,
    weights: str | None = "default",
    run_dir: str | Path | None = None,
    labels: Sequence[str] | None = None,
    out: str | Path | None = None,
    summary_path: str | Path | None = None,
    show: bool = False,
    device: str = "auto",
    per_person: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """``actionlab demo``: check the source, build the recogniser (a zoo ``model`` or a
    fine-tuned ``run_dir``), run :func:`run_live` (or, with ``per_person``,
    :func:`utils.deploy.person_actions.run_person_actions`, which needs ``out``). The summary
    goes to ``summary_path`` (default: beside ``out`` as ``<out>.json``, else not written)."""
    from utils.deploy.stream import source_kind

    source_kind(source)  # a missing file fails before a model is built
    if summary_path is None and out is not None:
        summary_path = Path(out).with_suffix(".json")
    for target in (out, summary_path):
        if target is not None:
            check_target(check_not_input(target, str(source)))  # before a model is built
    if show and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY")
                                                          or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError("--show needs a display (neither DISPLAY nor WAYLAND_DISPLAY is set); "
                         "write the annotated video with --out instead")
    if (model is None) == (run_dir is None):
        raise InputError("give exactly one of --model NAME or --run DIR")
    recogniser: Recogniser
    if run_dir is not None:
        from utils.finetune import load_run

        recogniser = load_run(run_dir)
    else:
        assert model is not None
        recogniser = zoo_recogniser(model, weights=weights, labels=labels, device=device)
    if per_person:
        from utils.deploy.person_actions import run_person_actions

        if out is None:
            raise InputError("--per-person writes an annotated video: give --out FILE.mp4")
        return run_person_actions(recogniser, source, out, max_frames=kwargs.get("max_frames"))
    return run_live(recogniser, source, out=out, summary_path=summary_path,
                    show=cv2_window() if show else None, **kwargs)
