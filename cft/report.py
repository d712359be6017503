"""Step summaries: a titled block of aligned ``label: value`` lines on stdout."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def human_size(num_bytes: int) -> str:
    size = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def file_line(path: str | os.PathLike) -> str:
    path = Path(path)
    return f"{path} ({human_size(path.stat().st_size)})" if path.exists() else f"{path} (missing)"


def pct(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.1f}%)" if whole else f"{part}"


def print_summary(title: str, rows: Iterable[tuple[str, object]]) -> None:
    rows = list(rows)
    width = max((len(label) for label, _ in rows), default=0)
    print(f"\n== {title} ==")
    for label, value in rows:
        print(f"  {label.ljust(width)} : {value}")


def histogram_line(counts: dict[int, int]) -> str:
    """``{0: 3, 1: 5}`` -> ``"0:3 1:5"`` (keys in order)."""
    return " ".join(f"{k}:{counts[k]}" for k in sorted(counts))
