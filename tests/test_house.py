"""The shape of the house, read from the code: the README's picture is the code's, no import cycle anywhere, the
engine's rooms small enough to read (classes ≤ 300 lines, functions ≤ 80, folders ≤ 12 modules)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))
import make_house  # noqa: E402  isort: skip  (found through the path set above)


def test_the_readmes_picture_is_drawn_from_the_codes_imports():
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "make_house.py"), "--check"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def _module_graph() -> dict[str, set[str]]:
    paths = [p for folder in ("dqn_core", "app") for p in (ROOT / folder).rglob("*.py")]
    names = {make_house.module_name(p) for p in paths}
    graph = {}
    for path in paths:
        here = make_house.module_name(path)
        deps = set()
        for module in make_house.imports(path):
            while module and module not in names:
                module = module.rpartition(".")[0]
            if module and module != here and not here.startswith(module + "."):   # a package's own __init__
                deps.add(module)
        graph[here] = deps
    return graph


def test_no_import_cycle_in_the_engine_or_the_window():
    graph = _module_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []
    assert not any(dep.startswith("app") for mod, deps in graph.items() if mod.startswith("dqn_core") for dep in deps)


def test_the_engines_rooms_are_small_enough_to_read():
    too_long = []
    for path in (ROOT / "dqn_core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            limit = 300 if isinstance(node, ast.ClassDef) else 80 if isinstance(node, ast.FunctionDef) else None
            if limit and node.end_lineno - node.lineno + 1 > limit:
                too_long.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert too_long == []
    for folder in [ROOT / "dqn_core", *(p for p in (ROOT / "dqn_core").iterdir() if p.is_dir())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 12, folder
