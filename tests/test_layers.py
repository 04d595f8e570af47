"""The layers of the package, checked on its import graph: a module imports only from
its own layer or the ones below it, and no modules import each other in a circle.

    adapters  web, dashboard, integrations, cli      (HTTP, browsers, frameworks, terminals)
    service   service                                  (what the API says, who may see what)
    api       app, demo                                (the public Python API)
    worker    worker                                   (claims, runs, its duties)
    core      task, context, retry, handle, ...        (what a job is and how it is built)
    store     backends                                 (the store protocol and its engines)
    ground    errors, settings, serialization, records (shared by everything)

Imports under ``if TYPE_CHECKING:`` count too: a type from a layer above is a sign
that something lives in the wrong place.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import offload

ROOT = Path(offload.__file__).parent

LAYERS: dict[str, int] = {
    "errors": 0,
    "settings": 0,
    "serialization": 0,
    "records": 0,
    "names": 0,
    "backends": 1,
    "task": 2,
    "context": 2,
    "retry": 2,
    "handle": 2,
    "enqueue": 2,
    "stats": 2,
    "schedules": 2,
    "crypto": 2,
    "worker": 3,
    "app": 4,
    "demo": 4,
    "__init__": 4,
    "service": 5,
    "web": 6,
    "dashboard": 6,
    "integrations": 6,
    "cli": 6,
    "testing": 6,
    "__main__": 6,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "offload", module
    top = parts[1] if len(parts) > 1 else "__init__"
    assert top in LAYERS, f"{module}: no layer given for offload.{top} (add it to LAYERS)"
    return LAYERS[top]


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("offload"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("offload"):
                for a in node.names:  # a submodule, or a name the module defines
                    found.add(f"{target}.{a.name}" if _is_module(f"{target}.{a.name}") else target)
    return found


def _is_module(name: str) -> bool:
    path = ROOT.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        graph[module] |= {t for t in _imports(path, module) if t != module}
    return graph


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = [
        f"{src} (layer {_layer(src)}) imports {dst} (layer {_layer(dst)})"
        for src, targets in _graph().items()
        for dst in sorted(targets)
        if _layer(dst) > _layer(src)
    ]
    assert not upward, "imports that go up the layers:\n" + "\n".join(upward)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round about (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_circle() -> None:
    circles = _circles(_graph())
    assert not circles, "modules that import each other in a circle:\n" + "\n".join(map(str, circles))
