"""CPU pinning, so the measured systems get exactly the cores a Lambda size would give them.

Affinity is inherited at process creation: a process launched while the launcher is pinned starts
pinned, with all its threads and children. Pinning a running multi-threaded process afterwards does
not work (the emulator is a Go program: its other threads, which start the runtime, stay unpinned).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Two cores stand for Lambda's two vCPUs (3,538 MB), one for one vCPU (1,769 MB).
TWO_CPUS = set(sorted(os.sched_getaffinity(0))[:2])
ONE_CPU = set(sorted(TWO_CPUS)[:1])


@contextmanager
def pinned(cpus: set[int]) -> Iterator[None]:
    """Run this process on `cpus` only (what it launches meanwhile inherits them), then restore."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
