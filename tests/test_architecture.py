"""The floor plan, enforced: who may import whom, and no import cycles.

Every module of ``atlas`` and ``app`` is read with ``ast`` (nothing is imported): its
imports at module level and inside functions count, those under ``if TYPE_CHECKING:`` do
not (they never run). A broken rule fails with the file, line and import that breaks it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

# Torch-free modules anyone may import; they import only each other.
FOUNDATIONS = {"atlas.errors", "atlas.address", "atlas.bounds", "atlas.text", "atlas.vocabulary", "atlas.registry"}
# What the app and the CLI may import of atlas: the catalogue's door and its records, the
# foundations, exchange (exports, figures) and compute (running jobs here, the demo).
FRONT_DOOR = {"atlas", "atlas.catalog", "atlas.catalog.records", *FOUNDATIONS}
FRONT_PACKAGES = ("atlas.exchange", "atlas.compute")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name (a submodule when ``from package import submodule``)
    path: Path
    line: int
    module_level: bool

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    files = [*sorted((ROOT / "atlas").rglob("*.py")), *sorted(APP.rglob("*.py"))]
    return {module_name(path): path for path in files}


MODULES = all_modules()
# The app's pages import its own modules by their names under app/ (Streamlit puts app/ on the path).
APP_LOCAL = {name.split(".")[1] for name in MODULES if name.startswith("app.") and name.count(".") >= 1}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, importer: str) -> str:
    """Our dotted name for an imported module (``components.x`` from the app is ``app.components.x``)."""
    if importer.startswith("app") and name.split(".")[0] in APP_LOCAL:
        return f"app.{name}"
    return name


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [_resolve(alias.name, importer) for alias in node.names]
    if node.level:  # relative: from the importer's package
        package = importer.split(".") if is_package else importer.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = _resolve(node.module or "", importer)
    out = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        out.append(submodule if submodule in MODULES else base)
    return out


def imports_of(name: str, path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit_statement(other, module_level)
                continue
            visit_statement(child, module_level)

    def visit_statement(child: ast.AST, module_level: bool) -> None:
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            for target in _targets(child, name, path.name == "__init__.py"):
                found.append(Import(name, target, path, child.lineno, module_level))
            return
        inner = module_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        visit(child, inner)

    visit(ast.parse(path.read_text(), str(path)), True)
    return found


ALL_IMPORTS = [imp for name, path in MODULES.items() for imp in imports_of(name, path)]


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def broken(importers: tuple[str, ...], allowed, exempt: tuple[str, ...] = ()) -> list[str]:
    """Imports of ``atlas``/``app`` modules by modules in ``importers`` that ``allowed`` refuses."""
    return list(dict.fromkeys(
        str(imp) for imp in ALL_IMPORTS
        if within(imp.importer, *importers) and not within(imp.importer, *exempt)
        and within(imp.imported, "atlas", "app") and not allowed(imp)
    ))


def test_the_app_and_the_cli_come_in_through_the_catalogue():
    def allowed(imp: Import) -> bool:
        own = "app" if imp.importer.startswith("app") else "atlas.cli"
        return imp.imported in FRONT_DOOR or within(imp.imported, own, *FRONT_PACKAGES)

    offending = broken(("app", "atlas.cli"), allowed)
    assert not offending, (
        "the app and the CLI import only atlas / atlas.catalog (and atlas.catalog.records), the foundations, "
        "atlas.exchange and atlas.compute; reach the rest through Catalog methods or re-export it from "
        "atlas.catalog / atlas.vocabulary:\n  " + "\n  ".join(offending)
    )


def test_the_queue_knows_nothing_of_the_catalogue():
    offending = broken(("atlas.jobs",), lambda imp: not within(imp.imported, "atlas.catalog", "atlas.jobs.runtime"),
                       exempt=("atlas.jobs.runtime",))
    assert not offending, (
        "atlas.jobs (the queue's storage) takes the queue and the layers it needs, never the catalogue, "
        "and leaves the worker runtime (atlas.jobs.runtime) to those who ask for it:\n  " + "\n  ".join(offending)
    )


def test_the_catalogue_imports_nothing_above_it():
    offending = broken(("atlas.catalog",), lambda imp: not within(
        imp.imported, "atlas.compute", "atlas.exchange", "atlas.cli", "app", "atlas.jobs.runtime"))
    assert not offending, (
        "atlas.catalog reaches compute and exchange code only by name (job kinds it enqueues, the "
        "EXCHANGERS registry), never by import:\n  " + "\n  ".join(offending)
    )


def test_the_database_layer_imports_nothing_above_it():
    offending = broken(("atlas.db",), lambda imp: not within(
        imp.imported, "atlas.catalog", "atlas.compute", "atlas.exchange", "atlas.jobs", "atlas.cli", "app"))
    assert not offending, "atlas.db is the bottom layer (with the foundations):\n  " + "\n  ".join(offending)


def test_the_foundations_import_only_foundations():
    offending = broken(tuple(FOUNDATIONS), lambda imp: imp.imported in FOUNDATIONS)
    assert not offending, (
        f"the foundations ({', '.join(sorted(FOUNDATIONS))}) are importable by anyone, so they import only "
        "each other:\n  " + "\n  ".join(offending)
    )


def import_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return [_cycle_through(group, edges) for group in groups]


def _cycle_through(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest path from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges.get(node, ()) & members):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    return group


def test_module_level_imports_have_no_cycles():
    edges: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        if imp.module_level and imp.imported in MODULES and imp.imported != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.imported)
    cycles = import_cycles(edges)
    assert not cycles, "import cycles between modules:\n  " + "\n  ".join(" -> ".join(c) for c in cycles)


def test_a_cycle_is_reported_as_its_path():
    edges = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set(), "e": {"e"}}
    assert import_cycles(edges) == [["a", "b", "c", "a"], ["e", "e"]]


@pytest.mark.parametrize("source, expected", [
    ("from atlas.catalog import audit\n", ["atlas.catalog.audit"]),
    ("from atlas.catalog import Catalog\n", ["atlas.catalog"]),
    ("def f():\n    import atlas.jobs.queue\n", ["atlas.jobs.queue"]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from atlas.catalog import Catalog\n", ["typing"]),
])
def test_the_walker_sees_what_python_runs(tmp_path: Path, source: str, expected: list[str]):
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    assert [imp.imported for imp in imports_of("atlas.cli.probe", probe)] == expected
