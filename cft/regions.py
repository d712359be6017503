"""Steps 3-5 on all cores: a file's rows split into byte regions, one worker process each.

Files this package writes hold one row per line (see ``jsonio``). A step that
turns rows into rows splits its input's row lines into contiguous regions on
line boundaries; each worker parses its own region straight from the file and
writes its output rows to a part file beside the output; the parts are then
joined, in order, into the one atomic output (an in-kernel copy where the OS
has one). The output is byte for byte the one a single process writes, and
the steps' summaries add up the workers' counts.

A file in another layout, a small file (regions under ``MIN_REGION_BYTES``,
16 MB; the environment variable ``CFT_MIN_REGION_BYTES`` changes it, as the
tests do) or ``workers=1`` take the single-process path.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from tqdm import tqdm

from cft.errors import CftError
from cft.jsonio import READ_BUFFER, atomic_open, dumps, is_closing_line, parse_row

# below this a worker costs more to start than it saves (tests set it small)
MIN_REGION_BYTES = int(os.environ.get("CFT_MIN_REGION_BYTES", 16 << 20))
REGIONS_PER_WORKER = 4  # smaller regions: the joining of early ones overlaps the work on later ones
_PROGRESS_BYTES = 4 << 20


def default_workers() -> int:
    """Worker processes for steps 2-5: the cores this process may use, at most 16 (the disk is next)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(16, cores))


@dataclass(frozen=True)
class Region:
    """Row lines ``[start, end)`` (byte offsets, on line boundaries) of ``path``."""

    path: str
    start: int
    end: int


# --- finding regions -------------------------------------------------------


def row_span(path: str | os.PathLike) -> Region | None:
    """All row lines of a list or results file in our layout, or None for any other layout.

    Our layout: a header (``[`` or ``{"metadata": ...,`` then ``"results":[``),
    one row per line, then a line starting with ``]``. The first row line must
    parse on its own, as the streaming readers require.
    """
    path = str(path)
    try:
        f = open(path, "rb", buffering=READ_BUFFER)  # noqa: SIM115
    except OSError:
        return None
    with f:
        head = f.readline()
        if head.startswith(b'{"metadata":') and head.endswith(b",\n"):
            if f.readline() != b'"results":[\n':
                return None
        elif head != b"[\n":
            return None
        start = f.tell()
        first = f.readline()
        if not first or is_closing_line(first):
            return None
        try:
            parse_row(first)
        except orjson.JSONDecodeError:
            return None
        size = os.fstat(f.fileno()).st_size
        f.seek(max(start, size - 64))
        tail = f.read()
    stripped = tail.rstrip()
    if not (stripped.endswith(b"\n]") or stripped.endswith(b"\n]}")):
        return None
    end = size - len(tail) + tail.rstrip().rfind(b"\n") + 1
    return Region(path, start, end) if end > start else None


def next_line_start(f: IO[bytes], offset: int, span: Region) -> int:
    """The first line start at or after ``offset`` within ``span`` (``span.end`` if none)."""
    if offset <= span.start:
        return span.start
    if offset >= span.end:
        return span.end
    f.seek(offset - 1)
    f.readline()
    return min(f.tell(), span.end)


def split(span: Region, parts: int, min_bytes: int | None = None) -> list[Region]:
    """``span`` cut into at most ``parts`` regions of about equal bytes, each at least ``min_bytes``."""
    min_bytes = MIN_REGION_BYTES if min_bytes is None else min_bytes
    parts = max(1, min(parts, (span.end - span.start) // max(1, min_bytes)))
    cuts = [span.start]
    with open(span.path, "rb") as f:
        for k in range(1, parts):
            cut = next_line_start(f, span.start + k * (span.end - span.start) // parts, span)
            if cut > cuts[-1] and cut < span.end:
                cuts.append(cut)
    cuts.append(span.end)
    return [Region(span.path, a, b) for a, b in zip(cuts, cuts[1:])]


def _row_at(f: IO[bytes], offset: int) -> tuple[Any, int]:
    f.seek(offset)
    line = f.readline()
    return parse_row(line), offset + len(line)


def index_at(f: IO[bytes], offset: int) -> tuple[int | None, int]:
    """The ``index`` of the row line starting at ``offset`` (None if it has none), and the next line's start."""
    try:
        row, nxt = _row_at(f, offset)
    except orjson.JSONDecodeError:
        return None, offset
    index = row.get("index") if isinstance(row, dict) else None
    return (index if isinstance(index, int) else None), nxt


def seek_index(span: Region, target: int) -> int | None:
    """Start of the first row line whose ``index`` is ``>= target``, by bisection over a sorted file.

    None when a probed row has no integer index. On a file that is not
    sorted the answer is some line start; the workers' order checks catch it.
    """
    lo, hi = span.start, span.end
    with open(span.path, "rb") as f:
        while lo < hi:
            pos = next_line_start(f, (lo + hi) // 2, span)
            if pos >= hi:
                pos = lo
            index, nxt = index_at(f, pos)
            if index is None:
                return None
            if index < target:
                lo = nxt
            else:
                hi = pos
    return lo


# --- reading a region ----------------------------------------------------------


def line_number(path: str, offset: int) -> int:
    """1-based line number of the line starting at ``offset`` (for error messages only)."""
    count = 0
    with open(path, "rb") as f:
        remaining = offset
        while remaining > 0:
            block = f.read(min(remaining, 1 << 24))
            if not block:
                break
            count += block.count(b"\n")
            remaining -= len(block)
    return count + 1


def count_lines(path: str, start: int, offsets: list[int]) -> list[int]:
    """For each of the sorted ``offsets``: how many lines lie between ``start`` and it (one read)."""
    counts, count, pos = [], 0, start
    with open(path, "rb") as f:
        f.seek(start)
        for offset in offsets:
            while pos < offset:
                block = f.read(min(offset - pos, 1 << 24))
                if not block:
                    break
                count += block.count(b"\n")
                pos += len(block)
            counts.append(count)
    return counts


def region_rows(region: Region, progress=None) -> Iterator[tuple[int, Any]]:
    """``(line_offset, row)`` for each row line of ``region``; a bad line is an error naming file and line."""
    done = 0
    with open(region.path, "rb", buffering=READ_BUFFER) as f:
        f.seek(region.start)
        pos = region.start
        while pos < region.end:
            line = f.readline()
            if not line:
                raise CftError(f"{region.path}: ends at byte {pos}, before its closing ']' (truncated?)")
            try:
                row = parse_row(line)
            except orjson.JSONDecodeError as e:
                raise CftError(f"{region.path}: line {line_number(region.path, pos)} is not valid JSON "
                               f"(truncated or corrupt?): {e}") from None
            yield pos, row
            pos += len(line)
            done += len(line)
            if progress is not None and done >= _PROGRESS_BYTES:
                progress(done)
                done = 0
    if progress is not None and done:
        progress(done)


# --- writing parts and joining them --------------------------------------------


def write_part(path: str | os.PathLike, rows: Iterable[Any], head: bytes | None = None) -> int:
    """Write a slice of a JSON list file as ``write_rows`` lays it out; returns the row count.

    The first part gets the file's ``head`` (everything up to and including
    its ``[``) and its rows each on a new line; any later part holds its rows
    joined by ``,\n`` (``Parts.finish`` adds the separators between parts).
    """
    n = 0
    with open(path, "wb", buffering=1 << 20) as f:
        if head is not None:
            f.write(head)
        for row in rows:
            if n or head is not None:
                f.write(b",\n" if n else b"\n")
            f.write(dumps(row))
            n += 1
    return n


def append_file(f: IO[bytes], src: str | os.PathLike) -> None:
    """Append ``src``'s bytes to the open file ``f`` (in the kernel where it can)."""
    f.flush()
    with open(src, "rb") as s:
        size, done = os.fstat(s.fileno()).st_size, 0
        with contextlib.suppress(AttributeError, OSError):
            while done < size:
                copied = os.copy_file_range(s.fileno(), f.fileno(), size - done, done)
                if not copied:
                    break
                done += copied
        f.seek(0, os.SEEK_END)
        if done < size:
            s.seek(done)
            shutil.copyfileobj(s, f, 1 << 24)


class Parts:
    """Numbered part files in a hidden folder beside ``output``, removed on exit.

    Part 0 is written with the file's head and becomes the output itself
    (moved, not copied); ``finish`` appends the others and the tail.
    """

    def __init__(self, output: str | os.PathLike, count: int):
        self.output = Path(output)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f".{self.output.name}.parts.", dir=self.output.parent))
        self.paths = [str(self.dir / f"part{k:04d}") for k in range(count)]

    def __enter__(self) -> Parts:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def finish(self, count_of: Callable[[int], int], tail: bytes) -> int:
        """Join the parts into the output, atomically; ``count_of(k)``: part k's rows, once written."""
        n = count_of(0)
        with atomic_open(self.output, start_from=self.paths[0]) as f:
            for k in range(1, len(self.paths)):
                count = count_of(k)
                if count:
                    f.write(b",\n" if n else b"\n")
                    f.flush()
                    append_file(f, self.paths[k])
                    n += count
            f.write((b"\n]" if n else b"]") + tail)
        return n


# --- the worker pool --------------------------------------------------------------

_counter = None


def _init(counter) -> None:
    global _counter
    _counter = counter


def report_progress(nbytes: int) -> None:
    """Add to the pool's shared progress count (bytes read); a no-op outside a pool."""
    if _counter is not None:
        with _counter.get_lock():
            _counter.value += nbytes


class Pool:
    """Spawned worker processes with one progress bar over the bytes they report.

    ``result(future)`` waits for a job while the bar moves, and raises the
    first error of any job at once (the other queued jobs are cancelled).
    """

    def __init__(self, workers: int, total_bytes: int, desc: str):
        ctx = multiprocessing.get_context("spawn")
        self._counter = ctx.Value("q", 0)
        self._ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(self._counter,))
        self._bar = tqdm(total=total_bytes, desc=desc, unit="B", unit_scale=True, mininterval=1)
        self._futures: list[Future] = []

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._ex.shutdown(wait=True, cancel_futures=exc_type is not None)
        if exc_type is None:
            self._bar.update(self._bar.total - self._bar.n)
        self._bar.close()

    def submit(self, fn: Callable, *args) -> Future:
        fut = self._ex.submit(fn, *args)
        self._futures.append(fut)
        return fut

    def result(self, fut: Future) -> Any:
        while True:
            done, _ = wait([fut], timeout=0.5)
            self._bar.update(self._counter.value - self._bar.n)
            for f in self._futures:
                if f.done() and not f.cancelled() and f.exception() is not None:
                    raise f.exception()
            if done:
                return fut.result()


def run_parts(output: str | os.PathLike, jobs: list[tuple[Callable, tuple]], workers: int, total_bytes: int,
              desc: str, on_done: Callable[[int, Any], None] | None = None) -> tuple[int, list]:
    """Run each job ``fn(part_path, head, *args) -> (rows, extra)`` in worker processes and join the parts.

    Job k writes part k of the JSON list file ``output`` (job 0 with the
    head ``[``); the parts are joined in order as they finish, atomically.
    ``on_done(k, extra)`` runs in this process as part k is joined. Returns
    the row count and each job's ``extra``, in order.
    """
    with Parts(output, len(jobs)) as parts, Pool(min(workers, len(jobs)), total_bytes, desc) as pool:
        futures = [pool.submit(fn, path, b"[" if k == 0 else None, *args)
                   for k, ((fn, args), path) in enumerate(zip(jobs, parts.paths))]

        def joined(k: int) -> int:
            rows, extra = pool.result(futures[k])
            if on_done is not None:
                on_done(k, extra)
            return rows

        n = parts.finish(joined, tail=b"\n")
    return n, [fut.result()[1] for fut in futures]
