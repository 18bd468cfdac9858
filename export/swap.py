"""Put a new directory where an old one is, in one atomic step, so a reader never finds the path missing.

rename() cannot replace a non-empty directory, and renaming the old one away first leaves a moment with no
directory at all (a `make serve` or `make image` then finds no model) and, if the second rename fails, the
old one parked under a temporary name. The kernel can exchange two paths in one step instead: Linux's
renameat2(RENAME_EXCHANGE) (glibc 2.28+, on ext4, xfs, btrfs, tmpfs, overlayfs...) and macOS's
renamex_np(RENAME_SWAP). Only where neither exists does the swap take two renames, and then it puts the
old directory back if the second one fails.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
# The call exists but this kernel or filesystem cannot exchange: fall back to two renames.
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def _exchange_call() -> Callable[[bytes, bytes], int] | None:
    """The C call that exchanges two paths on this platform, or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        return lambda a, b: libc.renameat2(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    if sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        return lambda a, b: libc.renamex_np(a, b, _RENAME_SWAP)
    return None


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically; False (nothing changed) where this platform cannot.

    Raises:
        OSError: the swap is supported but failed (e.g. EXDEV across filesystems); nothing changed.
    """
    call = _exchange_call()
    if call is None:
        return False
    if call(os.fsencode(first), os.fsencode(second)) == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def swap_in_two_steps(new: Path, destination: Path, parked: Path) -> None:
    """The fallback: `destination` renamed to `parked`, then `new` to `destination`; undone if that fails.

    Raises:
        OSError: a rename failed; `destination` is then what it was before.
    """
    os.replace(destination, parked)
    try:
        os.replace(new, destination)
    except BaseException:
        os.replace(parked, destination)
        raise


def swap_in(new: Path, destination: Path) -> Path | None:
    """Make the directory `new` appear at `destination` in place of what was there.

    Returns:
        Where the previous directory now is, for the caller to delete; None if there was none.

    Raises:
        OSError: the swap failed; `destination` is then what it was before, and `new` is still there.
    """
    if not destination.exists() and not destination.is_symlink():
        os.rename(new, destination)  # nothing to replace: one rename is atomic
        return None
    if exchange(new, destination):
        return new
    parked = new.with_name(f"{new.name}-old")
    swap_in_two_steps(new, destination, parked)
    return parked
