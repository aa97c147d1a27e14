"""The layers of asgihost, checked on its import graph.

The graph is built from the source with ``ast``, not by importing anything: every module under
asgihost/ is parsed and each ``import`` statement in it becomes an edge, wherever it is (module
level, inside a function, or under ``if TYPE_CHECKING:``). Relative imports are resolved against
the module's package; ``from X import name`` is an edge to X and, when ``X.name`` is a module of
asgihost, to that module too. An import of ``a.b.c`` is not counted as importing the packages
``a`` and ``a.b`` (Python runs their ``__init__`` first, but counting that would put every module
in one cycle with asgihost/__init__.py, which imports the API).

TYPE_CHECKING imports count: a module that names another's types depends on it, and a cycle
kept only by them is still a cycle in the design. ``import_graph(type_checking=False)`` leaves
them out, for a rule that has to (none does today).

Rules:
- No import cycles among asgihost modules. Today there are some: that test is an expected
  failure (strict, so it fails once they are gone and the xfail must go), and a second test
  fails on any cycle not among the known ones.
- asgihost/protocols/* is sans-IO: it imports neither asyncio nor asgihost.asgi nor
  asgihost.runtime.
- asgihost/asgi/* imports no socket.
- Only asgihost/runtime/* imports asyncio, socket, signal or multiprocessing, but for the
  exceptions listed in ``IO_EXCEPTIONS`` with their reasons; each must still be true.
"""

from __future__ import annotations

import ast
import pathlib
import sys
from collections.abc import Iterator

ROOT = pathlib.Path(__file__).resolve().parent.parent / "asgihost"
IO_MODULES = frozenset({"asyncio", "socket", "signal", "multiprocessing"})

# (module, stdlib module) pairs outside runtime/ allowed to import an I/O module, and why.
IO_EXCEPTIONS = {
    ("asgihost.cli", "signal"): "`asgihost reload` sends SIGHUP to the pid a pid file names",
}


class Import:
    """One imported name as the graph sees it: ``target``, a dotted module name."""

    __slots__ = ("target", "line", "type_only")

    def __init__(self, target: str, line: int, type_only: bool) -> None:
        self.target = target
        self.line = line
        self.type_only = type_only


def modules() -> dict[str, pathlib.Path]:
    """Every module of asgihost by dotted name (a package by its own name, for __init__.py)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _statements(body: list[ast.stmt], type_only: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``body``, nested ones too, and whether it is for typing only."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, True)
            yield from _statements(node.orelse, type_only)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _statements([child], type_only)
                elif isinstance(child, ast.excepthandler | ast.match_case):
                    yield from _statements(child.body, type_only)


def imports_of(name: str, path: pathlib.Path, known: dict[str, pathlib.Path]) -> list[Import]:
    """The modules ``name`` (at ``path``) imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, type_only in _statements(tree.body, False):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno, type_only) for alias in node.names]
            continue
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        else:
            assert node.module is not None
            base = node.module
        found.append(Import(base, node.lineno, type_only))
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if submodule in known:
                found.append(Import(submodule, node.lineno, type_only))
    return found


def import_graph(type_checking: bool = True) -> dict[str, dict[str, Import]]:
    """Module -> {imported module: the first import of it}, stdlib and third party included."""
    known = modules()
    graph: dict[str, dict[str, Import]] = {}
    for name, path in known.items():
        edges: dict[str, Import] = {}
        for item in imports_of(name, path, known):
            if item.target != name and (type_checking or not item.type_only):
                edges.setdefault(item.target, item)
        graph[name] = edges
    return graph


def internal(graph: dict[str, dict[str, Import]]) -> dict[str, list[str]]:
    return {name: sorted(t for t in edges if t in graph) for name, edges in graph.items()}


def components(edges: dict[str, list[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def cycle_path(edges: dict[str, list[str]], component: frozenset[str]) -> list[str]:
    """One cycle through the component, from its first module back to it (breadth first: a
    shortest one)."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in edges[node]:
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target in component and target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {sorted(component)}")


def describe(edges: dict[str, list[str]], cycles: list[frozenset[str]]) -> str:
    return "; ".join(
        f"{' -> '.join(cycle_path(edges, component))} (in a cycle: {', '.join(sorted(component))})"
        for component in cycles
    )


def in_layer(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


# ---- the graph itself ------------------------------------------------------------------------


def test_the_graph_resolves_relative_and_type_checking_imports():
    graph = import_graph()
    # `from ..version import __version__` in a subpackage module: the sibling package's module.
    assert "asgihost.version" in graph["asgihost.runtime.worker"]
    # `from . import loop as loops`: the package and its module.
    assert "asgihost.runtime.loop" in graph["asgihost.runtime.worker"]
    # `from . import flags` in a package's __init__: its module, no edge to itself.
    assert "asgihost.config.flags" in graph["asgihost.config"]
    assert "asgihost.config" not in graph["asgihost.config"]
    # Under `if TYPE_CHECKING:`, counted and marked; left out on request.
    assert graph["asgihost.runtime.websocket"]["asgihost.runtime.exchange"].type_only
    assert "asgihost.runtime.exchange" not in import_graph(type_checking=False)["asgihost.runtime.websocket"]
    # A function's own import counts.
    assert not graph["asgihost.api"]["asgihost.runtime.worker"].type_only
    assert "asgihost.protocols.negotiate" in graph


def test_components_and_cycle_paths():
    edges = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"]}
    assert components(edges) == [frozenset({"a", "b", "c"})]
    assert cycle_path(edges, frozenset({"a", "b", "c"})) == ["a", "b", "c", "a"]


# ---- cycles ----------------------------------------------------------------------------------


def test_no_import_cycles():
    edges = internal(import_graph())
    cycles = components(edges)
    assert not cycles, f"import cycles: {describe(edges, cycles)}"


# ---- layer rules -----------------------------------------------------------------------------


def _violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for name, edges in import_graph().items():
        if not in_layer(name, layer):
            continue
        for target, item in edges.items():
            if any(in_layer(target, f) for f in forbidden):
                found.append(f"{name} (line {item.line}) imports {target}")
    return found


def test_protocols_are_sans_io():
    assert _violations("asgihost.protocols", ("asyncio", "asgihost.asgi", "asgihost.runtime")) == []


def test_the_asgi_layer_opens_no_sockets():
    assert _violations("asgihost.asgi", ("socket",)) == []


def test_only_the_runtime_does_io():
    used = set()
    wrong = []
    for name, edges in import_graph().items():
        if in_layer(name, "asgihost.runtime"):
            continue
        for target, item in edges.items():
            top = target.partition(".")[0]
            if top not in IO_MODULES:
                continue
            if (name, top) in IO_EXCEPTIONS:
                used.add((name, top))
            else:
                wrong.append(f"{name} (line {item.line}) imports {target}")
    assert wrong == []
    assert used == set(IO_EXCEPTIONS), f"stale exceptions: {sorted(set(IO_EXCEPTIONS) - used)}"


MAX_LINES = 500


def test_no_module_is_over_500_lines():
    """The map's rule (docs/architecture.md): a module that grows past it is split by what it owns."""
    long = {
        name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_rules_catch_a_violation(tmp_path, monkeypatch):
    package = tmp_path / "asgihost"
    (package / "protocols").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "protocols" / "__init__.py").write_text("")
    (package / "protocols" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..runtime import transport\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", package)
    assert _violations("asgihost.protocols", ("asgihost.runtime",)) == [
        "asgihost.protocols.bad (line 3) imports asgihost.runtime"
    ]
