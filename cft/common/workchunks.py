"""Work folders of chunk files: a step's model work over a list of items, one file per chunk, written as it finishes.

A step that runs a model over a list of items (step 6's rows, ``label_steps.py``'s solutions) cuts the list
into chunks of ``chunk_size`` items (chunk ``k``: items ``[k*s, min((k+1)*s, n))``, each item with its
``position`` in the list) and writes ``chunk_<NNN>.json`` in its work folder when every item of the chunk is
done (``cft.common.jsonio``: atomic, so a kill leaves a chunk absent or whole). Each chunk records what it was
made from: the step's ``run`` record, whose ``keys`` a rerun compares. A rerun skips the chunks of the same run
and refuses any other (or replaces them, with the step's overwrite flag), so a killed run resumes where it
stopped and never mixes two runs' results.

``locked`` makes one process the folder's only writer (``.run.lock``, ``cft.generate.chunk_lock``: a dead
holder's lock is taken over) and removes the hidden temporary files a kill -9 mid-write left.
``stopped_message`` is the one line a step ends with when its backend gives up mid-run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file, remove_leftovers, write_results_file


def _say(message: str) -> None:
    print(message, flush=True)


def chunk_file(folder: Path, chunk_id: int) -> Path:
    return folder / f"chunk_{chunk_id:03d}.json"


@dataclass
class Chunk:
    chunk_id: int
    items: list  # each with its ``position`` in the step's list
    path: Path


@dataclass
class WorkPlan:
    folder: Path
    run: dict  # the run record's values
    chunks: list[Chunk]
    keys: tuple[str, ...] = ()  # the run record's keys a chunk must match
    todo: list[Chunk] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # done by an earlier run of the same command
    replaced: list[int] = field(default_factory=list)  # another run's, replaced

    def metadata(self, chunk: Chunk, extra: dict | None = None) -> dict:
        return {**self.run, "chunk_id": chunk.chunk_id, "start_index": chunk.items[0].position,
                "end_index": chunk.items[-1].position + 1, **(extra or {})}


def read_chunk(path: Path) -> tuple[dict, list[dict]]:
    metadata, rows = open_results_file(path)
    return metadata, list(rows)


def foreign(path: Path, work: WorkPlan, chunk: Chunk) -> str | None:
    """None if the chunk file at ``path`` is this run's and whole; else why not."""
    try:
        metadata, rows = read_chunk(path)
    except CftError as e:
        return str(e)
    expected = work.metadata(chunk)
    for key in (*work.keys, "chunk_id", "start_index", "end_index"):
        if metadata.get(key) != expected.get(key):
            return f"{key} is {metadata.get(key)!r}, this run has {expected.get(key)!r}"
    positions = sorted(r.get("position") for r in rows if isinstance(r, dict))
    if positions != [item.position for item in chunk.items]:
        return f"holds rows {positions[:3]}..., expected {chunk.items[0].position}-{chunk.items[-1].position}"
    return None


def plan(folder: Path, items: Sequence, run: dict, keys: tuple[str, ...], overwrite: bool,
         where: str = "--output_file") -> WorkPlan:
    """Which chunks of ``items`` (cut by ``run["chunk_size"]``) are done (skipped), another run's (refused, or
    replaced with ``overwrite``) or to do. ``where``: the flag that names another folder, for the refusal."""
    size = run["chunk_size"]
    chunks = [Chunk(k, list(items[k * size:(k + 1) * size]), chunk_file(folder, k))
              for k in range(-(-len(items) // size))]
    work = WorkPlan(folder, dict(run), chunks, tuple(keys))
    for chunk in chunks:
        if chunk.path.exists():
            why = foreign(chunk.path, work, chunk)
            if why is None:
                work.skipped.append(chunk.chunk_id)
                continue
            if not overwrite:
                raise CftError(f"{chunk.path}: exists but is not this run's chunk ({why}); pass --overwrite to "
                               f"replace it, or choose another {where}")
            work.replaced.append(chunk.chunk_id)
        work.todo.append(chunk)
    return work


def write_chunk(work: WorkPlan, chunk: Chunk, results: list[dict], extra: dict) -> None:
    write_results_file(chunk.path, work.metadata(chunk, extra), sorted(results, key=lambda r: r["position"]))


def whole_chunks(work: WorkPlan) -> list[int]:
    """Ids of the chunks of this run whose files are there now."""
    return [c.chunk_id for c in work.chunks if c.path.exists() and foreign(c.path, work, c) is None]


def stopped_message(error: Exception, pending: Sequence[int], works: Sequence[WorkPlan]) -> str:
    """The one line of a run its backend gave up on: the backend's reason, the first chunk not finished, and how
    many chunks are whole in each work folder."""
    where = f"stopped at chunk {min(pending):03d}" if pending else "stopped"
    whole = "; ".join(f"{len(whole_chunks(w))} of {len(w.chunks)} chunks are whole in {w.folder}" for w in works)
    return f"{error}; {where}: {whole} (rerun the same command to go on from there)"


@contextlib.contextmanager
def locked(folder: Path, outputs: Sequence[Path] = (), log=None) -> Iterator[None]:
    """Hold ``folder``'s run lock (one writer of the folder and of ``outputs`` at a time; another live holder is
    one line) and remove what a kill -9 mid-write left there and beside ``outputs``."""
    from cft.generate.chunk_lock import ChunkLock, describe

    folder.mkdir(parents=True, exist_ok=True)
    lock = ChunkLock(folder / "run")
    holder = lock.try_acquire()
    if holder is not None:
        raise CftError(f"{folder}: another process ({describe(holder)}) is working in this folder ({lock.path})")
    try:
        leftovers = [name for sub in [folder, *(p for p in sorted(folder.rglob("*")) if p.is_dir())]
                     for name in remove_leftovers(sub, "chunk_*.json")]
        leftovers += [name for path in outputs for name in remove_leftovers(path.parent, path.name)]
        if leftovers:
            (log or _say)(f"removed the temporary files a killed run left: {', '.join(leftovers)}")
        yield
    finally:
        lock.release()
