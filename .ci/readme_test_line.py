#!/usr/bin/env python3
"""Prints the README's Quick start test command, exactly as a user copies it (without its trailing comment).

`.ci/run` runs what this prints, so the command CI checks on a fresh clone is the README's own and the two cannot
drift apart; tests/test_extras.py checks that the README has exactly one such line and that it installs no extra."""
from __future__ import annotations

import re
import sys
from pathlib import Path

MARK = "# install, then run the tests"


def readme_test_line(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[-1].split("\n## ", 1)[0]
    lines = [line for line in quick_start.splitlines() if MARK in line]
    if len(lines) != 1:
        raise SystemExit(f"{readme}: expected one Quick start line marked {MARK!r}, found {len(lines)}")
    return re.sub(r"\s+#.*$", "", lines[0]).strip()


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print(readme_test_line(Path(sys.argv[1]) if len(sys.argv) > 1 else root / "README.md"))
