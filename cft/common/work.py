"""A folder of work chunks: a list of items worked through in chunks, each chunk's file written once whole.

Step 6 (the teacher's critiques, ``cft.teacher.work``) and the critic's report card (``cft.evaluate``) keep
their model's replies this way. The items are a list whose members carry their ``position`` in it; chunk
``k`` of size ``s`` covers items ``[k*s, min((k+1)*s, n))`` and its file is ``chunk_<NNN>.json`` in the
folder, a results file (``cft.common.jsonio``) whose metadata records what the run was made from (``run``:
the step's own keys, ``keys`` of which must agree) and whose rows carry the items' positions.

A rerun skips the chunks of the same run and refuses any other (``overwrite`` replaces them), so a killed
run resumes where it stopped and never mixes two runs' replies. Chunk files are written atomically: a kill
leaves a chunk absent or whole. (One process at a time works in a folder: the step holds a lock there,
``cft.generate.chunk_lock``.) ``cft.inference.chunked.run_chunks`` drives a backend over a plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file, write_results_file

CHUNK_GLOB = "chunk_*.json"


def chunk_file(folder: Path, chunk_id: int) -> Path:
    return folder / f"chunk_{chunk_id:03d}.json"


@dataclass
class Chunk:
    chunk_id: int
    items: list[Any]  # each with its ``position`` in the whole list
    path: Path


@dataclass
class WorkPlan:
    folder: Path
    run: dict  # what this run is made from, as each chunk file's metadata records it
    keys: tuple[str, ...]  # the keys of ``run`` a chunk must agree on to be this run's
    chunks: list[Chunk]
    todo: list[Chunk] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # done by an earlier run of the same command
    replaced: list[int] = field(default_factory=list)  # another run's, replaced (overwrite)

    def metadata(self, chunk: Chunk, extra: dict | None = None) -> dict:
        return {**self.run, "chunk_id": chunk.chunk_id, "start_index": chunk.items[0].position,
                "end_index": chunk.items[-1].position + 1, **(extra or {})}


def read_chunk(path: Path) -> tuple[dict, list[dict]]:
    metadata, rows = open_results_file(path)
    return metadata, list(rows)


def foreign(path: Path, expected: dict, chunk: Chunk, keys: Sequence[str]) -> str | None:
    """None if the chunk file at ``path`` is this run's and whole; else why not."""
    try:
        metadata, rows = read_chunk(path)
    except CftError as e:
        return str(e)
    for key in (*keys, "chunk_id", "start_index", "end_index"):
        if metadata.get(key) != expected.get(key):
            return f"{key} is {metadata.get(key)!r}, this run has {expected.get(key)!r}"
    positions = sorted(r.get("position") for r in rows if isinstance(r, dict))
    if positions != [item.position for item in chunk.items]:
        return f"holds rows {positions[:3]}..., expected {chunk.items[0].position}-{chunk.items[-1].position}"
    return None


def plan(items: Sequence[Any], folder: Path, run: dict, keys: Sequence[str], overwrite: bool,
         elsewhere: str = "another output folder") -> WorkPlan:
    """Which chunks of ``items`` in ``folder`` are done (skipped), another run's (refused, or replaced with
    ``overwrite``) or to do; ``run`` holds ``chunk_size`` and ``num_chunks``; ``elsewhere`` ends the refusal
    (where else the user may write)."""
    size = run["chunk_size"]
    chunks = [Chunk(k, list(items[k * size:(k + 1) * size]), chunk_file(folder, k)) for k in range(run["num_chunks"])]
    work = WorkPlan(folder, dict(run), tuple(keys), chunks)
    for chunk in chunks:
        if chunk.path.exists():
            why = foreign(chunk.path, work.metadata(chunk), chunk, work.keys)
            if why is None:
                work.skipped.append(chunk.chunk_id)
                continue
            if not overwrite:
                raise CftError(f"{chunk.path}: exists but is not this run's chunk ({why}); pass --overwrite to "
                               f"replace it, or choose {elsewhere}")
            work.replaced.append(chunk.chunk_id)
        work.todo.append(chunk)
    return work


def write_chunk(work: WorkPlan, chunk: Chunk, results: list[dict], extra: dict) -> None:
    write_results_file(chunk.path, work.metadata(chunk, extra), sorted(results, key=lambda r: r["position"]))


def whole_chunks(work: WorkPlan) -> list[int]:
    """Ids of the chunks of this run whose files are there now."""
    return [c.chunk_id for c in work.chunks
            if c.path.exists() and foreign(c.path, work.metadata(c), c, work.keys) is None]
