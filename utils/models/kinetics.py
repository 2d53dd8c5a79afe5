"""Kinetics-400 category orders of the checkpoint families, each with where it was checked.

- mit-han-lab TSN/TSM: output index i = line i of the repo's ``tools/kinetics_label_map.txt``
  (``tools/gen_label_kinetics.py`` numbers the classes by that file), which is the sorted list.
- pytorchvideo / PySlowFast: index = the value in ``kinetics_classnames.json`` (name -> index).
  PySlowFast's ``slowfast/datasets/DATASET.md``: its Kinetics models were trained on the data of
  facebookresearch/video-nonlocal-net, whose ``process_data/kinetics/classids.json`` (same
  name -> index format) numbers the classes alphabetically (checked: equal to the shipped file);
  pytorchvideo's own ``LabeledVideoPaths.from_directory`` also indexes the sorted class folders.
- torchvision: ``Weights.meta["categories"]``
  (``torchvision.models._meta._KINETICS400_CATEGORIES``), checked equal to the shipped file
  in ``tests/test_models.py``.
All three equal ``data/kinetics400_classnames.txt`` (the 400 names sorted).
"""

from __future__ import annotations

from utils.datasets.kinetics import kinetics_classes


def sorted_kinetics() -> tuple[str, ...]:
    """The 400 names in alphabetical order: the index order of the TSM and pytorchvideo heads."""
    return tuple(kinetics_classes())
