"""The bounds every scenario is checked against before anything is built.

A scenario that passes ``load_scenario`` can be built and trained on this
machine: sizes whose memory estimate exceeds what the machine has, epoch
counts nobody will wait for and seeds torch cannot take are refused by
name, with the numbers, before any tensor is allocated.
"""

from __future__ import annotations

import os
from typing import Any

MAX_EPOCHS = 1_000_000  # the shipped scenarios train 200 epochs in about a second
MAX_SEED = 2**63 - 1  # torch seeds are 64-bit; the batch order uses seed + 1, dropout seed + 2
MAX_ROUNDS = 1000  # compare --rounds
MAX_NESTING = 32  # tables and arrays inside each other; a scenario needs 4
MAX_SCENARIO_BYTES = 1 << 20  # 1 MiB of TOML
MAX_CSV_BYTES = 256 << 20  # 256 MiB of points
MAX_CLASSES = 100  # CSV labels are 0..99


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays sit inside each other (iterative: any depth is safe)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            return depth  # deep enough to refuse; no need to walk further
        stack.extend((child, depth + 1) for child in children)
    return deepest


def available_memory() -> int:
    """Bytes this process may use: MemAvailable of /proc/meminfo, else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 1 << 40  # unknown: do not refuse on a guess


def gigabytes(size: float) -> str:
    return f"{size / 1e9:,.1f} GB" if size >= 1e8 else f"{size / 1e6:,.1f} MB"
