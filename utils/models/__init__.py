"""The model zoo: pretrained video classifiers behind one forward contract.

``build_model(name, weights="default" | None | PATH, device="cpu")`` returns the model in eval
mode; ``get_weights(name)`` its :class:`ModelSpec` (checkpoint URL, format, hash, preset,
category order, published metrics); ``list_models()`` every name. See :mod:`utils.models.base`
for the contract and :mod:`utils.models.checkpoints` for the file formats.
"""

from utils.models.base import VideoClassifier
from utils.models.registry import build_model, get_weights, list_models, resolve_device
from utils.models.spec import ModelSpec

__all__ = [
    "ModelSpec",
    "VideoClassifier",
    "build_model",
    "get_weights",
    "list_models",
    "resolve_device",
]
