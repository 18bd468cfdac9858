"""The Makefile's rules as make itself reads them, for the tests that check targets and their commands."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@cache
def make_rules() -> dict[str, tuple[list[str], str]]:
    """target -> (prerequisites, recipe) from make's database (`make -p`): variables in prerequisites are
    expanded there, recipes are shown as written."""
    database = subprocess.run(
        ["make", "--no-print-directory", "-p", "-n", "help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rules: dict[str, tuple[list[str], str]] = {}
    for block in database.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        head = re.match(r"^([a-z0-9.%/-]+):(?!=)\s*(.*)$", lines[0]) if lines else None
        if head:
            recipe = "\n".join(line for line in lines[1:] if line.startswith("\t"))
            rules[head.group(1)] = (head.group(2).replace("|", " ").split(), recipe)
    return rules
