"""The package's shape: every module imports, no import cycles, and product code never imports tests or training.

The import graph is read from the source with `ast`, function-level (deferred) imports
included: a cycle that only closes inside a function is still a cycle, it just fails later.
An edge also runs to each package whose `__init__` an import executes (importing
`asset_pipeline.models.registry` runs `asset_pipeline/models/__init__.py`), except the
importing module's own packages, which are always initialised before it; a name imported
from the module's own package (`from asset_pipeline.checks import CheckResult` in
checks/ocr.py) is an edge like any other.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = "asset_pipeline"
ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("asset_pipeline_tests", "training")  # beside the package, outside the wheel


def module_files() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the package."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = module_files()


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name a module imports from, anywhere in its body (relative imports resolved).

    `from pkg import x` gives `pkg.x` when x is a module of the package, else `pkg` (a name
    read from pkg's namespace).
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                names.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, and the packages those imports initialise."""
    graph = {}
    for name, path in MODULES.items():
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        targets = set()
        for imported in imported_names(name, path):
            if imported in MODULES and imported != name:
                targets.add(imported)  # read from: an edge even to the module's own package
            parts = imported.split(".")
            targets.update(
                ".".join(parts[:i])
                for i in range(1, len(parts))
                if ".".join(parts[:i]) in MODULES and ".".join(parts[:i]) not in own_packages
            )
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("name", sorted(m for m in MODULES if not m.endswith(".__main__")))  # __main__ runs the CLI
def test_every_module_imports(name):
    importlib.import_module(name)


def test_no_import_cycles_among_the_packages_modules():
    graph = import_graph()
    found = cycles(graph)
    explained = [
        " <-> ".join(component) + ": " + "; ".join(f"{m} -> {sorted(graph[m] & set(component))}" for m in component)
        for component in found
    ]
    assert not found, "import cycles:\n" + "\n".join(explained)


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_product_code_never_imports_tests_or_training():
    offenders = [
        f"{name} imports {imported}"
        for name, path in MODULES.items()
        for imported in sorted(imported_names(name, path))
        if imported.split(".")[0] in FORBIDDEN
    ]
    assert not offenders, offenders


# The layers, bottom up. A module may import its own layer and those below, never one above:
# a model, a storage helper or a check that imported a stage would drag the stage's
# dependencies (and its place in the graph) into every user of the lower layer.
LAYERS = [
    (
        "asset_pipeline.home",
        "asset_pipeline.echo",
        "asset_pipeline.locales",
        "asset_pipeline.specs",
        "asset_pipeline.config",  # the home's config.yaml: a schema, like specs
        "asset_pipeline.presets",
        "asset_pipeline.feeds",
        "asset_pipeline.colour",
        "asset_pipeline.framing",
        "asset_pipeline.media",
        "asset_pipeline.threads",
    ),
    ("asset_pipeline.storage", "asset_pipeline.models", "asset_pipeline.typography"),
    ("asset_pipeline.checks", "asset_pipeline.publishing"),
    ("asset_pipeline.stages",),
    ("asset_pipeline.freshness",),  # reads what publication recorded; the orchestration layer asks it
    (
        "asset_pipeline.orchestration",
        "asset_pipeline.lineage",
        "asset_pipeline.compare",
        "asset_pipeline.measure",  # a model measured on the suite: drafts through the stages and checks
        "asset_pipeline.gate",  # qualification before a model draws; evaluates a stale one (measure)
        "asset_pipeline.validation",
        "asset_pipeline.verification",
        "asset_pipeline.freshness",
        "asset_pipeline.review",
        "asset_pipeline.api",  # the HTTP API: a shell over the stages and runs, as review is (which shares its tokens)
    ),
    ("asset_pipeline.cli", "asset_pipeline.__main__"),
]


def layer_of(name: str) -> int | None:
    for level, prefixes in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    return None


def test_every_module_has_a_layer():
    assert [name for name in MODULES if name != PACKAGE and layer_of(name) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    graph = import_graph()
    upward = [
        f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
        for name, targets in sorted(graph.items())
        for target in sorted(targets)
        if name != PACKAGE and target != PACKAGE and layer_of(target) > layer_of(name)
    ]
    assert not upward, upward
