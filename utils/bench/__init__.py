"""Accuracy, speed and cost of video classifiers: ``evaluate`` (top-1/top-5 with multi-view
testing), latency/throughput/FLOPs (``speed``), the course's input mistakes (``mistakes``) and
the ``actionlab bench``/``predict``/``models`` commands (``cli``).

Every function takes the model as a plain callable with the project's forward contract,
(N, 3, T, H, W) normalised by its preset -> logits (N, classes), so a zoo model, a wrapped
checkpoint or an ONNX Runtime session can be measured the same way. Submodules import torch;
this package file does not, so ``actionlab --help`` stays fast.
"""
