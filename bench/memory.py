"""Peak resident memory of a function's process tree under the emulator.

The kernel keeps each process's high-water mark (VmHWM), so the peak is exact rather than sampled.
The emulator process itself is left out: on Lambda it is not part of the function.
"""

from __future__ import annotations

from pathlib import Path

import psutil


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def peak_rss_mb(emulator_pid: int) -> float:
    """Sum of the peak RSS of every process the emulator started (the awslambdaric runtime), in MB."""
    total = 0
    for child in psutil.Process(emulator_pid).children(recursive=True):
        try:
            total += _hwm_kib(child.pid)
        except FileNotFoundError:  # exited between listing and reading
            continue
    return total * 1024 / 1e6
