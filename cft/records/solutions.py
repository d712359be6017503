"""The chunk-file schema: solution records, result rows, chunk metadata, and the checks
that a chunk file read back is whole and belongs to a run (docs/file-formats.md).

Generation writes chunk files with these builders and reads them back on
resume with ``load_chunk``/``check_chunk``; merge reads them with the same two.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cft.common.errors import CftError
from cft.common.jsonio import open_results_file
from cft.common.versions import package_versions
from cft.records.chunks import format_ranges

if TYPE_CHECKING:  # grading pulls in math-verify; merge and filter need not
    from cft.grading.grader import Grade


def solution_record(text: str, grade: Grade, finish_reason: str, num_tokens: int) -> dict:
    return {
        "text": text,
        "extracted_answer": grade.extracted_answer,
        "correct": grade.correct,
        "grade": grade.grade,
        "finish_reason": finish_reason,
        "num_tokens": num_tokens,
    }


def result_row(index: int, chunk_index: int, question: str, ground_truth: str,
               solutions: Sequence[dict], seed: int | None = None) -> dict:
    """``seed``: the seed the problem's request was sent with, where the backend takes one per request."""
    row = {
        "index": index,
        "chunk_index": chunk_index,
        "question": question,
        "ground_truth": ground_truth,
        "solutions": list(solutions),
        "num_correct": num_correct(solutions),
    }
    if seed is not None:
        row["seed"] = seed
    return row


def grade_of(solution: dict) -> str:
    """A solution's grade; one written before grades existed has only ``correct``: correct or incorrect."""
    return solution.get("grade") or ("correct" if solution.get("correct") else "incorrect")


def num_correct(solutions: Sequence[dict]) -> int:
    """How many of a problem's solutions are correct."""
    return sum(1 for s in solutions if s.get("correct"))


def chunk_metadata(*, model: str, model_path: str, chunk_id: int, chunk_size: int, start: int, end: int,
                   num_samples: int, sampling: dict, prompt_template: str, input_file: str | Path,
                   input_sha256: str, input_rows: int, elapsed_s: float = 0.0,
                   output_tokens: int = 0, backend: dict | None = None, grader_version: str | None = None) -> dict:
    """``backend``: what made the chunk (``cft.inference.Backend.describe()``), where known;
    ``grader_version``: the grader that graded its solutions as they were written
    (``cft.grading.version``)."""
    meta = {
        "model": model,
        "model_path": str(model_path),
        "chunk_id": chunk_id,
        "chunk_size": chunk_size,
        "start_index": start,
        "end_index": end,
        "num_samples": num_samples,
        "sampling": dict(sampling),
        "prompt_template": prompt_template,
        "input_file": str(input_file),
        "input_sha256": input_sha256,
        "input_rows": input_rows,
        "versions": package_versions(),
        "elapsed_s": round(elapsed_s, 3),
        "output_tokens": output_tokens,
    }
    if backend is not None:
        meta["backend"] = dict(backend)
    if grader_version is not None:
        meta["grader_version"] = grader_version
    return meta


def result_index(path: str | Path, row_no: int, row: object) -> int:
    """The ``index`` of a result row read from ``path``; a malformed row is an error naming it."""
    index = row.get("index") if isinstance(row, dict) else None
    if not isinstance(index, int) or not isinstance(row.get("solutions"), list):
        raise CftError(f"{path}: result row {row_no} has no integer index or no solutions list")
    return index


# Metadata fields that must agree across the chunks of one run, where present. Not ``backend``: the local
# engine and a server sample the same prompts with the same settings, so a run started on one and resumed
# on the other is one run (the seeds differ: each chunk records its own backend).
RUN_KEYS = ("model", "model_path", "input_sha256", "input_rows", "chunk_size",
            "num_samples", "sampling", "prompt_template")
# Metadata fields a chunk file cannot do without (``input_rows`` and the rest are optional).
REQUIRED_KEYS = ("model", "chunk_id", "chunk_size", "start_index", "end_index")


def load_chunk(path: str | Path, raw: bool = False) -> tuple[dict, list]:
    """``(metadata, result rows)`` of a chunk file, its shape checked; errors name the file.

    ``raw``: rows as ``(row, JSON bytes)`` pairs (see ``jsonio.open_results_file``).
    """
    metadata, rows = open_results_file(path, raw=raw)
    missing = [k for k in REQUIRED_KEYS if not isinstance(metadata.get(k), str if k == "model" else int)]
    if missing:
        raise CftError(f"{path}: not a chunk file: metadata lacks {', '.join(missing)}")
    return metadata, list(rows)


def check_chunk(path: str | Path, chunk_id: int, metadata: dict, rows: list, reference: dict,
                input_rows: int | None = None, last_id: int | None = None) -> None:
    """Chunk ``chunk_id`` of the run of ``reference`` (another chunk's metadata), holding exactly
    the rows ``[start, end)`` its id implies, each once; errors name the file.

    The range comes from the input's row count (``input_rows``, else the
    metadata's); without one, a chunk is full-size unless it is ``last_id``.
    """
    for key in RUN_KEYS:
        if metadata.get(key) != reference.get(key):
            raise CftError(f"{path}: chunk {chunk_id} comes from another run: {key} is {metadata.get(key)!r}, "
                           f"chunk {reference['chunk_id']} has {reference.get(key)!r}")
    if metadata["chunk_id"] != chunk_id:
        raise CftError(f"{path}: file name says chunk {chunk_id}, metadata says chunk {metadata['chunk_id']}")
    size = metadata["chunk_size"]
    start = chunk_id * size
    input_rows = input_rows if input_rows is not None else metadata.get("input_rows")
    if isinstance(input_rows, int):
        end = min(start + size, input_rows)
    elif chunk_id == last_id:
        end = metadata["end_index"] if start < metadata["end_index"] <= start + size else start + size
    else:
        end = start + size
    if (metadata["start_index"], metadata["end_index"]) != (start, end):
        raise CftError(f"{path}: chunk {chunk_id} covers [{metadata['start_index']}, {metadata['end_index']}), "
                       f"expected [{start}, {end}) for chunk size {size}")
    seen: set[int] = set()
    for row_no, row in enumerate(rows):
        index = result_index(path, row_no, row[0] if isinstance(row, tuple) else row)
        if index in seen:
            raise CftError(f"{path}: index {index} appears twice in chunk {chunk_id}")
        if not start <= index < end:
            raise CftError(f"{path}: index {index} lies outside chunk {chunk_id}'s range [{start}, {end}) "
                           "(overlapping chunks?)")
        seen.add(index)
    if len(seen) != end - start:
        absent = sorted(set(range(start, end)) - seen)
        raise CftError(f"{path}: chunk {chunk_id} lacks {len(absent)} of its {end - start} rows "
                       f"(indices {format_ranges(absent[:20])}{'...' if len(absent) > 20 else ''})")
