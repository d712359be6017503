"""Step 6's work folder: the teacher's critiques, one chunk file per chunk of rows, written as they finish.

``<output stem>_work/`` beside the output (``deepscaler_critique_sft_work/`` by default) holds
``chunk_<NNN>.json``: chunk ``k`` of size ``s`` covers items ``[k*s, min((k+1)*s, n))`` of the
input (``cft.teacher.inputs``: training rows, then held-out rows), each with every critique the
teacher sampled for it, unchecked. Checking them against the labels happens when the final files
are assembled, so it costs no teacher time and a change of ``--keep_per_row`` or
``--keep_thinking`` needs none.

The folder works as ``cft.common.work`` says. Each chunk file records what it was made from
(``RUN_KEYS``: the input files' hashes, the rows taken, the chunking, the teacher, its sampling and
the prompt mode). A rerun skips the chunks of the same run and refuses any other (``--overwrite``
replaces them), so a killed run resumes where it stopped and never mixes two teachers' critiques.
Chunk files are written atomically (``cft.common.jsonio``): a kill leaves a chunk absent or whole.
One process at a time works in a folder: it holds ``.run.lock`` there (``cft.generate.chunk_lock``;
a dead holder's lock is taken over).
"""

from __future__ import annotations

from pathlib import Path

from cft.common import work as chunks
from cft.common.work import Chunk, WorkPlan, read_chunk, whole_chunks, write_chunk
from cft.teacher.inputs import Inputs

__all__ = ["Chunk", "WorkPlan", "plan", "read_chunk", "run_record", "whole_chunks", "work_dir", "write_chunk"]

FORMAT_VERSION = 1
RUN_KEYS = ("format_version", "chunk_size", "num_chunks", "rows", "max_rows", "input_sha256", "val_sha256",
            "teacher_model", "sampling", "mode", "prompt_version")


def work_dir(output_file: str | Path) -> Path:
    """``x/name.jsonl`` -> ``x/name_work``."""
    output_file = Path(output_file)
    return output_file.with_name(f"{output_file.stem}_work")


def run_record(inputs: Inputs, chunk_size: int, max_rows: int | None, teacher_model: str, sampling: dict,
               mode: str, prompt_version: int) -> dict:
    n = len(inputs.items)
    return {"format_version": FORMAT_VERSION, "chunk_size": chunk_size, "num_chunks": -(-n // chunk_size),
            "rows": n, "max_rows": max_rows, "input_file": str(inputs.train_file),
            "input_sha256": inputs.train_sha256, "val_file": str(inputs.val_file) if inputs.val_file else None,
            "val_sha256": inputs.val_sha256, "teacher_model": teacher_model, "sampling": sampling, "mode": mode,
            "prompt_version": prompt_version}


def plan(inputs: Inputs, output_file: str | Path, run: dict, overwrite: bool) -> WorkPlan:
    """Which chunks are done (skipped), another run's (refused, or replaced with ``overwrite``) or to do."""
    return chunks.plan(inputs.items, work_dir(output_file), run, RUN_KEYS, overwrite,
                       elsewhere="another --output_file")
