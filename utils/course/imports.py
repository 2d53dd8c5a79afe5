"""Which installed distributions a lab's notebooks need: a static scan of their imports and of
every ``utils`` module they reach (function-level imports included), for the check that each
lab's pyproject extra covers them (tests/test_setup_cell.py)."""

from __future__ import annotations

import ast
import sys
from importlib import metadata
from pathlib import Path

import nbformat

from utils.paths import REPO_ROOT

PACKAGE = "utils"
SETUP_TAG = "colab-setup"  # utils.course.setup_cell.TAG (that module imports this one's users)


def _optional(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside a ``try`` whose ``except ImportError`` makes them optional (an
    extra such as ``scale`` brings them; the lab runs without)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                name in {"ImportError", "ModuleNotFoundError"}
                for handler in node.handlers if handler.type is not None
                for name in (getattr(n, "id", None) for n in ast.walk(handler.type))):
            skipped |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return skipped


def imported_names(source: str) -> set[str]:
    """Dotted module names imported anywhere in ``source`` (relative imports are not used),
    except the optional ones (:func:`_optional`)."""
    found: set[str] = set()
    tree = ast.parse(source)
    optional = _optional(tree)
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def lab_imports(notebooks: list[Path], root: Path = REPO_ROOT) -> set[str]:
    """Top-level third-party modules imported by ``notebooks`` (their setup cell aside) and the
    ``utils`` modules they reach (stdlib and ``utils`` itself left out)."""
    todo: list[str] = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # the setup cell runs before any extra is installed: not scanned
            if cell.cell_type == "code" and SETUP_TAG not in cell.metadata.get("tags", []):
                todo += sorted(imported_names(cell.source))
    seen: set[str] = set()
    third: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top != PACKAGE:
            if top not in sys.stdlib_module_names:
                third.add(top)
            continue
        file = _module_file(name, root)
        if file is not None:
            todo += sorted(imported_names(file.read_text()))
            parent = name.rsplit(".", 1)[0]  # importing a.b.c runs a/b/__init__.py too
            if parent != name:
                todo.append(parent)
    return third


def distributions(modules: set[str]) -> dict[str, set[str]]:
    """{module: normalised names of the installed distributions providing it}; a module no
    installed distribution provides maps to an empty set."""
    provided = metadata.packages_distributions()
    return {m: {d.lower().replace("_", "-") for d in provided.get(m, [])} for m in modules}
