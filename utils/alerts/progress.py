"""Progress bars of the alerts library: plain text on stderr, never a notebook widget.

A widget (``tqdm.auto`` in Jupyter) is stored in an executed notebook as its first frame, a
frozen "0 %" bar. Text bars end on their final line in a stored notebook, update in place in a
live one, and print one line per second at most in logs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def progress_bar(iterable: Iterable[T], **kw: Any) -> Iterable[T]:
    """``tqdm`` in text mode (``kw`` as tqdm's: desc, unit, total, disable, delay...)."""
    from tqdm.std import tqdm

    kw.setdefault("mininterval", 1.0)
    return tqdm(iterable, file=sys.stderr, dynamic_ncols=False, ncols=80, **kw)
