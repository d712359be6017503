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


_TEXT, _INT = pa.string(), pa.int64()


def _const(value):
    return lambda row, position, split: value


def _field(name: str):
    return lambda row, position, split: row.get(name)


# Step 5's row, declared once: each column's arrow type and where its value comes from (a critique row, its
# position in the file, the split); a struct column is a dict of its fields. ``to_verl`` and ``SCHEMA`` follow.
ROW_SHAPE: dict = {
    "data_source": (_TEXT, _const(DATA_SOURCE)),
    "prompt": (pa.list_(pa.struct([("role", _TEXT), ("content", _TEXT)])),
               lambda row, position, split: [{"role": "user", "content": row["prompt"]}]),
    "ability": (_TEXT, _const("critique")),
    "reward_model": {"style": (_TEXT, _const("rule")), "ground_truth": (_TEXT, _field("target"))},
    "answer": (_TEXT, _field("target")),
    "target": (_TEXT, _field("target")),
    "extra_info": {
        "split": (_TEXT, lambda row, position, split: split),
        "index": (_INT, lambda row, position, split: position),
        "question_index": (_INT, _field("index")),
        "source_model": (_TEXT, _field("source_model")),
        "solution": (_TEXT, _field("solution")),
        "question_ground_truth": (_TEXT, _field("ground_truth")),
        "solution_index": (_INT, _field("solution_index")),
    },
}


def _arrow_type(shape) -> pa.DataType:
    return pa.struct([(k, _arrow_type(v)) for k, v in shape.items()]) if isinstance(shape, dict) else shape[0]


def _value(shape, row: dict, position: int, split: str):
    if isinstance(shape, dict):
        return {k: _value(v, row, position, split) for k, v in shape.items()}
    return shape[1](row, position, split)


SCHEMA = pa.schema([(name, _arrow_type(shape)) for name, shape in ROW_SHAPE.items()])


def to_verl(row: dict, position: int, split: str = "train", where: str = "critique row") -> dict:
    """One critique row as a verl row; ``where`` names the row in an error (``<file>: critique row``)."""
    if not isinstance(row, dict):
        raise CftError(f"{where} {position}: expected an object")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise CftError(f"{where} {position}: missing {', '.join(missing)}")
    if row["target"] not in ("right", "wrong"):
        raise CftError(f"{where} {position}: target is {row['target']!r}, expected right or wrong")
    return _value(ROW_SHAPE, row, position, split)


def format_rows(rows: Iterable[dict], split: str = "train", start: int = 0,
                where: str = "critique row") -> Iterator[dict]:
    return (to_verl(row, i, split, where) for i, row in enumerate(rows, start))


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
    rows = format_rows(iter_json_list(critique_file, what="critique rows"), split,
                       where=f"{critique_file}: critique row")
    return write_verl(rows, json_path, parquet_path)
