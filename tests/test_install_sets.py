"""Each make target installs the requirement set its code imports, and the runtime targets never torch.

The Makefile gives every target that runs `$(PY) -m <package>` the stamp of one requirement set
(`.venv/.installed-<set>` for requirements/<set>.txt; `.venv/.installed`, make install, for dev.txt). Here the
imports of that package are followed through the project's modules (function-level imports and `python -m`
child processes included; imports guarded by `except ImportError` are optional), mapped to their
distributions, and each must be in the set's closure: its pins and, from their installed metadata, everything
they depend on. A target missing a package fails here, not on a user's first run; a runtime target that
reaches torch, transformers or optimum fails too.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import itertools
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.makefile_rules import REPO, make_rules

REQUIREMENTS = REPO / "requirements"
PROJECT = {"bench", "bulk", "client", "export", "handler", "image", "infra", "local"}
RUNTIME_TARGETS = ("score", "serve", "demo", "invoke", "synth", "deploy", "destroy", "bulk", "bulk-status")
BUILD_ONLY = {"torch", "transformers", "optimum", "optimum-onnx", "accelerate"}
STAMP = re.compile(r"^\.venv/\.installed(?:-(?P<set>[a-z]+))?$")


def requirement_set(target: str) -> str:
    """The set a target's stamp installs ("dev" for make install), following phony prerequisites."""
    prerequisites, _ = make_rules()[target]
    for prerequisite in prerequisites:
        if stamp := STAMP.match(prerequisite):
            return stamp.group("set") or "dev"
        if prerequisite == "install":
            return "dev"
    raise AssertionError(f"make {target} installs no requirement set")


def python_targets() -> Iterator[tuple[str, str]]:
    """(target, package) for every target whose recipe runs `$(PY) -m <package>`."""
    for target, (_, recipe) in sorted(make_rules().items()):
        if found := re.search(r"\$\(PY\) -m ([a-z_]+)", recipe):
            yield target, found.group(1)


def pins(path: Path) -> list[Requirement]:
    """The requirements of a requirements file, `-r` includes followed."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found += pins(path.parent / line.removeprefix("-r ").strip())
        elif line:
            found.append(Requirement(line))
    return found


@cache
def closure(name: str) -> frozenset[str]:
    """Every distribution the stamp of set `name` installs: the pins of each file its recipe installs and,
    from installed metadata, their dependencies (markers evaluated, extras not taken), unless `--no-deps`."""
    rules = make_rules()
    stamp = ".venv/.installed" + (f"-{name}" if name != "dev" else "")
    recipe = rules.get(stamp, ([], ""))[1] or rules[".venv/.installed-%"][1]  # its own rule, else the pattern
    todo, seen = [], set()
    for line in recipe.replace("$*", name).splitlines():
        for file in re.findall(r"-r (requirements/\S+\.txt)", line):
            names = [canonicalize_name(requirement.name) for requirement in pins(REPO / file)]
            (seen.update if "--no-deps" in line else todo.extend)(names)
    while todo:
        dist = todo.pop()
        if dist not in seen:
            seen.add(dist)
            for line in metadata.requires(dist) or []:
                requirement = Requirement(line)
                if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                    todo.append(canonicalize_name(requirement.name))
    return frozenset(seen)


def module_file(name: str) -> Path | None:
    path = REPO.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


@cache
def imported_names(path: Path) -> frozenset[str]:
    """Modules `path` imports or runs (`python -m <name>`), outside TYPE_CHECKING and optional imports."""
    names: set[str] = set()

    def visit(node: ast.AST, optional: bool) -> None:
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            children = node.orelse
        elif isinstance(node, ast.Try):
            guarded = any(
                "ImportError" in ast.unparse(handler.type or ast.Name("")) for handler in node.handlers
            )
            for child in node.body:
                visit(child, optional or guarded)
            children = [*node.handlers, *node.orelse, *node.finalbody]
        elif isinstance(node, ast.Import) and not optional:
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not optional and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.List | ast.Tuple):
            values = [element.value if isinstance(element, ast.Constant) else None for element in node.elts]
            names.update(str(after) for flag, after in itertools.pairwise(values) if flag == "-m" and after)
        for child in children:
            visit(child, optional)

    visit(ast.parse(path.read_text()), optional=False)
    return frozenset(names)


def third_party_imports(package: str) -> set[str]:
    """Top-level third-party modules that `python -m <package>` can import, through the project's modules."""
    todo, seen, found = [f"{package}.__main__"], set(), set()
    while todo:
        name = todo.pop()
        top = name.split(".")[0]
        if name in seen or top in sys.stdlib_module_names or top == "__future__":
            continue
        seen.add(name)
        if top not in PROJECT:
            found.add(top)
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # a module imports its packages' __init__ first
            if (path := module_file(".".join(parts[:depth]))) is not None:
                todo += imported_names(path)
    return found - {"pip"}  # every venv has pip (local/ runs `pip download` for the emulator)


@cache
def provided_by() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions that provide it."""
    return dict(metadata.packages_distributions())


def distributions(modules: set[str]) -> set[str]:
    provided = provided_by()
    missing = modules - provided.keys()
    assert not missing, f"not installed in this venv: {sorted(missing)}"
    return {canonicalize_name(dist) for module in modules for dist in provided[module]}


@pytest.mark.parametrize(("target", "package"), list(python_targets()))
def test_each_target_installs_what_its_code_imports(target: str, package: str) -> None:
    name = requirement_set(target)
    needed = distributions(third_party_imports(package))
    assert not needed - closure(name), (
        f"make {target} (requirements/{name}.txt) lacks {needed - closure(name)}"
    )


@pytest.mark.parametrize("target", RUNTIME_TARGETS)
def test_runtime_targets_install_no_torch(target: str) -> None:
    name = requirement_set(target)
    assert name not in {"build", "dev"}, f"make {target} installs the {name} set"
    assert not BUILD_ONLY & closure(name), f"requirements/{name}.txt pulls {BUILD_ONLY & closure(name)}"


def test_make_install_is_every_set() -> None:
    """make install (the tests' venv) depends on the stamp of every set a target uses: it serves them all."""
    assert requirement_set("install") == "dev"
    stamps = [STAMP.match(prerequisite) for prerequisite in make_rules()[".venv/.installed"][0]]
    sets = {stamp.group("set") for stamp in stamps if stamp and stamp.group("set")}
    assert sets == {requirement_set(target) for target, _ in python_targets()} - {"dev"}


def test_the_scan_sees_function_level_imports_and_child_processes() -> None:
    """What the checks above rest on: a lazy import (infra.app imports aws_cdk inside functions) and a
    `python -m` child (local.emulator runs awslambdaric) are both found."""
    assert "aws_cdk" in third_party_imports("infra")
    assert "awslambdaric" in third_party_imports("local")
    assert "torch" not in third_party_imports("bulk")
