"""The package's shape holds: no import cycle between modules or between packages, small modules and functions.

Imports are read from the source (every `import`, including those inside functions; not those under
`if TYPE_CHECKING:`, which never run). A package's node is its folder; each top-level module of the package
is a node of its own, since `destination_databricks/` itself is only the namespace that holds them.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "destination_databricks"
PACKAGE = ROOT.name
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return skipped


def imports(name: str) -> set[str]:
    """The modules of this package that ``name`` imports."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    skipped = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            named = {f"{base}.{a.name}" for a in node.names} & MODULES.keys()  # `from . import x` may name a module
            found |= named if len(named) == len(node.names) else named | {base}
    return {m for m in found if m in MODULES and m != name}


def node(name: str) -> str:
    """A module's package, or the module itself when it sits at the top of the package."""
    path = MODULES[name]
    folder = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return name if folder == PACKAGE else folder


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        path.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return path[path.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        path.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_cycle_between_modules():
    assert cycle({name: imports(name) for name in MODULES}) is None


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        graph.setdefault(node(name), set()).update(node(m) for m in imports(name) if node(m) != node(name))
    assert cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_are_small(name):
    source = MODULES[name].read_text()
    assert source.count("\n") <= MAX_MODULE_LINES
    long = [f"{f.name}: {f.end_lineno - f.lineno + 1} lines" for f in ast.walk(ast.parse(source))
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_each_backend_is_one_registry_line_and_its_module_exists():
    from destination_databricks.backends import REGISTRY

    for target in REGISTRY.values():
        module, _, cls = target.partition(":")
        assert f"{PACKAGE}.backends.{module}" in MODULES and cls
