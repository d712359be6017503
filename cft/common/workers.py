"""How many processes a step may use by default."""

from __future__ import annotations

import os


def default_workers() -> int:
    """The cores this process may use (its CPU affinity: a Slurm task's share, not the node's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
