"""Step 2: chunk files of one model -> one solutions file, sorted by index.

Chunks are read one at a time and streamed to the output, so memory holds a
single chunk; rows are copied as the bytes they were read as. Every chunk
must come from the same run (model, input, sampling, chunk size); chunk ``k``
must hold exactly the rows ``[start, end)`` that its id implies, each once.
Anything else stops the merge with the chunk named, unless ``allow_partial``
(then missing chunks are allowed and listed).

How many chunks make the whole run: from the input file when one is given,
else from the chunks' ``input_rows``, else from the chunks' own ranges (the
last chunk is the highest id present; a gap below it is still refused).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cft.common.errors import CftError
from cft.common.jsonio import write_results_file
from cft.common.progress import progress_bar
from cft.records.chunks import format_ranges, list_chunk_files, num_chunks
from cft.records.solutions import check_chunk, grade_of, load_chunk, num_correct

# Per-chunk metadata that does not describe the merged file (chunks of one run may be graded by different
# grader versions, when a run is resumed across an upgrade).
_CHUNK_ONLY = ("chunk_id", "start_index", "end_index", "elapsed_s", "output_tokens", "backend", "grader_version")


@dataclass
class MergeStats:
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
    notes: list[str] = field(default_factory=list)


def _expected_chunks(files: dict[int, Path], reference: dict, input_rows: int | None) -> tuple[int, str | None]:
    """How many chunks the run has, and a note when that is a guess."""
    rows = input_rows if input_rows is not None else reference.get("input_rows")
    if isinstance(rows, int):
        return num_chunks(rows, reference["chunk_size"]), None
    last = max(files)
    return last + 1, (f"the chunks do not record the input's size and no --input_file was given: "
                      f"chunk {last} is taken as the last one (chunks after it cannot be counted as missing)")


def merge_chunks(folder: str | Path, model: str, output: str | Path, allow_partial: bool = False,
                 progress: bool = True, position: int | None = None, input_rows: int | None = None,
                 input_sha256: str | None = None) -> MergeStats:
    """Merge ``model``'s chunk files in ``folder`` into ``output``.

    ``input_rows``/``input_sha256``: of the input file, when the caller has it.
    """
    folder, output = Path(folder), Path(output)
    files = list_chunk_files(folder, model)
    if not files:
        raise CftError(f"{folder}: no chunk files of model {model} ({model}_chunk_NNN.json)")
    first_id = min(files)
    first = load_chunk(files[first_id], raw=True)  # the reference metadata, then merged as chunk first_id
    reference = first[0]
    if input_sha256 and reference.get("input_sha256") not in (None, input_sha256):
        raise CftError(f"{files[first_id]}: generated from another input (sha256 "
                       f"{reference['input_sha256'][:12]}..., the input file is {input_sha256[:12]}...)")
    expected, guess = _expected_chunks(files, reference, input_rows)
    extra = sorted(i for i in files if i >= expected)
    if extra:
        rows = input_rows if input_rows is not None else reference.get("input_rows")
        raise CftError(f"{files[extra[0]]}: chunk {extra[0]} is out of range: {rows} problems "
                       f"in chunks of {reference['chunk_size']} make {expected} chunks (a file of a run with another "
                       "--chunk_size? step 1 with --overwrite removes such files)")
    missing = sorted(set(range(expected)) - set(files))
    if missing and not allow_partial:
        raise CftError(f"{folder}: {len(missing)} of {expected} chunks of {model} are missing: "
                       f"{format_ranges(missing)} (run them, or pass --allow_partial to merge what is there)")
    summary = MergeStats(model, output, expected, len(files), missing, notes=[guess] if guess else [])
    metadata = {k: v for k, v in reference.items() if k not in _CHUNK_ONLY}
    metadata.update(num_chunks=expected, merged_chunks=sorted(files), missing_chunks=missing)
    loaded = {first_id: first}
    del first  # the stream drops it once merged
    rows = _stream_rows(files, loaded, reference, summary, input_rows, expected - 1, progress, position)
    write_results_file(output, metadata, rows, encoded=True)
    return summary


def merge_models(jobs: list[tuple[str, str | Path, str | Path]], allow_partial: bool = False,
                 workers: int = 1, input_rows: int | None = None,
                 input_sha256: str | None = None) -> list[MergeStats]:
    """``merge_chunks`` for each ``(model, chunk folder, output)``; side by side in processes if ``workers > 1``."""
    args = [(folder, model, output, allow_partial, True, position, input_rows, input_sha256)
            for position, (model, folder, output) in enumerate(jobs)]
    if workers <= 1 or len(jobs) <= 1:
        return [merge_chunks(*a) for a in args]
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(merge_chunks, *a) for a in args]
        try:
            return [f.result() for f in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _stream_rows(files: dict[int, Path], loaded: dict[int, tuple], reference: dict, summary: MergeStats,
                 input_rows: int | None, last_id: int, progress: bool, position: int | None):
    """Each chunk's rows in index order, as the JSON bytes they were read as.

    ``loaded``: chunks already read, by id; each is dropped once used.
    """
    for chunk_id in progress_bar(sorted(files), desc=f"merge {reference['model']}", unit="chunk",
                         disable=not progress, position=position):
        path = files[chunk_id]
        metadata, rows = loaded.pop(chunk_id) if chunk_id in loaded else load_chunk(path, raw=True)
        check_chunk(path, chunk_id, metadata, rows, reference, input_rows, last_id)
        rows.sort(key=lambda pair: pair[0]["index"])
        for row, raw in rows:
            summary.problems += 1
            solutions = row["solutions"]
            summary.solutions += len(solutions)
            summary.num_correct_hist[num_correct(solutions)] += 1
            for s in solutions:
                summary.grades[grade_of(s)] += 1
                summary.truncated += s.get("finish_reason") == "length"
            yield raw
