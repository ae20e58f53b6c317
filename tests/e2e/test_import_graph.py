"""The house keeps its shape: stage packages import only stages below them, no module
circles, and the heavy ML libraries load only under runner/adapters/.

Read from the source with `ast` (nothing is imported), so the test also covers imports
inside functions. `if TYPE_CHECKING:` imports count too: an annotation that names a type of
a stage above is an arrow up as well (pass the stage below what it needs instead)."""

from __future__ import annotations

import ast
from pathlib import Path

RUNNER = (
    next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "runner"
)

# Lowest first; a module may import its own stage and the stages before it.
STAGES = {
    "core": 0,
    "recipe": 1,
    "plan": 2,
    "cache": 3,
    "host": 4,
    "report": 5,
    "deploy": 5,
    "adapters": 6,
    "executor": 7,
    "session": 8,
    "execution": 9,
    "api": 10,
    "cli": 11,
    "__main__": 12,
}
HEAVY = {
    "openvino",
    "openvino_tokenizers",
    "openvino_genai",
    "nncf",
    "torch",
    "transformers",
    "optimum",
}
TOP_LEVEL = {"__init__.py", "__main__.py", "session.py", "execution.py"}


def _module(path: Path, root: Path = RUNNER) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(path: Path, root: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module or module.name, only for type checking) of one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = _type_checking_lines(tree)
    module = _module(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, node.lineno in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                found.append((node.lineno, f"{base}.{alias.name}", node.lineno in typing_only))
    return found


def _internal_target(name: str, modules: set[str]) -> str | None:
    """The runner module ``name`` refers to (``from pkg import module`` or ``pkg.module.attr``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _edges(root: Path, include_typing: bool) -> dict[str, set[str]]:
    files = sorted(root.rglob("*.py"))
    modules = {_module(p, root) for p in files}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        here = _module(path, root)
        for _, name, typing_only in _imports(path, root):
            if typing_only and not include_typing:
                continue
            target = _internal_target(name, modules) if name.startswith("runner") else None
            if target and target not in (here, "runner"):
                edges[here].add(target)
    return edges


def circles(root: Path) -> list[list[str]]:
    """Groups of modules that import each other, directly or around a loop (Tarjan)."""
    edges = _edges(root, include_typing=True)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def upward_imports(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        here = _stage(_module(path, root))
        for line, name, _ in _imports(path, root):  # annotations count too
            there = _stage(name) if name.startswith("runner.") else None
            if here not in STAGES or there not in STAGES:
                continue
            if STAGES[there] > STAGES[here]:
                found.append(f"{path.relative_to(root.parent)}:{line} {here} -> {name}")
    return found


def heavy_imports_outside_adapters(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}:{line} imports {name}"
        for path in sorted(root.rglob("*.py"))
        if _stage(_module(path, root)) != "adapters"
        for line, name, _ in _imports(path, root)
        if name.split(".")[0] in HEAVY
    ]


def test_no_import_circles_at_runtime_or_in_annotations() -> None:
    assert circles(RUNNER) == []


def test_no_stage_imports_a_stage_above_it() -> None:
    assert upward_imports(RUNNER) == []


def test_heavy_libraries_load_only_in_adapters() -> None:
    assert heavy_imports_outside_adapters(RUNNER) == []


def test_top_level_holds_only_the_entry_modules_and_stage_packages() -> None:
    files = {p.name for p in RUNNER.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files <= TOP_LEVEL
    packages = {p.name for p in RUNNER.iterdir() if (p / "__init__.py").is_file()}
    assert packages <= set(STAGES)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "runner"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checks_catch_what_they_guard(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "plan/a.py": "from runner.cli.main import main\n",
            "cli/main.py": "def main(): ...\n",
            "cache/b.py": "def f():\n    import openvino\n",
            "recipe/c.py": "from runner.recipe import d\n",
            "recipe/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from runner.recipe.c import X\n",
        },
    )
    assert upward_imports(root) == ["runner/plan/a.py:1 plan -> runner.cli.main.main"]
    assert heavy_imports_outside_adapters(root) == ["runner/cache/b.py:2 imports openvino"]
    assert circles(root) == [["runner.recipe.c", "runner.recipe.d"]]
