"""Step 5: critique rows -> verl training rows (JSON, and parquet for verl's loader)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cft.common.errors import CftError
from cft.common.jsonio import AtomicFiles, atomic_files, iter_json_list, write_rows

DATA_SOURCE = "deepscaler_critique"
BATCH_ROWS = 8192  # parquet row group
REQUIRED = ("index", "question", "solution", "ground_truth", "target", "prompt", "source_model")


def to_verl(row: dict, position: int, split: str = "train") -> dict:
    if not isinstance(row, dict):
        raise CftError(f"critique row {position}: expected an object")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise CftError(f"critique row {position}: missing {', '.join(missing)}")
    if row["target"] not in ("right", "wrong"):
        raise CftError(f"critique row {position}: target is {row['target']!r}, expected right or wrong")
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": "user", "content": row["prompt"]}],
        "ability": "critique",
        "reward_model": {"style": "rule", "ground_truth": row["target"]},
        "answer": row["target"],
        "target": row["target"],
        "extra_info": {
            "split": split,
            "index": position,
            "question_index": row["index"],
            "source_model": row["source_model"],
            "solution": row["solution"],
            "question_ground_truth": row["ground_truth"],
            "solution_index": row.get("solution_index"),
        },
    }


_TEXT = pa.string()
SCHEMA = pa.schema([
    ("data_source", _TEXT),
    ("prompt", pa.list_(pa.struct([("role", _TEXT), ("content", _TEXT)]))),
    ("ability", _TEXT),
    ("reward_model", pa.struct([("style", _TEXT), ("ground_truth", _TEXT)])),
    ("answer", _TEXT),
    ("target", _TEXT),
    ("extra_info", pa.struct([("split", _TEXT), ("index", pa.int64()), ("question_index", pa.int64()),
                              ("source_model", _TEXT), ("solution", _TEXT), ("question_ground_truth", _TEXT),
                              ("solution_index", pa.int64())])),
])


def format_rows(rows: Iterable[dict], split: str = "train", start: int = 0) -> Iterator[dict]:
    return (to_verl(row, i, split) for i, row in enumerate(rows, start))


def _table(rows: list[dict], position: int) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise CftError(f"critique rows {position}-{position + len(rows) - 1}: cannot be stored in parquet ({e})") \
            from None


def _summary_row(row: dict) -> dict:
    return {"answer": row["answer"], "source_model": row["extra_info"]["source_model"],
            "prompt_chars": len(row["prompt"][0]["content"])}


def write_verl(rows: Iterable[dict], json_path: str | Path, parquet_path: str | Path,
               batch_rows: int = BATCH_ROWS, files: AtomicFiles | None = None) -> list[dict]:
    """Stream verl rows to JSON (one per line) and parquet (row groups of ``batch_rows``).

    The two files are committed together (``cft.common.jsonio.atomic_files``); with ``files``, an
    open group, they join that group's commit instead (step 5's training and held-out files).
    Returns the rows' labels and prompt lengths for the summary, not the rows.
    """
    if files is None:
        with atomic_files() as files:
            return write_verl(rows, json_path, parquet_path, batch_rows, files)
    seen: list[dict] = []

    def tee(write_table) -> Iterator[dict]:
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            seen.append(_summary_row(row))
            yield row
            if len(batch) >= batch_rows:
                write_table(_table(batch, len(seen) - len(batch)))
                batch.clear()
        if batch:
            write_table(_table(batch, len(seen) - len(batch)))

    fj = files.open(json_path)
    with pq.ParquetWriter(files.open(parquet_path), SCHEMA) as writer:
        write_rows(fj, tee(writer.write_table))
        fj.write(b"\n")
    if not seen:
        raise CftError("no critique rows to format")
    return seen


def format_file(critique_file: str | Path, json_path: str | Path, parquet_path: str | Path,
                split: str = "train") -> list[dict]:
    """Step 5 from file to files; returns what ``write_verl`` returns."""
    rows = format_rows(iter_json_list(critique_file, what="critique rows"), split)
    return write_verl(rows, json_path, parquet_path)
