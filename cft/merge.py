"""Step 2: chunk files of one model -> one solutions file, sorted by index.

Chunks are read one at a time and streamed to the output, so memory holds a
single chunk. Every chunk must come from the same run (model, input, sampling,
chunk size); chunk ``k`` must hold exactly the rows ``[start, end)`` that its
id implies, each once. Anything else stops the merge with the chunk named,
unless ``allow_partial`` (then missing chunks are allowed and listed).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from tqdm import tqdm

from cft.chunks import chunk_range, format_ranges, list_chunk_files, num_chunks
from cft.errors import CftError
from cft.jsonio import atomic_open, dumps, read_json, write_rows
from cft.models import ModelSpec
from cft.solutions import result_index

# Metadata fields that must agree across the chunks of one run.
RUN_KEYS = ("model", "model_path", "input_sha256", "input_rows", "chunk_size",
            "num_samples", "sampling", "prompt_template")


@dataclass
class MergeSummary:
    model: str
    output: Path
    chunks_expected: int
    chunks_merged: int
    missing_chunks: list[int]
    problems: int = 0
    solutions: int = 0
    grades: Counter = field(default_factory=Counter)
    truncated: int = 0
    num_correct_hist: Counter = field(default_factory=Counter)


def load_chunk(path: Path) -> dict:
    """Read a chunk file and check its shape; errors name the file."""
    return _checked_shape(path, read_json(path))


def load_chunk_lines(path: Path) -> tuple[dict, list[memoryview] | None]:
    """``load_chunk``, plus each result row's own bytes when the file is in our one-row-per-line layout.

    The merge then copies those bytes instead of serializing the parsed rows
    again; any other layout gives ``None`` and is serialized from the rows.
    """
    blob = _read_bytes(path)
    view = memoryview(blob)
    lines = []
    pos = 0
    while pos < len(blob):
        end = blob.find(b"\n", pos)
        end = len(blob) if end < 0 else end
        lines.append((pos, end))
        pos = end + 1
    while lines and lines[-1][0] == lines[-1][1]:  # trailing newline(s)
        lines.pop()
    head = b'{"metadata":'
    if len(lines) < 4 or not blob.startswith(head) or view[lines[0][1] - 1] != b","[0] \
            or view[slice(*lines[1])] != b'"results":[' or view[slice(*lines[-1])] != b"]}":
        return load_chunk(path), None
    try:
        metadata = orjson.loads(view[len(head):lines[0][1] - 1])
        raws = [view[a:b - 1] if k < len(lines) - 4 else view[a:b] for k, (a, b) in enumerate(lines[2:-1])]
        results = [orjson.loads(raw) for raw in raws]
    except orjson.JSONDecodeError:
        return load_chunk(path), None
    return _checked_shape(path, {"metadata": metadata, "results": results}), raws


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return read_json(path)  # raises the CftError that names the problem


def _checked_shape(path: Path, data) -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict) \
            or not isinstance(data.get("results"), list):
        raise CftError(f"{path}: not a chunk file (expected {{'metadata': {{...}}, 'results': [...]}})")
    missing = [k for k in RUN_KEYS + ("chunk_id", "start_index", "end_index") if k not in data["metadata"]]
    if missing:
        raise CftError(f"{path}: chunk metadata lacks {', '.join(missing)}")
    return data


def check_chunk(path: Path, chunk_id: int, data: dict, reference: dict) -> None:
    meta = data["metadata"]
    for key in RUN_KEYS:
        if meta[key] != reference[key]:
            raise CftError(
                f"{path}: chunk {chunk_id} comes from another run: {key} is {meta[key]!r}, "
                f"chunk {reference['chunk_id']} has {reference[key]!r}"
            )
    if meta["chunk_id"] != chunk_id:
        raise CftError(f"{path}: file name says chunk {chunk_id}, metadata says chunk {meta['chunk_id']}")
    start, end = chunk_range(chunk_id, meta["chunk_size"], meta["input_rows"])
    if (meta["start_index"], meta["end_index"]) != (start, end):
        raise CftError(
            f"{path}: chunk {chunk_id} covers [{meta['start_index']}, {meta['end_index']}), "
            f"expected [{start}, {end}) for chunk size {meta['chunk_size']}"
        )
    seen: set[int] = set()
    for row_no, row in enumerate(data["results"]):
        index = result_index(path, row_no, row)
        if index in seen:
            raise CftError(f"{path}: index {index} appears twice in chunk {chunk_id}")
        if not start <= index < end:
            raise CftError(
                f"{path}: index {index} lies outside chunk {chunk_id}'s range [{start}, {end}) "
                "(overlapping chunks?)"
            )
        seen.add(index)
    if len(seen) != end - start:
        absent = sorted(set(range(start, end)) - seen)
        raise CftError(
            f"{path}: chunk {chunk_id} lacks {len(absent)} of its {end - start} rows "
            f"(indices {format_ranges(absent[:20])}{'...' if len(absent) > 20 else ''})"
        )


def merge_chunks(folder: str | Path, model: str, output: str | Path, allow_partial: bool = False,
                 progress: bool = True, position: int | None = None) -> MergeSummary:
    folder, output = Path(folder), Path(output)
    files = list_chunk_files(folder, model)
    if not files:
        raise CftError(f"{folder}: no chunk files of model {model} ({model}_chunk_NNN.json)")
    first_id = min(files)
    first = load_chunk_lines(files[first_id])  # read once: the reference metadata, then merged as chunk first_id
    reference = first[0]["metadata"]
    expected = num_chunks(reference["input_rows"], reference["chunk_size"])
    extra = sorted(i for i in files if i >= expected)
    if extra:
        raise CftError(
            f"{files[extra[0]]}: chunk {extra[0]} is out of range: {reference['input_rows']} problems "
            f"in chunks of {reference['chunk_size']} make {expected} chunks"
        )
    missing = sorted(set(range(expected)) - set(files))
    if missing and not allow_partial:
        raise CftError(
            f"{folder}: {len(missing)} of {expected} chunks of {model} are missing: "
            f"{format_ranges(missing)} (run them, or pass --allow_partial to merge what is there)"
        )
    summary = MergeSummary(model, output, expected, len(files), missing)
    metadata = {k: reference[k] for k in reference if k not in ("chunk_id", "start_index", "end_index",
                                                                  "elapsed_s", "output_tokens")}
    metadata.update(num_chunks=expected, merged_chunks=sorted(files), missing_chunks=missing)

    rows = _stream_results(files, {first_id: first}, reference, summary, progress, position)
    del first  # the stream drops it once merged
    with atomic_open(output) as f:
        f.write(b'{"metadata":' + dumps(metadata) + b',\n"results":')
        write_rows(f, rows, encode=_encode)
        f.write(b"}\n")
    return summary


def merge_models(jobs: list[tuple[ModelSpec, str | Path, str | Path]], allow_partial: bool = False,
                 workers: int = 1) -> list[MergeSummary]:
    """``merge_chunks`` for each ``(model, chunk folder, output)``; side by side in processes if ``workers > 1``."""
    if workers <= 1 or len(jobs) <= 1:
        return [merge_chunks(folder, spec.name, output, allow_partial=allow_partial) for spec, folder, output in jobs]
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(merge_chunks, folder, spec.name, output, allow_partial, True, position)
                   for position, (spec, folder, output) in enumerate(jobs)]
        try:
            return [f.result() for f in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _encode(row: dict | memoryview) -> bytes | memoryview:
    return row if isinstance(row, memoryview) else dumps(row)


def _stream_results(files: dict[int, Path], loaded: dict[int, tuple], reference: dict, summary: MergeSummary,
                    progress: bool, position: int | None):
    """Each chunk's rows in index order: their bytes as read where the layout allows, else the row.

    ``loaded``: chunks already read (``load_chunk_lines``), by id; each is dropped once used.
    """
    for chunk_id in tqdm(sorted(files), desc=f"merge {reference['model']}", unit="chunk",
                         disable=not progress, position=position):
        path = files[chunk_id]
        data, raws = loaded.pop(chunk_id) if chunk_id in loaded else load_chunk_lines(path)
        check_chunk(path, chunk_id, data, reference)
        results = data["results"]
        order = sorted(range(len(results)), key=lambda k: results[k]["index"])
        for k in order:
            row = results[k]
            summary.problems += 1
            solutions = row["solutions"]
            summary.solutions += len(solutions)
            summary.num_correct_hist[sum(1 for s in solutions if s.get("correct"))] += 1
            for s in solutions:
                summary.grades[s.get("grade", "correct" if s.get("correct") else "incorrect")] += 1
                summary.truncated += s.get("finish_reason") == "length"
            yield row if raws is None else raws[k]
