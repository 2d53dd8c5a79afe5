"""The package's import graph has no cycle: every module of ``utils`` (whatever packages it holds
now or after a merge) is parsed, and every import of another ``utils`` module is an edge.

Imports inside functions count too: a lazy import still runs, and a cycle through one is what
made ``alerts/cli.py`` and ``alerts/report.py`` depend on each other. Only imports under
``if TYPE_CHECKING:`` are left out: they never run, they exist for the type checker alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from utils.paths import REPO_ROOT

PACKAGE = "utils"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str],
             *, lazy: bool) -> set[str]:
    """The package's modules that ``module`` imports (``lazy``: also inside functions).

    ``from a import b`` is the module ``a.b`` when there is one, else ``a`` (a name defined in
    ``a/__init__.py``); ``import a.b`` is ``a.b``. The parent packages a submodule import runs
    first are not edges: ``from pkg import sub`` inside ``pkg`` is the usual idiom, not a cycle.
    """
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, in_function)
            return
        if in_function and not lazy:
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".") if is_package else module.split(".")[:-1]
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(tree, False)
    return {t for t in found if t in modules and t != module}


def import_graph(root: Path, package: str = PACKAGE, *, lazy: bool = True) -> dict[str, set[str]]:
    """{module: the package's modules it imports}, over ``root/package/**/*.py``; ``lazy=False``
    keeps only the imports that run when the module itself is imported."""
    paths = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    return {name: _imports(ast.parse(path.read_text(), filename=str(path)), name,
                           path.name == "__init__.py", set(paths), lazy=lazy)
            for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_no_module_imports_itself_at_import_time() -> None:
    """Strict: a cycle of module-level imports can fail with a partly initialised module."""
    cycle = find_cycle(import_graph(REPO_ROOT, lazy=False))
    assert cycle is None, "import-time cycle: " + " -> ".join(cycle or [])


def test_the_package_has_no_import_cycle() -> None:
    """Lazy imports included: a cycle through a function is still two modules that each need
    the other (what made alerts/cli.py and alerts/report.py one tangle)."""
    graph = import_graph(REPO_ROOT)
    assert len(graph) > 20 and "utils.alerts.cli" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_walk_finds_cycles_and_ignores_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for path in (pkg / "__init__.py", pkg / "sub" / "__init__.py"):
        path.write_text("")
    (pkg / "sub" / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from . import c\n")
    (pkg / "sub" / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import a\n")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.b import X\n")
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.sub.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub"] == {"pkg.sub.b"}
    assert find_cycle(graph) is None  # c -> a is only for the type checker
    (pkg / "sub" / "c.py").write_text("import pkg.sub.a\n")
    cycle = find_cycle(import_graph(tmp_path, "pkg"))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert sorted(cycle[1:]) == ["pkg.sub.a", "pkg.sub.b", "pkg.sub.c"]
    assert find_cycle(import_graph(tmp_path, "pkg", lazy=False)) is None  # a's is lazy
    (pkg / "sub" / "c.py").write_text("from pkg.sub import X\n")  # a name of __init__
    cycle = find_cycle(import_graph(tmp_path, "pkg", lazy=False))
    assert cycle is not None and sorted(cycle[1:]) == ["pkg.sub", "pkg.sub.b", "pkg.sub.c"]


@pytest.mark.parametrize("module", ["utils.alerts.cli", "utils.datasets.cli", "utils.course.cli",
                                    "utils.deploy.cli"])
def test_cli_modules_import_no_sibling_at_import_time(module: str) -> None:
    """CLI modules parse arguments; the library they call is imported inside the handlers."""
    path = REPO_ROOT / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text())
    top = {alias.name if isinstance(node, ast.Import) else node.module
           for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
           for alias in node.names}
    assert top <= {"__future__", "argparse", "sys", "json", "pathlib", "typing",
                   "utils.errors", "utils.cliargs", "collections.abc"}, top


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others (lazy imports included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_bench_imports_no_deployment_module() -> None:
    """The benchmark runs ``--backend onnx`` through utils.models.backends, not lab 1's deployment
    package: no module of utils.bench reaches utils.deploy, even through another module."""
    graph = import_graph(REPO_ROOT)
    bench = [m for m in graph if m == "utils.bench" or m.startswith("utils.bench.")]
    assert "utils.bench.cli" in bench and "utils.deploy.export" in graph
    assert "utils.models.backends" in reachable(graph, "utils.bench.cli")
    leaks = {m: sorted(d for d in reachable(graph, m) if d.startswith("utils.deploy"))
             for m in bench}
    assert not any(leaks.values()), leaks
    assert "utils.deploy.export" in reachable(graph, "utils.deploy.cli")  # the walk does see it
