"""The conclusion of an age run, written from its numbers (never by hand)."""

from __future__ import annotations

from typing import Any

from utils.age.evaluate import GOAL_MAE


def conclusion(metrics: dict[str, Any]) -> str:
    """Markdown: MAE against the goal and the median baseline, the ID rule and what it costs,
    the caveats (synthetic data, random weights, split not by person) and the human check."""
    m, base, rule = metrics["test"]["mae"], metrics["baseline"], metrics["id_rule"]
    goal = "meets" if m["high"] < GOAL_MAE else ("may meet" if m["estimate"] < GOAL_MAE
                                                  else "misses")
    beats = m["high"] < base["mae"]
    text = [
        f"On {metrics['photos']['test']} test photos the model's MAE is **{m['estimate']:.2f} "
        f"years** (95 % interval {m['low']:.2f}-{m['high']:.2f}): it {goal} the brief's goal of "
        f"{GOAL_MAE:g} years, and the constant prediction {base['median_age']:g} (median training "
        f"age) scores {base['mae']:.2f}, so the model "
        + ("beats the baseline beyond the interval." if beats
           else "does **not** clearly beat the baseline."),
        f"To pass at most {rule['target']:.0%} of minors (real age < {rule['legal_age']:g}) "
        f"without an ID check, the till must ask for ID whenever the predicted age is below "
        f"**{rule['ask_id_below']:g}**: {rule['minors_passed']} of {rule['minors']} test minors "
        f"pass, and **{rule['adults_asked_share']:.0%} of adults** ({rule['adults_asked']} of "
        f"{rule['adults']}) are asked for ID.",
    ]
    if rule["minors"] < 100:
        text.append(f"Only {rule['minors']} minors are in the test set: one minor more or less "
                    f"moves the passed share by {1 / max(rule['minors'], 1):.1%}.")
    caveats = []
    if metrics["data"]["synthetic"]:
        caveats.append("the photos are the generated stand-in, so these are not findings")
    if not metrics["backbone"]["pretrained"]:
        caveats.append("the backbone has RANDOM WEIGHTS")
    if not metrics["data"]["persons_known"]:
        caveats.append("the data does not identify persons, so one person may be in training "
                       "and test")
    if caveats:
        text.append("Caveats: " + "; ".join(caveats) + ".")
    text.append("The model only decides **when to ask** for an ID; a cashier still checks the "
                "document, and a human check stays necessary for every sale the rule flags "
                "and for any doubt it does not.")
    return "\n\n".join(text)
