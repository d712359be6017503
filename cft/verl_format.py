"""Step 5: critique rows -> verl training rows (JSON, and parquet for verl's loader)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cft.errors import CftError
from cft.jsonio import atomic_open, write_rows

DATA_SOURCE = "deepscaler_critique"
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
        },
    }


def format_rows(rows: Iterable[dict], split: str = "train") -> Iterator[dict]:
    return (to_verl(row, i, split) for i, row in enumerate(rows))


def write_verl(rows: Iterable[dict], json_path: str | Path, parquet_path: str | Path,
               batch_rows: int = 8192) -> list[dict]:
    """Stream verl rows to JSON (one per line) and parquet (row groups of ``batch_rows``), atomically.

    Returns the rows' labels and prompt lengths for the summary, not the rows.
    """
    seen: list[dict] = []
    with atomic_open(json_path) as fj, atomic_open(parquet_path) as fp:
        writer = None
        batch: list[dict] = []

        def flush() -> None:
            nonlocal writer
            table = pa.Table.from_pylist(batch, schema=writer.schema if writer else None)
            writer = writer or pq.ParquetWriter(fp, table.schema)
            writer.write_table(table)
            batch.clear()

        def tee() -> Iterator[dict]:
            for row in rows:
                batch.append(row)
                seen.append({"answer": row["answer"], "source_model": row["extra_info"]["source_model"],
                             "prompt_chars": len(row["prompt"][0]["content"])})
                yield row
                if len(batch) >= batch_rows:
                    flush()

        write_rows(fj, tee())
        fj.write(b"\n")
        if batch or writer is None:
            if not batch:
                raise CftError("no critique rows to format")
            flush()
        writer.close()
    return seen
