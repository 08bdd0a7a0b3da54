"""Print the import graph of backend/ and worker/, read from the source with `ast` (nothing is imported).

Run `python -m scripts.import_graph` from the repository root (`--bench`: the graph of `bench` and
`tests.shopsite` instead, the benchmarks and the shop sites they share with the tests). Each line is one package and the
packages its modules import, `[deferred]` marking imports made only inside a function (a
composition root wiring things up at run time); imports under `if TYPE_CHECKING:` are left out,
as they never run. tests/test_layers.py uses the same graph to refuse cycles.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("backend", "worker")
BENCH_PACKAGES = ("bench", "tests.shopsite")
# A subpackage of these is one of their stages (worker.pipeline.extract), inside the same layer: its
# modules may use the layer's shared modules (worker.pipeline.types) while the layer's orchestration
# calls the stage. The package graph counts it as the layer; the module graph still refuses cycles.
LAYERS_WITH_STAGES = ("worker.pipeline",)


@dataclass(frozen=True)
class Edge:
    """`source` imports `target`; `deferred` when the import runs inside a function, not at import time."""

    source: str
    target: str
    deferred: bool


def module_names(root: Path = ROOT, tops: tuple[str, ...] = TOP_PACKAGES) -> dict[str, Path]:
    """Every module of the `tops` packages, by dotted name (a package by its own name)."""
    names: dict[str, Path] = {}
    for top in tops:
        for path in sorted(root.joinpath(*top.split(".")).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to (a package's __init__ belongs to the package itself)."""
    if modules[module].name == "__init__.py":
        return module
    return module.rpartition(".")[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, deferred: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (pair for child in node.orelse for pair in _imports(child, deferred=deferred))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, deferred
            continue
        inner = deferred or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _imports(node, deferred=inner)


def _targets(node: ast.Import | ast.ImportFrom, module: str, modules: dict[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = package_of(module, modules).split(".")
            base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
        # `from package import module` names the submodule; `from module import name` the module.
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
        ]
    for dotted in names:
        # `import a.b.c` depends on the deepest known module of the dotted name.
        name = dotted
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            yield name


def module_edges(root: Path = ROOT, tops: tuple[str, ...] = TOP_PACKAGES) -> list[Edge]:
    """Every import between modules of the `tops` packages, deferred or not."""
    modules = module_names(root, tops)
    edges: set[Edge] = set()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, deferred in _imports(tree):
            for target in _targets(node, module, modules):
                if target != module:
                    edges.add(Edge(module, target, deferred))
    # An import made at import time somewhere wins over the same import deferred elsewhere.
    eager = {(e.source, e.target) for e in edges if not e.deferred}
    return sorted(
        (e for e in edges if not (e.deferred and (e.source, e.target) in eager)),
        key=lambda e: (e.source, e.target),
    )


def layer_of(package: str) -> str:
    """The package itself, or the layer it is a stage of (worker.pipeline.extract → worker.pipeline)."""
    for layer in LAYERS_WITH_STAGES:
        if package.startswith(layer + "."):
            return layer
    return package


def package_edges(root: Path = ROOT, tops: tuple[str, ...] = TOP_PACKAGES) -> list[Edge]:
    """module_edges lifted to packages (stages to their layer): A → B when some module of A imports one of B."""
    modules = module_names(root, tops)
    lifted: dict[tuple[str, str], bool] = {}
    for edge in module_edges(root, tops):
        pair = (layer_of(package_of(edge.source, modules)), layer_of(package_of(edge.target, modules)))
        if pair[0] != pair[1]:
            lifted[pair] = lifted.get(pair, True) and edge.deferred
    return [Edge(source, target, deferred) for (source, target), deferred in sorted(lifted.items())]


def find_cycle(edges: list[Edge]) -> list[str] | None:
    """One cycle of the graph as [a, b, …, a], or None when it has none."""
    graph: dict[str, list[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge.target)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def render(edges: list[Edge]) -> str:
    by_source: dict[str, list[str]] = {}
    for edge in edges:
        label = f"{edge.target} [deferred]" if edge.deferred else edge.target
        by_source.setdefault(edge.source, []).append(label)
    return "\n".join(f"{source} -> {', '.join(targets)}" for source, targets in sorted(by_source.items()))


def import_time(edges: list[Edge]) -> list[Edge]:
    """The edges that run when a module is imported (deferred ones left out)."""
    return [edge for edge in edges if not edge.deferred]


def main(argv: list[str]) -> int:
    """Print the package graph (`--modules`: the module graph) and any import-time cycle; 1 if there is one."""
    tops = BENCH_PACKAGES if "--bench" in argv else TOP_PACKAGES
    modules, packages = module_edges(ROOT, tops), package_edges(ROOT, tops)
    print(render(modules if "--modules" in argv else packages))
    status = 0
    for level, edges in (("packages", packages), ("modules", modules)):
        cycle = find_cycle(import_time(edges))
        print(f"import-time cycle between {level}: {' -> '.join(cycle) if cycle else 'none'}")
        status |= cycle is not None
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
