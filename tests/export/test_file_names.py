"""export/ names the artifact's model file as the contract does (handler/manifest.py MODEL_FILE), never by
spelling it: the one literal left is Optimum's own output name (export/onnx_export.py OPTIMUM_FILE)."""

from __future__ import annotations

import ast
from pathlib import Path

from handler.manifest import MODEL_FILE

EXPORT = Path(__file__).parents[2] / "export"


def spelled(path: Path) -> list[int]:
    """Lines of `path` where a string constant is MODEL_FILE's value (docstrings aside: prose may say it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value == MODEL_FILE and id(node) not in docstrings
    ]


def test_no_export_module_spells_the_model_file():
    found = {path.name: spelled(path) for path in sorted(EXPORT.glob("*.py"))}
    source = (EXPORT / "onnx_export.py").read_text(encoding="utf-8").splitlines()
    optimum = next(n for n, line in enumerate(source, 1) if line.startswith("OPTIMUM_FILE = "))
    assert {name: lines for name, lines in found.items() if lines} == {"onnx_export.py": [optimum]}
