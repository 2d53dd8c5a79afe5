"""The risk the alcohol-sale brief raises: a rule "ask for ID when the predicted age is below X"
lets through every minor the model makes look at least X years old.

For each X the table counts the minors (real age < legal age) passed without an ID check and
the adults asked for one. Raising X protects minors and bothers more adults; the rule picked is
the smallest X that keeps the share of minors passed at or under the target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


def id_rule_table(y_true: Any, y_pred: Any, *, legal_age: float = 18,
                  thresholds: Any = None) -> pd.DataFrame:
    """One row per X: ``minors``, ``minors_passed`` (predicted >= X), ``minors_passed_share``,
    ``adults``, ``adults_asked`` (predicted < X), ``adults_asked_share``. Default X: every
    whole year from the legal age to one past the highest prediction."""
    import pandas as pd

    from utils.age.evaluate import checked_ages

    y, p = checked_ages(y_true, y_pred)
    if thresholds is None:
        thresholds = np.arange(np.floor(legal_age), max(np.ceil(p.max()) + 1, legal_age + 1))
    x = np.asarray(thresholds, dtype=float)
    minor = y < legal_age
    n_minors, n_adults = int(minor.sum()), int((~minor).sum())
    passed = (p[minor][None, :] >= x[:, None]).sum(axis=1)
    asked = (p[~minor][None, :] < x[:, None]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame({
            "ask_id_below": x, "minors": n_minors, "minors_passed": passed,
            "minors_passed_share": passed / n_minors if n_minors else np.nan,
            "adults": n_adults, "adults_asked": asked,
            "adults_asked_share": asked / n_adults if n_adults else np.nan})


def choose_rule(table: pd.DataFrame, target: float = 0.01) -> dict[str, Any]:
    """The row of the smallest X whose share of minors passed is <= ``target``, as a dict."""
    if not 0 <= target < 1:
        raise InputError(f"target share of minors passed must be in [0, 1), got {target}")
    if not table["minors"].iloc[0]:
        raise InputError("the test set holds no minor: the rule cannot be measured")
    ok = table[table["minors_passed_share"] <= target]
    if ok.empty:
        raise InputError(f"no X in the table keeps the minors passed at or under {target:.1%}; "
                         "extend the thresholds")
    row = ok.iloc[0]
    counts = ("minors", "minors_passed", "adults", "adults_asked")
    return {k: int(v) if k in counts else float(v) for k, v in row.items()}
