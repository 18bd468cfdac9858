"""`python3 trim.py SITE_DIR`: drop what the handler never loads from the packages the image installs.

Run by the Dockerfile in the same layer as the `pip install`, so the files never reach the image. Standard
library only: it runs on the Lambda base's Python before anything else is there. Every pattern is checked
against the pinned closure (tests/image/test_trim.py): the handler still answers from what is left, and a
pattern that matches nothing (a package moved its files) fails the build instead of silently keeping them.

Compiled bytecode (`__pycache__`) stays: /var/task is read-only on Lambda, so a module without it would be
compiled again at every cold start.
"""

from __future__ import annotations

import shutil
import sys
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path, PurePosixPath

# (glob under the site directory, why the handler never needs it). About 67 MB of the 183 MB installed.
PATTERNS: tuple[tuple[str, str], ...] = (
    # The wheel ships ORT's C API library beside the Python binding for native callers; the binding has ORT
    # linked in (its ELF needs no libonnxruntime.so) and never opens it: 35 MB.
    ("onnxruntime/capi/libonnxruntime.so.*", "C API library, not loaded by the Python binding"),
    ("onnxruntime/transformers", "graph optimisation and benchmarking tools (build time)"),
    ("onnxruntime/quantization", "quantization tools (export/ quantizes, with its own onnxruntime)"),
    ("onnxruntime/tools", "model conversion and mobile packaging tools"),
    ("onnxruntime/datasets", "sample models"),
    ("onnxruntime/backend", "the ONNX backend-test API"),
    ("**/tests", "packages' own test suites (numpy's: 15 MB)"),
    ("numpy/f2py", "Fortran wrapper generator"),
    # numpy loads these subpackages on first attribute access only (its __getattr__); neither the handler
    # nor onnxruntime or tokenizers touches them: 9 MB.
    ("numpy/random", "random generators"),
    ("numpy/ma", "masked arrays"),
    ("numpy/polynomial", "polynomial classes"),
    ("numpy/_core/_simd.*", "SIMD test bindings, imported by numpy's own tests"),
    ("numpy/_pyinstaller", "PyInstaller hooks"),
    ("numpy/_core/include", "C headers for building extensions"),
    ("numpy/_core/lib", "static library and pkg-config files for building extensions"),
    ("**/*.pyi", "type stubs, read by type checkers only"),
)


def trimmed(relative: PurePosixPath) -> bool:
    """Whether trim() removes this path (relative to the site directory), itself or with a folder above it:
    how bench/sizes.py sizes the image from an untrimmed install."""
    for pattern, _why in PATTERNS:
        parts = pattern.split("/")
        anywhere = parts[0] == "**"  # "**/x": x at any depth, the top included, as Path.glob reads it
        parts = parts[1:] if anywhere else parts
        starts = range(len(relative.parts) - len(parts) + 1) if anywhere else range(1)
        for start in starts:
            window = relative.parts[start : start + len(parts)]
            if len(window) == len(parts) and all(map(fnmatch, window, parts)):
                return True
    return False


def trim(site: Path) -> dict[str, int]:
    """Delete every match of PATTERNS under `site`; bytes freed per pattern.

    Raises:
        FileNotFoundError: a pattern matched nothing (the installed packages no longer look as expected).
    """
    freed = {}
    for pattern, _why in PATTERNS:
        matches = sorted(site.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"{pattern!r} matches nothing under {site}: update image/trim.py")
        freed[pattern] = sum(_remove(path) for path in matches)
    return freed


def _remove(path: Path) -> int:
    """Delete a file or directory tree (a match inside an earlier match may be gone already); its bytes."""
    if not path.exists():
        return 0
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        shutil.rmtree(path)
        return size
    size = path.stat().st_size
    path.unlink()
    return size


if __name__ == "__main__":
    done = trim(Path(sys.argv[1]))
    for pattern, size in done.items():
        print(f"trim: {size / 1e6:7.1f} MB  {pattern}")
    print(f"trim: {sum(done.values()) / 1e6:7.1f} MB in all")
