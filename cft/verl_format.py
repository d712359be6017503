"""Step 5: critique rows -> verl training rows (JSON, and parquet for verl's loader)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cft.errors import CftError
from cft.jsonio import atomic_open

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


def format_rows(rows: Iterable[dict], split: str = "train") -> list[dict]:
    return [to_verl(row, i, split) for i, row in enumerate(rows)]


def write_parquet(path: str | Path, rows: list[dict]) -> None:
    """Atomically write verl rows as parquet (nested columns, as verl's RLHFDataset reads)."""
    table = pa.Table.from_pylist(rows)
    with atomic_open(path) as f:
        pq.write_table(table, f)
