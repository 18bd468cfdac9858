"""`make explain TEXT=...` (`python -m local explain`): the answer and the text with its words coloured by
weight on a terminal, the same lines without colour in a pipe or with NO_COLOR; bad input in one line."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from handler.words import Credit, split_words
from local.__main__ import main
from local.explain import AGAINST, TOWARDS, painted

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Love it, it's wonderful 😍 but the lid is $2 too dear"
COLOURED = re.compile(r"\x1b\[30;48;5;(\d+)m(.*?)\x1b\[0m")


def run_in_terminal(args: list[str], env: dict[str, str]) -> str:
    """The command's output when its stdout is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    with subprocess.Popen(args, cwd=ROOT, env=env, stdout=follower, stderr=subprocess.PIPE) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def explain_command(artifact: Path) -> list[str]:
    return [sys.executable, "-m", "local", "explain", "--model", str(artifact), TEXT]


def test_a_pipe_gets_the_text_as_sent_and_the_weighed_words(tiny_artifact):
    done = subprocess.run(explain_command(tiny_artifact), cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"(NEGATIVE|POSITIVE) [01]\.\d{3}  \(tiny-test@[0-9a-f]{12}\)", lines[0])
    assert TEXT in lines
    assert "\x1b[" not in done.stdout
    listed = [line.split("  ", 1)[1] for line in lines if re.match(r"[+-]\d\.\d{3}  ", line)]
    assert listed
    assert set(listed) <= {word.text for word in split_words(TEXT)}


def test_a_terminal_gets_the_words_coloured_and_no_color_turns_it_off(tiny_artifact):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    coloured = run_in_terminal(explain_command(tiny_artifact), env)
    painted_words = COLOURED.findall(coloured.splitlines()[2])
    assert painted_words
    assert all(int(shade) in TOWARDS + AGAINST for shade, _ in painted_words)
    assert COLOURED.sub(r"\2", coloured.splitlines()[2]) == TEXT  # the colours wrap words, nothing else
    plain = run_in_terminal(explain_command(tiny_artifact), {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain
    assert TEXT in plain.splitlines()


def test_blue_towards_the_label_orange_against_and_faint_words_plain():
    text = "good bad meh"
    credits = [Credit("good", 0, 4, 0.5), Credit("bad", 5, 8, -0.3), Credit("meh", 9, 12, 0.01)]
    shown = painted(text, credits, colour=True)
    assert COLOURED.findall(shown) == [(str(TOWARDS[2]), "good"), (str(AGAINST[1]), "bad")]
    assert shown.endswith(" meh")
    assert painted(text, credits, colour=False) == text


@pytest.mark.parametrize("text", ["", "   "])
def test_a_blank_text_is_a_one_line_error(tiny_artifact, capsys, text):
    assert main(["explain", "--model", str(tiny_artifact), text]) == 2
    assert capsys.readouterr().err == 'error: the text is blank: make explain TEXT="a review"\n'


def test_no_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["explain", "--model", str(tmp_path), "great"]) == 2
    assert capsys.readouterr().err.startswith(f"error: no model in {tmp_path}")


def test_make_explain_passes_the_text_as_given(make_dry_run, tmp_path):
    """Quotes, apostrophes, `$` and emoji reach the command as typed (one shell word)."""
    text = """it's $20, "great" 😍"""
    done = make_dry_run("explain", f"TEXT={text}", f"MODEL_DIR={tmp_path}")
    assert done.returncode == 0, done.stderr
    command = done.stdout.splitlines()[-1]
    assert command.endswith(f"-m local explain --model {tmp_path} 'it'\\''s $20, \"great\" 😍'")
    echoed = subprocess.run(
        ["sh", "-c", f"printf %s {command.split(str(tmp_path), 1)[1]}"], capture_output=True
    )
    assert echoed.stdout.decode() == text


def test_make_explain_without_text_names_the_variable(make_dry_run, tmp_path):
    done = make_dry_run("explain", f"MODEL_DIR={tmp_path}")
    assert done.returncode != 0
    assert 'make explain needs TEXT="a review"' in done.stderr


def test_make_score_passes_explain(make_dry_run, tmp_path):
    done = make_dry_run("score", "IN=a.jsonl", "OUT=b.jsonl", "EXPLAIN=1", f"MODEL_DIR={tmp_path}")
    assert "--explain" in done.stdout.splitlines()[-1].split()
    plain = make_dry_run("score", "IN=a.jsonl", "OUT=b.jsonl", "EXPLAIN=0", f"MODEL_DIR={tmp_path}")
    assert "--explain" not in plain.stdout
