"""Step 5: critique rows -> verl training rows (JSON, and parquet for verl's loader)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cft import regions
from cft.errors import CftError
from cft.jsonio import atomic_open, iter_json_list, write_rows

DATA_SOURCE = "deepscaler_critique"
BATCH_ROWS = 8192  # parquet row group
ARROW_BATCH_ROWS = 1024  # a worker's batch: small, so workers stay light
FORMAT_WORKERS = 4  # more cannot outrun the main process's parquet encoding (measured on 16 cores)
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


_TEXT = pa.string()
SCHEMA = pa.schema([
    ("data_source", _TEXT),
    ("prompt", pa.list_(pa.struct([("role", _TEXT), ("content", _TEXT)]))),
    ("ability", _TEXT),
    ("reward_model", pa.struct([("style", _TEXT), ("ground_truth", _TEXT)])),
    ("answer", _TEXT),
    ("target", _TEXT),
    ("extra_info", pa.struct([("split", _TEXT), ("index", pa.int64()), ("question_index", pa.int64()),
                              ("source_model", _TEXT), ("solution", _TEXT), ("question_ground_truth", _TEXT)])),
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
               batch_rows: int = BATCH_ROWS) -> list[dict]:
    """Stream verl rows to JSON (one per line) and parquet (row groups of ``batch_rows``), atomically.

    Returns the rows' labels and prompt lengths for the summary, not the rows.
    """
    seen: list[dict] = []
    with atomic_open(json_path) as fj, atomic_open(parquet_path) as fp, \
            pq.ParquetWriter(fp, SCHEMA) as writer:
        write_rows(fj, _tee_tables(rows, batch_rows, writer.write_table, seen))
        fj.write(b"\n")
        if not seen:
            raise CftError("no critique rows to format")
    return seen


def _tee_tables(rows: Iterable[dict], batch_rows: int, write_table, seen: list[dict],
                start: int = 0) -> Iterator[dict]:
    """Pass ``rows`` (positions ``start, ...``) on, noting each in ``seen`` and writing them as Arrow
    tables of ``batch_rows`` (the last, shorter one when the rows run out)."""
    batch: list[dict] = []
    for position, row in enumerate(rows, start):
        batch.append(row)
        seen.append(_summary_row(row))
        yield row
        if len(batch) >= batch_rows:
            write_table(_table(batch, position + 1 - len(batch)))
            batch.clear()
    if batch:
        write_table(_table(batch, start + len(seen) - len(batch)))


def format_file(critique_file: str | Path, json_path: str | Path, parquet_path: str | Path,
                split: str = "train", workers: int = 1) -> list[dict]:
    """Step 5 from file to files; returns what ``write_verl`` returns.

    With ``workers > 1`` a large file in our layout is split into regions that
    worker processes format (each knows its first row's position); the main
    process joins their JSON parts and, on a thread of its own, streams their
    Arrow batches into the one parquet file. That parquet encoding is the
    step's serial part, so a few workers keep it busy: at most
    ``FORMAT_WORKERS``, which also bounds the memory of many cores.
    """
    workers = min(workers, FORMAT_WORKERS)
    span = regions.row_span(critique_file) if workers > 1 else None
    parts = regions.split(span, regions.REGIONS_PER_WORKER * workers) if span else []
    if len(parts) <= 1:
        rows = format_rows(iter_json_list(critique_file, what="critique rows"), split)
        return write_verl(rows, json_path, parquet_path)
    starts = regions.count_lines(span.path, span.start, [r.start for r in parts])
    seen: list[dict] = []
    with regions.Parts(parquet_path, len(parts)) as tables, atomic_open(parquet_path) as fp, \
            pq.ParquetWriter(fp, SCHEMA) as writer, ThreadPoolExecutor(1) as parquet_thread:
        groups = _RowGroups(writer)
        written: list[Future] = []

        def part_done(k: int, part_seen: list[dict]) -> None:
            seen.extend(part_seen)
            written.append(parquet_thread.submit(groups.add_file, tables.paths[k]))
            if written[0].done():
                written.pop(0).result()  # raises its error, if any

        jobs = [(_format_region, (r, tables.paths[k], split, starts[k])) for k, r in enumerate(parts)]
        regions.run_parts(json_path, jobs, workers, span.end - span.start, "format", on_done=part_done)
        for fut in written:
            fut.result()
        if not seen:
            raise CftError("no critique rows to format")
        groups.flush()
    return seen


class _RowGroups:
    """Record batches in, parquet row groups of ``BATCH_ROWS`` out (as one process writes them)."""

    def __init__(self, writer: pq.ParquetWriter):
        self.writer = writer
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0

    def add_file(self, path: str) -> None:
        """Every batch of an Arrow IPC file, in order."""
        with pa.OSFile(path) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                self.add(reader.get_batch(i))

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.rows += batch.num_rows
        if self.rows >= BATCH_ROWS:
            table = pa.Table.from_batches(self.pending)
            for start in range(0, self.rows - BATCH_ROWS + 1, BATCH_ROWS):
                self.writer.write_table(table.slice(start, BATCH_ROWS).combine_chunks())
            full = self.rows - self.rows % BATCH_ROWS
            self.pending = table.slice(full).to_batches()
            self.rows -= full

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(pa.Table.from_batches(self.pending).combine_chunks())
        self.pending, self.rows = [], 0


def _format_region(json_part: str, head: bytes | None, region: regions.Region, arrow_part: str, split: str,
                   start: int) -> tuple[int, list[dict]]:
    seen: list[dict] = []
    with pa.OSFile(arrow_part, "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as arrow:
        rows = format_rows((row for _, row in regions.region_rows(region, regions.report_progress)), split, start)
        n = regions.write_part(json_part, _tee_tables(rows, ARROW_BATCH_ROWS, arrow.write_table, seen, start), head)
    return n, seen
