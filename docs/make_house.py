#!/usr/bin/env python3
"""The picture of the house in the README, drawn from the code's own imports so that it cannot drift.

Every module of `dqn_core/` and `app/` is read (not imported) and its imports are gathered by part: a folder of the
engine (`training`, `envs`, …), the engine's top-level modules together (`settings`: config, presets, paths, …), the
window (`app`). Prints a Mermaid graph; `--write` puts it into README.md between its two markers, `--check` exits 1
when the README's picture differs from the code's (tests/test_house.py runs it).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- house: begin (python docs/make_house.py --write) -->", "<!-- house: end -->"
TOP_LEVEL = "settings"          # dqn_core's own modules: config, presets, device, paths, extras, fileio, video


def part_of(module: str) -> str | None:
    """The part a module belongs to, or None for a module outside the project."""
    parts = module.split(".")
    if parts[0] == "app":
        return "app"
    if parts[0] != "dqn_core":
        return None
    if len(parts) == 1:
        return TOP_LEVEL
    package = ROOT / "dqn_core" / parts[1]
    return parts[1] if package.is_dir() else TOP_LEVEL


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    """The project modules `path` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for folder in ("dqn_core", "app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = part_of(module_name(path))
            targets = graph.setdefault(source, set())
            for module in imports(path):
                target = part_of(module)
                if target and target != source:
                    targets.add(target)
    return graph


ORDER = ("app", "cli", "experiments", "training", "learning", "envs", "agentfile", TOP_LEVEL)


def mermaid() -> str:
    graph = edges()
    lines = ["```mermaid", "flowchart TD"]
    for source in ORDER:
        targets = sorted(graph.get(source, ()), key=ORDER.index)
        if targets:
            lines.append(f"    {source} --> {' & '.join(targets)}")
    lines.append("```")
    return "\n".join(lines)


def readme_block(text: str) -> str:
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()


def main(argv: list[str]) -> int:
    picture = mermaid()
    readme = ROOT / "README.md"
    if "--write" in argv:
        text = readme.read_text(encoding="utf-8")
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        readme.write_text(text[:start] + "\n" + picture + "\n" + text[end:], encoding="utf-8")
    elif "--check" in argv:
        if readme_block(readme.read_text(encoding="utf-8")) != picture:
            print("README.md's picture of the house differs from the code's imports: python docs/make_house.py "
                  "--write", file=sys.stderr)
            return 1
    else:
        print(picture)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
