"""Chunk arithmetic and chunk file names.

Chunk ``k`` of size ``s`` covers input rows ``[k*s, min((k+1)*s, n))``; its file
is ``<model>_chunk_<NNN>.json`` (NNN zero-padded to 3) in the model's folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from cft.common.errors import CftError

_CHUNK_RE = re.compile(r"^(?P<model>.+)_chunk_(?P<id>\d{3,})\.json$")


def num_chunks(num_rows: int, chunk_size: int) -> int:
    if chunk_size <= 0:
        raise CftError(f"chunk size must be positive, got {chunk_size}")
    return (num_rows + chunk_size - 1) // chunk_size


def chunk_range(chunk_id: int, chunk_size: int, num_rows: int) -> tuple[int, int]:
    """``[start, end)`` of the input rows that chunk ``chunk_id`` covers."""
    total = num_chunks(num_rows, chunk_size)
    if not 0 <= chunk_id < total:
        raise CftError(
            f"chunk id {chunk_id} is out of range: {num_rows} problems in chunks of "
            f"{chunk_size} make {total} chunks (ids 0-{total - 1})"
        )
    start = chunk_id * chunk_size
    return start, min(start + chunk_size, num_rows)


def chunk_filename(model: str, chunk_id: int) -> str:
    return f"{model}_chunk_{chunk_id:03d}.json"


def scan_chunk_files(folder: str | Path) -> dict[str, dict[int, Path]]:
    """Every chunk file in ``folder``: model -> chunk id -> path (hidden and temporary files ignored)."""
    found: dict[str, dict[int, Path]] = {}
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*_chunk_*.json")):
        m = _CHUNK_RE.match(path.name)
        if m and not path.name.startswith("."):
            found.setdefault(m.group("model"), {})[int(m.group("id"))] = path
    return found


def chunk_model(folder: str | Path) -> str:
    """The model whose chunk files ``folder`` holds (a model registered in another run, say)."""
    models = sorted(scan_chunk_files(folder))
    if len(models) != 1:
        what = "no chunk files (<model>_chunk_NNN.json)" if not models else f"chunk files of {len(models)} " \
            f"models ({', '.join(models)}); give each model's own folder"
        raise CftError(f"{folder}: {what}")
    return models[0]


def list_chunk_files(folder: str | Path, model: str) -> dict[int, Path]:
    """Chunk files of ``model`` in ``folder``, by chunk id."""
    return scan_chunk_files(folder).get(model, {})


def format_ranges(ids: list[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    out: list[str] = []
    ids = sorted(ids)
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ", ".join(out)
