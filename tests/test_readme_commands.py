"""Every `make` command the READMEs show runs as written, and every link in them leads somewhere.

Each command of a code block in README.md and */README.md is run as `make -n` (a dry run: recipes are
printed, not run, and stale venv stamps only print their pip commands), so what make itself refuses fails
here: a missing variable ("make bulk needs OUTPUT=..."), a target that does not exist, a refused MODEL_DIR.
Relative links of those READMEs and docs/ must name an existing file, and a `#anchor` a heading of it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.makefile_rules import REPO, make_rules

READMES = [REPO / "README.md", *sorted(REPO.glob("*/README.md"))]
DOCS = [*READMES, *sorted((REPO / "docs").glob("*.md"))]
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELL_BLOCKS = (
    "",
    "bash",
    "sh",
    "shell",
    "console",
)  # a ```text block (an error message, a table) is not run


@dataclass(frozen=True)
class MakeCommand:
    """One `make ...` of a README code block, with the environment assignments written before it."""

    readme: str
    env: dict[str, str]
    args: list[str]

    def __str__(self) -> str:
        return f"{self.readme}: {' '.join([*(f'{k}={v}' for k, v in self.env.items()), 'make', *self.args])}"


def tokens(path: Path) -> list[Token]:
    return MarkdownIt().parse(path.read_text())


def make_commands(path: Path) -> list[MakeCommand]:
    """Every make command of the file's shell code blocks: lines split at `&&`, `||`, `;` and `|`, comments
    and a trailing `&` dropped, leading `VAR=value` kept as the environment."""
    commands = []
    blocks = [
        token.content
        for token in tokens(path)
        if token.type == "code_block" or (token.type == "fence" and token.info.strip() in SHELL_BLOCKS)
    ]
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, ";"]:
            if word in ("&&", "||", ";", "|", "&"):
                env = {}
                while current and ASSIGNMENT.match(current[0]):
                    key, value = current.pop(0).split("=", 1)
                    env[key] = value
                if current[:1] == ["make"]:
                    commands.append(MakeCommand(str(path.relative_to(REPO)), env, current[1:]))
                current = []
            else:
                current.append(word)
    return commands


COMMANDS = [command for readme in READMES for command in make_commands(readme)]


def test_the_readmes_show_make_commands() -> None:
    """The extraction itself: the quick start, a chained command and an environment prefix are found."""
    shown = {str(command) for command in COMMANDS}
    assert "README.md: make demo" in shown
    assert any(command.args[:1] == ["bulk"] for command in COMMANDS)
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_make_accepts_the_command_as_written(command: MakeCommand) -> None:
    # Only what locates the tools: a variable of an enclosing make (make test MODEL_DIR=...) or of the
    # user's shell (TORCH_INDEX, STACK) would change what the README's command means.
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ} | command.env
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *command.args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{command}: {done.stderr.strip().splitlines()[-1:]}"
    assert "*** " not in done.stderr, done.stderr


def test_a_recipe_line_that_runs_make_runs_nothing_else() -> None:
    """`make -n` runs a recipe line that calls $(MAKE), so that the dry run can recurse: anything else on
    that line would run for real in the dry runs above (lint's ruff did, chained to `$(MAKE) typecheck`)."""
    lines = [line for _, recipe in make_rules().values() for line in recipe.splitlines() if "$(MAKE)" in line]
    assert lines
    assert [line for line in lines if not re.fullmatch(r"\t\+?\$\(MAKE\) [^;&|]*", line)] == []


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found = tokens(path)
    return {slug(found[i + 1].content) for i, token in enumerate(found) if token.type == "heading_open"}


def links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (web and mail links left out)."""
    targets = []
    for token in tokens(path):
        for child in token.children or []:
            href = str(child.attrs.get("href", child.attrs.get("src", "")))
            if child.type in ("link_open", "image") and href and not re.match(r"^[a-z]+:", href):
                targets.append(href)
    return targets


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: str(doc.relative_to(REPO)))
def test_links_lead_to_existing_files_and_headings(doc: Path) -> None:
    broken = []
    for href in links(doc):
        target, _, anchor = href.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            broken.append(f"{href} (no such file)")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{href} (no such heading)")
    assert not broken, f"{doc.relative_to(REPO)}: {broken}"
