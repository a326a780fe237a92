"""The shape of the code: no import cycles, and nothing imports the command line.

The import graph is read from the source (every ``import`` and ``from ... import``
of an xltools module, at the top of a module or inside a function, except those
under ``if TYPE_CHECKING:``, which only name types), so a lazy import that goes the
wrong way counts as much as one at the top. README's "The code" shows the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "xltools"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, name: str, modules: dict[str, Path]) -> set[str]:
    """The xltools modules a module's code imports (type-checking-only imports left out)."""
    package = name if modules[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {module for module in found if module in modules and module != name}


def import_graph() -> dict[str, set[str]]:
    """Each xltools module and the xltools modules it imports."""
    modules = _modules()
    return {
        name: _imported(ast.parse(path.read_text(encoding="utf-8")), name, modules)
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    assert "xltools.model" in graph["xltools.register_sheets"]
    assert "xltools.register" in graph["xltools.summary"]
    assert "xltools.cli" in graph["xltools.cli.consolidate"]
    # Only for type hints: the register does not import the roll-up.
    assert "xltools.consolidate" not in graph["xltools.register"]
    # A cycle is found when there is one.
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def _command_line(module: str) -> bool:
    # ``python -m xltools`` (xltools/__main__.py) is the command line's other door.
    return module in ("xltools.cli", "xltools.__main__") or module.startswith("xltools.cli.")


def test_nothing_imports_the_command_line():
    graph = import_graph()
    importers = {
        module: sorted(m for m in targets if _command_line(m))
        for module, targets in graph.items()
        if not _command_line(module)
    }
    assert {module: cli for module, cli in importers.items() if cli} == {}


if __name__ == "__main__":  # pragma: no cover - prints the graph for README's "The code"
    for module, targets in import_graph().items():
        print(module, "->", ", ".join(sorted(targets)) or "-")
    print("cycles:", cycles(import_graph()))
