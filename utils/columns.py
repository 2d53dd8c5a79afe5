"""One check for every table the library reads: the columns it needs are there, once each."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from utils.errors import InputError


def require_columns(columns: Iterable[object], required: Sequence[str], where: str) -> None:
    """Raise :class:`InputError` naming ``where`` when a required column is absent or a column
    name appears twice (pandas would rename the second one silently)."""
    names = [str(c) for c in columns]
    doubled = sorted(name for name, n in Counter(names).items() if n > 1 and name)
    if doubled:
        raise InputError(f"{where}: duplicated column name(s) {', '.join(doubled)}")
    present = set(names)
    missing = [c for c in required if c not in present]
    if missing:
        raise InputError(f"{where}: missing column(s) {', '.join(missing)} "
                         f"(expected {', '.join(required)}; found {', '.join(names) or 'none'})")
