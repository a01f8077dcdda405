"""The house's rules, checked on the code itself: imports flow one way, no import circle, small modules.

Layers, top to bottom: ``pipelines`` (the code location, CLI, registry files) → ``portal`` (the API and
pages, which only the CLI starts) → ``assets`` (Dagster assets and the pure stages they call) →
``resources`` → ``quality``. Every ``import`` in a module counts, lazy ones inside functions included:
a lazy import hides a circle, it does not remove it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["pipelines", "portal", "assets", "resources", "quality"]
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]) -> set[str]:
    """The project modules one import statement loads (``from a.b import c`` loads ``a.b.c`` if it is one)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".")
            if path.name != "__init__.py":
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [target] + [f"{target}.{alias.name}" for alias in node.names]
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps |= _imported(module, path, node, known)
        graph[module] = deps
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_layer_exists():
    assert all((ROOT / layer / "__init__.py").exists() for layer in LAYERS)


def test_no_module_imports_a_layer_above_its_own():
    graph = import_graph()
    upward = sorted(
        f"{module} → {dep}"
        for module, deps in graph.items()
        for dep in deps
        if RANK[dep.split(".")[0]] < RANK[module.split(".")[0]]
    )
    assert upward == [], "imports against the layers:\n" + "\n".join(upward)


def test_no_import_circle():
    circles = _circles(import_graph())
    assert circles == [], "import circles:\n" + "\n".join(" ↔ ".join(c) for c in circles)


def test_the_checker_sees_what_it_must():
    """The walker is not blind: a lazy upward import and a two-module circle are caught."""
    lazy = ast.parse("def f():\n    from pipelines.cli import app\n")
    known = {"pipelines.cli": ROOT / "pipelines/cli.py", "quality.x": ROOT / "quality/x.py"}
    node = next(n for n in ast.walk(lazy) if isinstance(n, ast.ImportFrom))
    assert _imported("quality.x", ROOT / "quality/x.py", node, known) == {"pipelines.cli"}
    assert _circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


@pytest.mark.parametrize("layer", LAYERS)
def test_long_modules_say_why(layer):
    """Past ~400 lines a module is split, or its docstring says why it is one module."""
    unexplained = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if "one module" not in doc.lower():
            unexplained.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    why = "long modules with no reason at the top (say 'one module because …'):\n"
    assert unexplained == [], why + "\n".join(unexplained)
