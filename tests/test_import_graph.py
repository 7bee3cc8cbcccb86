"""The packages of asm_db import one way: each only from the levels below it (module-level and
function-local imports alike), and the graph of packages has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import asm_db

ROOT = Path(asm_db.__file__).parent

# The order of asm_db's packages and top-level modules, lowest first: each may import only from
# the levels before its own. A new package (imagery composites, estimates) is added here.
LEVELS = (
    ("errors",),
    # Small modules importing only errors; `migrations` is its __init__ (HEAD) alone.
    ("sql", "gdal_paths", "feature_values", "probability_classes", "staging"),
    ("migrations",),
    ("db",),
    ("grid",),
    ("features",),
    ("ingest",),
    ("imagery",),  # makes tiles with ingest.tiles, the one place tiles are made from ids
    ("modeling",),
    ("maps",),  # scores tiles with a model and records the map
    ("runs",),  # train and predict make their maps with `maps`
    ("change",),
    ("layers",),  # what is published: reads the change classes; read by publish and server
    ("publish",),
    ("review",),  # writes its queues as styled GeoPackages with `publish`
    ("similar",),
    ("server",),
    ("migrations.legacy_pickle",),  # read by migration 0008 only
    ("migrations.env", "migrations.versions"),
    ("cli",),
)
LEVEL = {unit: i for i, names in enumerate(LEVELS) for unit in names}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _unit(module: str) -> str:
    """The package or top-level module a module belongs to (the parts of `migrations` apart)."""
    parts = module.split(".")
    if len(parts) < 2:
        return "asm_db"
    if parts[1] == "migrations" and len(parts) > 2:
        return f"migrations.{parts[2]}"
    return parts[1]


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every asm_db module `path` imports, anywhere in it, with the line."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from asm_db.pkg import name`: name may be a module of pkg.
            found += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
    return [(name, line) for name, line in found if name.startswith("asm_db.")]


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = _unit(_module(path))
        for name, line in _imports(path):
            target = _unit(name)
            if target != source and target != "asm_db":
                where = f"{path.relative_to(ROOT.parent)}:{line}"
                edges.setdefault((source, target), []).append(where)
    return edges


def test_every_package_has_a_level():
    units = {_unit(_module(path)) for path in ROOT.rglob("*.py")} - {"asm_db"}
    assert units - set(LEVEL) == set()


def test_packages_import_only_from_the_levels_below():
    upward = [
        f"{source} imports {target} ({', '.join(where)})"
        for (source, target), where in sorted(_edges().items())
        if LEVEL.get(target, -1) >= LEVEL[source]
    ]
    assert upward == []


def test_the_packages_import_graph_has_no_cycle():
    graph: dict[str, set[str]] = {}
    for source, target in _edges():
        graph.setdefault(source, set()).add(target)
    done: set[str] = set()

    def visit(unit: str, path: tuple[str, ...]) -> None:
        assert unit not in path, f"import cycle: {' -> '.join((*path, unit))}"
        if unit in done:
            return
        for target in sorted(graph.get(unit, ())):
            visit(target, (*path, unit))
        done.add(unit)

    for unit in sorted(graph):
        visit(unit, ())
