"""`python -m bulk [COMMAND] --help`: every command says what it does in complete sentences, not a docstring's
first line cut where the line wrapped."""

from __future__ import annotations

import pytest

import bulk.__main__
from bulk.__main__ import main

COMMANDS = ([], ["score"], ["start"], ["status"])


def description(help_text: str) -> str:
    """The paragraph argparse prints between the usage and the argument lists (empty when none)."""
    paragraphs = [" ".join(p.split()) for p in help_text.strip().split("\n\n")]
    prose = [p for p in paragraphs[1:] if not p.startswith(("positional arguments:", "options:"))]
    return prose[0] if prose else ""


def printed_help(capsys: pytest.CaptureFixture[str], command: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "bulk")
def test_every_help_describes_its_command_in_complete_sentences(capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps at the terminal's width
    said = description(printed_help(capsys, command))
    assert said, f"python -m bulk {' '.join(command)} --help has no description"
    assert said[0].isupper() or said[0] == "`", said
    assert said.endswith((".", ")", "!", "?")), f"cut mid-sentence: {said!r}"


def test_the_top_level_help_is_the_module_docstrings_first_paragraph(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # one line: argparse also breaks lines after hyphens
    first_paragraph = " ".join(bulk.__main__.__doc__.split("\n\n")[0].split())
    assert description(printed_help(capsys, [])) == first_paragraph
