"""How much memory this machine has, and the monitor's default budget of it."""

from __future__ import annotations

import os

#: The share of physical memory the monitor may fill with data by default.
DEFAULT_SHARE = 0.25
#: Used where the system does not say (a quarter of it: 1 GiB).
FALLBACK_BYTES = 4 << 30


def physical_memory() -> int:
    """Physical memory in bytes (`os.sysconf`), or `FALLBACK_BYTES` where unknown."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return FALLBACK_BYTES
    return pages * page if pages > 0 and page > 0 else FALLBACK_BYTES


def default_memory_budget() -> int:
    """`monitor.max_memory` when unset: a quarter of physical memory."""
    return int(physical_memory() * DEFAULT_SHARE)
