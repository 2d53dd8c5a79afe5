"""Shared library of the action-recognition lab suite.

Notebooks import from here; the `actionlab` command (``python -m utils``) lives in :mod:`utils.cli`.
Nothing is downloaded or computed at import time.
"""

__version__ = "0.1.0"
