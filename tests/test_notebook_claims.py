"""No hard-coded number in a notebook's prose: a number in a markdown cell is either generated
(printed by a code cell from values it computed), or quoted from a source, or listed in the
notebook's allow-list (``tests/notebook_numbers/<lab>__<notebook>.toml``) with where it comes
from. A claim like "mistake 3 is usually the most damaging" or "below 2e-5" goes stale the day
the code or the data changes; the allow-list keeps the exceptions few and each one sourced.

What the check ignores, because it is not a claim: code (spans and blocks, where numbers are
arguments), URLs, LaTeX formulas (definitions), heading and list numbering, references to a lab,
notebook, exercise, step, mistake or cell by number, point counts of an exercise, numbers that are
part of a name (top-5, ResNet-50, R(2+1)D, 3D, T4), and blockquotes that carry their source (a link
or a "Source:" line). Everything else needs an allow-list entry whose ``text`` occurs in the cell
(whitespace-insensitive) and whose ``source`` says where the number comes from; an entry that no
longer occurs fails too, so the list cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import tomllib

from utils.labs import discover
from utils.paths import REPO_ROOT

NOTEBOOKS = discover()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]
ALLOW_DIR = REPO_ROOT / "tests" / "notebook_numbers"

NUMBER = re.compile(r"(?<![\w\-./+(])\d+(?:[.,]\d+)*(?:e[-+]?\d+)?(?![\w+)])")
_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
_URL = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
_NUMBERING = re.compile(r"^\s*(?:#+\s*)?(?:[-*]\s*)?(?:\(?\d+(?:\.\d+)*[.)]\s+)", re.M)
_REFERENCE = re.compile(
    r"\b(?:labs?|notebooks?|exercises?|steps?|parts?|questions?|sections?|cells?|mistakes?|"
    r"bonus|Q)\s*\d+(?:\.\d+)?(?:\s*(?:–|-|—|,|and|or|to)\s*\d+(?:\.\d+)?)*", re.I)
_POINTS = re.compile(r"\(\s*\d+\s+points?\b[^)]*\)", re.I)
_ENUMERATION = re.compile(r"\(\d\)")


def _unquoted(text: str) -> str:
    """The cell without blockquotes that name their source."""
    kept: list[str] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith(">"):
            block.append(line)
            continue
        if block and not re.search(r"https?://|\bsource\b", "\n".join(block), re.I):
            kept.extend(block)
        block = []
        kept.append(line)
    return "\n".join(kept)


def prose(markdown: str) -> str:
    """The part of a markdown cell in which a number would be a claim, whitespace collapsed."""
    text = _unquoted(markdown)
    for pattern in (_CODE_BLOCK, _CODE_SPAN, _MATH, _URL, _NUMBERING, _REFERENCE, _POINTS,
                    _ENUMERATION):
        text = pattern.sub(" ", text)
    return " ".join(text.split())


def allow_list(notebook: Path) -> list[dict[str, str]] | None:
    path = ALLOW_DIR / f"{notebook.parent.name}__{notebook.stem}.toml"
    if not path.exists():
        return None
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("allow", [])
    for entry in entries:
        assert set(entry) == {"text", "source"}, f"{path.name}: {entry}"
        assert NUMBER.search(entry["text"]), f"{path.name}: {entry['text']!r} holds no number"
        assert entry["source"].strip(), f"{path.name}: {entry['text']!r} has no source"
    return entries


def unsourced_numbers(notebook: Path, entries: list[dict[str, str]]) -> tuple[list[str], list[str]]:
    """(each number left in the prose with its context, each allow-list text found nowhere)."""
    nb = nbformat.read(notebook, as_version=4)
    texts = [prose(c.source) for c in nb.cells if c.cell_type == "markdown"]
    used: set[str] = set()
    found: list[str] = []
    for i, text in enumerate(texts):
        for entry in entries:
            phrase = " ".join(entry["text"].split())
            if phrase in text:
                used.add(entry["text"])
                text = text.replace(phrase, " ")
        for match in NUMBER.finditer(text):
            context = text[max(0, match.start() - 40): match.end() + 40]
            found.append(f"markdown cell {i}: {match.group()!r} in …{context}…")
    return found, [e["text"] for e in entries if e["text"] not in used]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_every_number_in_prose_is_generated_or_sourced(notebook: Path) -> None:
    entries = allow_list(notebook)
    assert entries is not None, f"no allow-list file for {notebook.name} in {ALLOW_DIR}"
    found, stale = unsourced_numbers(notebook, entries)
    assert not found, "numbers without a source:\n" + "\n".join(found)
    assert not stale, f"allow-list entries no longer in the notebook: {stale}"


@pytest.mark.parametrize(("markdown", "numbers"), [
    ("Mistake 3 is usually the most damaging.", []),
    ("It is usually below 2e-5 here, and fails at ~9e-4.", ["2e-5", "9e-4"]),
    ("TSM reaches 71 % top-1 with ResNet-50 on Kinetics-400.", ["71"]),
    ("## 2. Fine-tune\n1. take `--top-k 5` from lab 2.2 (2 points)", []),
    ("$F_\\beta = (1+\\beta^2)\\,TP$ and [the paper](https://x.org/1706.01)", []),
    ("> 41 % in the course's table.\n\nThe ~32 clips per video", ["41", "32"]),
    ("> 41 % in the course's table.\n> Source: course slides, T4, 1×1 view", []),
])
def test_the_check_finds_claims_and_ignores_names(markdown: str, numbers: list[str]) -> None:
    assert NUMBER.findall(prose(markdown)) == numbers
