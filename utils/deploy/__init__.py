"""Lab 1's deployment code: ONNX export (``export``), frame sources and writers (``stream``),
the live demo (``live``, ``demo``), YOLO boxes, pose and tracks (``detect``), per-person actions
(``person_actions``), the platform cost model (``platforms``) and the ``actionlab
export``/``demo``/``detect`` commands (``cli``).

Submodules but ``platforms`` import torch; this package file does not, so ``actionlab --help``
stays fast. The inference backends (eager, ONNX Runtime, compile) live in
:mod:`utils.models.backends`, which the benchmark reaches without importing deployment code.
"""
