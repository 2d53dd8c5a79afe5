"""The ``WEIGHTS`` / ``--weights`` setting of zoo models, with its one meaning of ``"auto"``
(the other run settings: :mod:`utils.settings`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.errors import InputError


@dataclass(frozen=True)
class WeightsChoice:
    weights: str | None  # the ``weights`` argument of ``build_model``: None = random
    why: str

    @property
    def random(self) -> bool:
        return self.weights is None


def resolve_weights(mode: str | Path | None, model: str | None, *, synthetic: bool,
                    fetch: Callable[[Any], Any] | None = None) -> WeightsChoice:
    """The weights of zoo model ``model`` for a ``WEIGHTS``/``--weights`` setting.

    ``"auto"``: the published checkpoint when the data are real and it can be had (``fetch``,
    default :func:`utils.models.checkpoints.download_or_fallback`, raises InputError when it
    cannot), else random weights, with the reason. ``model=None`` (several models, e.g. a
    benchmark) skips the availability check: each model's build then downloads its own
    checkpoint.
    ``"default"``: the checkpoint, or the download's error.
    ``"none"``/None: random weights. Anything else: a checkpoint path, as given.
    """
    if mode is None or str(mode) == "none":
        return WeightsChoice(None, "random weights, as asked (WEIGHTS='none')")
    if str(mode) != "auto":
        return WeightsChoice(str(mode), f"weights={str(mode)!r} as asked")
    if synthetic:
        return WeightsChoice(None, "RANDOM WEIGHTS: the data are the generated stand-in, on "
                                   "which a checkpoint would measure nothing")
    if model is None:
        return WeightsChoice("default", "the published checkpoints (real data)")
    from utils.models import get_weights

    spec = get_weights(model)
    if not spec.has_checkpoint:
        return WeightsChoice(None, f"RANDOM WEIGHTS: {model} has no published checkpoint")
    if fetch is None:
        from utils.models.checkpoints import download_or_fallback

        def fetch(spec: Any) -> Any:
            return download_or_fallback(spec, progress=True)
    try:
        fetch(spec)
    except InputError as exc:
        return WeightsChoice(None, f"RANDOM WEIGHTS: the {model} checkpoint is not available "
                                   f"({exc})")
    return WeightsChoice("default", f"the published {model} checkpoint")


def resolve_each(mode: str | Path | None, names: list[str], *, synthetic: bool,
                 fetch: Callable[[Any], Any] | None = None
                 ) -> tuple[list[str], WeightsChoice, dict[str, str]]:
    """The models of a benchmark that can run with ``mode``'s weights: (the models kept, their
    weights, {model left out: why}).

    ``"auto"`` on real data checks each model's checkpoint (:func:`resolve_weights`): one that
    cannot be had is left out with its reason, since its random-weight accuracy would sit at
    chance among pretrained ones; when none can be had, every model runs on random weights,
    marked as such. Any other case keeps every model.
    """
    if str(mode) != "auto" or synthetic:
        return list(names), resolve_weights(mode, None, synthetic=synthetic), {}
    chosen = {name: resolve_weights(mode, name, synthetic=False, fetch=fetch) for name in names}
    skipped = {name: choice.why for name, choice in chosen.items() if choice.random}
    kept = [name for name in names if name not in skipped]
    if not kept:
        return list(names), WeightsChoice(None, "RANDOM WEIGHTS: no checkpoint could be had ("
                                          + "; ".join(skipped.values()) + ")"), {}
    return kept, WeightsChoice("default", "the published checkpoints (real data)"), skipped
