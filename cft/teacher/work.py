"""Step 6's work folder: the teacher's critiques, one chunk file per chunk of rows, written as they finish.

``<output stem>_work/`` beside the output (``deepscaler_critique_sft_work/`` by default) holds
``chunk_<NNN>.json``: chunk ``k`` of size ``s`` covers items ``[k*s, min((k+1)*s, n))`` of the
input (``cft.teacher.inputs``: training rows, then held-out rows), each with every critique the
teacher sampled for it, unchecked. Checking them against the labels happens when the final files
are assembled, so it costs no teacher time and a change of ``--keep_per_row`` or
``--keep_thinking`` needs none.

Each chunk file records what it was made from (``RUN_KEYS``: the input files' hashes, the rows
taken, the chunking, the teacher, its sampling and the prompt mode). A rerun skips the chunks of
the same run and refuses any other (``--overwrite`` replaces them), so a killed run resumes where
it stopped and never mixes two teachers' critiques. Chunk files are written atomically
(``cft.common.jsonio``): a kill leaves a chunk absent or whole. One process at a time works in a
folder: it holds ``.run.lock`` there (``cft.generate.chunk_lock``; a dead holder's lock is taken
over).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file, write_results_file
from cft.teacher.inputs import Inputs, Item

FORMAT_VERSION = 1
RUN_KEYS = ("format_version", "chunk_size", "num_chunks", "rows", "max_rows", "input_sha256", "val_sha256",
            "teacher_model", "sampling", "mode", "prompt_version")


def work_dir(output_file: str | Path) -> Path:
    """``x/name.jsonl`` -> ``x/name_work``."""
    output_file = Path(output_file)
    return output_file.with_name(f"{output_file.stem}_work")


def chunk_file(folder: Path, chunk_id: int) -> Path:
    return folder / f"chunk_{chunk_id:03d}.json"


@dataclass
class Chunk:
    chunk_id: int
    items: list[Item]
    path: Path


@dataclass
class WorkPlan:
    folder: Path
    run: dict  # the RUN_KEYS values of this run
    chunks: list[Chunk]
    todo: list[Chunk] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # done by an earlier run of the same command
    replaced: list[int] = field(default_factory=list)  # another run's, replaced (--overwrite)

    def metadata(self, chunk: Chunk, extra: dict | None = None) -> dict:
        return {**self.run, "chunk_id": chunk.chunk_id, "start_index": chunk.items[0].position,
                "end_index": chunk.items[-1].position + 1, **(extra or {})}


def run_record(inputs: Inputs, chunk_size: int, max_rows: int | None, teacher_model: str, sampling: dict,
               mode: str, prompt_version: int) -> dict:
    n = len(inputs.items)
    return {"format_version": FORMAT_VERSION, "chunk_size": chunk_size, "num_chunks": -(-n // chunk_size),
            "rows": n, "max_rows": max_rows, "input_file": str(inputs.train_file),
            "input_sha256": inputs.train_sha256, "val_file": str(inputs.val_file) if inputs.val_file else None,
            "val_sha256": inputs.val_sha256, "teacher_model": teacher_model, "sampling": sampling, "mode": mode,
            "prompt_version": prompt_version}


def read_chunk(path: Path) -> tuple[dict, list[dict]]:
    metadata, rows = open_results_file(path)
    return metadata, list(rows)


def foreign(path: Path, expected: dict, chunk: Chunk) -> str | None:
    """None if the chunk file at ``path`` is this run's and whole; else why not."""
    try:
        metadata, rows = read_chunk(path)
    except CftError as e:
        return str(e)
    for key in (*RUN_KEYS, "chunk_id", "start_index", "end_index"):
        if metadata.get(key) != expected.get(key):
            return f"{key} is {metadata.get(key)!r}, this run has {expected.get(key)!r}"
    positions = sorted(r.get("position") for r in rows if isinstance(r, dict))
    if positions != [item.position for item in chunk.items]:
        return f"holds rows {positions[:3]}..., expected {chunk.items[0].position}-{chunk.items[-1].position}"
    return None


def plan(inputs: Inputs, output_file: str | Path, run: dict, overwrite: bool) -> WorkPlan:
    """Which chunks are done (skipped), another run's (refused, or replaced with ``overwrite``) or to do."""
    folder = work_dir(output_file)
    size = run["chunk_size"]
    chunks = [Chunk(k, inputs.items[k * size:(k + 1) * size], chunk_file(folder, k))
              for k in range(run["num_chunks"])]
    work = WorkPlan(folder, dict(run), chunks)
    for chunk in chunks:
        if chunk.path.exists():
            why = foreign(chunk.path, work.metadata(chunk), chunk)
            if why is None:
                work.skipped.append(chunk.chunk_id)
                continue
            if not overwrite:
                raise CftError(f"{chunk.path}: exists but is not this run's chunk ({why}); pass --overwrite to "
                               f"replace it, or choose another --output_file")
            work.replaced.append(chunk.chunk_id)
        work.todo.append(chunk)
    return work


def write_chunk(work: WorkPlan, chunk: Chunk, results: list[dict], extra: dict) -> None:
    write_results_file(chunk.path, work.metadata(chunk, extra), sorted(results, key=lambda r: r["position"]))


def whole_chunks(work: WorkPlan) -> list[int]:
    """Ids of the chunks of this run whose files are there now."""
    return [c.chunk_id for c in work.chunks if c.path.exists() and foreign(c.path, work.metadata(c), c) is None]
